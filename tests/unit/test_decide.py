"""The decision engine on facts recorded from apksigner/aapt (fixtures/apks/oracle.json) and filings records."""

import json
import pathlib

import pytest

from gate.decide import Policy, PolicyError, decide, name_similarity
from gate.extract.facts import (
    HostFact,
    IpFact,
    NetworkFacts,
    PackageFacts,
    Problem,
    SignatureFacts,
    SignatureIssue,
    SignerCertificate,
)
from gate.filings.validate import validate_record

ORACLE = json.loads((pathlib.Path(__file__).parents[2] / "fixtures/apks/oracle.json").read_text())["apks"]
LICENCE = "京ICP备2024000001号-1A"


def cert(d):
    return SignerCertificate(cert_md5=d["cert_md5"], cert_sha1=d["cert_sha1"], cert_sha256=d["cert_sha256"],
                             public_key="", public_key_sha256=d["public_key_sha256"], subject=d["subject"],
                             key_algorithm=d["key_algorithm"], key_size=d["key_size"])


def facts_of(name, *, network=NetworkFacts(), problems=()):
    """PackageFacts as apksigner and aapt saw the fixture (the oracle record), not as our extractor does."""
    o = ORACLE[name]
    sig = o["apksigner"]
    return PackageFacts(
        path=name, format="apk", package=o["aapt"]["package"], version_code=o["aapt"]["version_code"],
        label=o["aapt"]["label"], labels=o["aapt"]["labels"], network=network, problems=problems,
        signature=SignatureFacts(verified=sig["verifies"], schemes={k: bool(v) for k, v in sig["schemes"].items()},
                                 signers=tuple(cert(c) for c in sig["signers"]),
                                 lineage=tuple(cert(c) for c in sig["lineage"] or ()),
                                 errors=tuple(SignatureIssue.from_message(e) for e in sig["errors"])))


def signer(name, i=0):
    return ORACLE[name]["apksigner"]["signers"][i]


def filing(name, *, keys=None, **over):
    """A valid filing for the fixture's package, listing the given signers' MD5 (default: its own)."""
    keys = keys if keys is not None else [signer(name)["cert_md5"]]
    raw = {"service_licence": LICENCE, "service_type": "app", "service_name": ORACLE[name]["aapt"]["label"] or "x",
           "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
           "platforms": [{"platform": "android", "identifier": ORACLE[name]["aapt"]["package"], "signature_md5": k}
                         for k in keys]}
    raw.update(over)
    f, problems = validate_record(raw)
    assert f is not None, problems
    return f


def codes(decision):
    return [(r.code, r.severity) for r in decision.reasons]


POLICY = Policy()


def test_filed_key_allows():
    d = decide(facts_of("hello_zh.apk"), [filing("hello_zh.apk")], policy=POLICY)
    assert (d.verdict, codes(d)) == ("allow", [])
    assert d.filing.service_licence == LICENCE
    assert d.as_dict()["package"]["signers"] == [signer("hello_zh.apk")["cert_sha256"]]


@pytest.mark.parametrize("field,key", [("signature_sha1", "cert_sha1"), ("signature_sha256", "cert_sha256")])
def test_other_digests_match_too(field, key):
    f = filing("hello_zh.apk", platforms=[{"platform": "android", "identifier": "cn.filinggate.hello",
                                           field: signer("hello_zh.apk")[key].upper()}])
    assert decide(facts_of("hello_zh.apk"), [f], policy=POLICY).verdict == "allow"


def test_unreadable_package_blocks_before_anything_else():
    facts = facts_of("hello_zh.apk", problems=(Problem("zip_duplicate_entry", "two AndroidManifest.xml"),))
    d = decide(facts, [filing("hello_zh.apk")], policy=POLICY)
    assert (d.verdict, codes(d), d.filing) == ("block", [("package_malformed", "block")], None)
    assert d.reasons[0].evidence["problems"] == ["zip_duplicate_entry"]


@pytest.mark.parametrize("name,code", [("unsigned.apk", "package_unsigned"),
                                       ("v1_only_target34.apk", "signature_invalid"),
                                       ("v2_stripped_rollback.apk", "signature_invalid"),
                                       ("certificate_claimed_v2.apk", "signature_invalid")])
def test_unverified_signatures_block(name, code):
    # The extractor's own facts: "unsigned" is told apart from "broken" by its rule tags, not apksigner's wording.
    from gate.extract.pipeline import extract_features

    facts = extract_features(pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks" / name)
    d = decide(facts, [filing(name, keys=["0" * 32])], policy=POLICY)
    assert codes(d) == [(code, "block")]


def test_unfiled_blocks_with_a_message_naming_the_package():
    d = decide(facts_of("hello_zh.apk"), [], policy=POLICY)
    assert codes(d) == [("unfiled", "block")]
    assert "cn.filinggate.hello" in d.reasons[0].message["en"] and "cn.filinggate.hello" in d.reasons[0].message["zh"]


def test_filing_for_another_platform_does_not_count():
    f = filing("hello_zh.apk", platforms=[{"platform": "ios", "identifier": "cn.filinggate.hello",
                                           "signature_md5": signer("hello_zh.apk")["cert_md5"]}])
    assert codes(decide(facts_of("hello_zh.apk"), [f], policy=POLICY)) == [("unfiled", "block")]


@pytest.mark.parametrize("over,code", [({"status": "cancelled"}, "filing_cancelled"),
                                       ({"status": "revoked"}, "filing_cancelled"),
                                       ({"blacklisted": True}, "filing_blacklisted")])
def test_filing_not_in_force_blocks(over, code):
    d = decide(facts_of("hello_zh.apk"), [filing("hello_zh.apk", **over)], policy=POLICY)
    assert codes(d) == [(code, "block")]


def test_key_mismatch_says_what_to_fix():
    f = filing("hello_zh.apk", keys=[signer("key_rsa2048_b.apk")["cert_md5"]])
    d = decide(facts_of("hello_zh.apk"), [f], policy=POLICY)
    assert codes(d) == [("key_mismatch", "block")]
    en = d.reasons[0].message["en"]
    # "the package is signed by 01:76:…, the filing 京ICP备…-1A lists 2C:6E:…"
    assert "MD5 01:76:D8:D0:13:0A:8B:0D:37:29:E7:83:3D:7C:B8:CC" in en
    assert LICENCE in en and "MD5 2C:6E:3B:03" in en.split("lists")[1]


def test_rotation_lineage_ancestor_matches_with_key_rotated_info():
    # rotated_v3.apk: apksigner reports signer B, with the verified lineage A -> B.
    old = ORACLE["rotated_v3.apk"]["apksigner"]["lineage"][0]["cert_md5"]
    assert old != signer("rotated_v3.apk")["cert_md5"]
    d = decide(facts_of("rotated_v3.apk"), [filing("rotated_v3.apk", keys=[old])], policy=POLICY)
    assert (d.verdict, codes(d)) == ("allow", [("key_rotated", "info")])
    strict = decide(facts_of("rotated_v3.apk"), [filing("rotated_v3.apk", keys=[old])],
                    policy=Policy(key_rotated="review"))
    assert strict.verdict == "review"


def test_lineage_does_not_help_an_unverified_package():
    facts = facts_of("rotated_v3.apk")
    broken = PackageFacts(**{**facts.__dict__, "signature": SignatureFacts(
        verified=False, schemes=facts.signature.schemes, signers=facts.signature.signers,
        lineage=facts.signature.lineage, errors=(SignatureIssue("v3_malformed_signer", "signer #1: Malformed"),))})
    old = ORACLE["rotated_v3.apk"]["apksigner"]["lineage"][0]["cert_md5"]
    assert codes(decide(broken, [filing("rotated_v3.apk", keys=[old])], policy=POLICY)) == [
        ("signature_invalid", "block")]


def test_every_signer_of_a_multi_signer_package_must_be_covered():
    first, second = signer("two_signers.apk", 0)["cert_md5"], signer("two_signers.apk", 1)["cert_md5"]
    facts = facts_of("two_signers.apk")
    only_one = decide(facts, [filing("two_signers.apk", keys=[first])], policy=POLICY)
    assert codes(only_one) == [("key_mismatch", "block")]
    assert only_one.reasons[0].evidence["uncovered_signers"] == [signer("two_signers.apk", 1)["cert_sha256"]]
    assert decide(facts, [filing("two_signers.apk", keys=[first, second])], policy=POLICY).verdict == "allow"


def test_uncovered_hosts_review_by_default_and_follow_policy():
    net = NetworkFacts(hosts=(HostFact("api.filinggate.cn", "filinggate.cn", ("classes.dex",)),
                              HostFact("tracker.example.com", "example.com", ("classes.dex",))),
                       ips=(IpFact("203.0.113.7", ("res/raw/x",)),))
    facts, f = facts_of("hello_zh.apk", network=net), filing("hello_zh.apk")
    d = decide(facts, [f], policy=POLICY)
    assert codes(d) == [("domain_not_filed", "review")] and d.verdict == "review"
    assert "tracker.example.com" in d.reasons[0].evidence["uncovered_hosts"]
    assert "api.filinggate.cn" not in d.reasons[0].evidence["uncovered_hosts"]
    assert d.reasons[0].evidence["uncovered_ips"] == ["203.0.113.7"]
    assert decide(facts, [f], policy=Policy(unfiled_domains="block")).verdict == "block"
    assert decide(facts, [f], policy=Policy(unfiled_domains="off")).verdict == "allow"


def test_name_and_entity_mismatch_review():
    facts = facts_of("hello_zh.apk")
    f = filing("hello_zh.apk", service_name="完全不同的应用")
    d = decide(facts, [f], policy=POLICY, developer_entity="上海别家公司")
    assert codes(d) == [("name_mismatch", "review"), ("entity_mismatch", "review")]
    # The zh-CN label 你好门禁 counts; full-width brackets and spaces in the entity name do not matter.
    ok = decide(facts, [filing("hello_zh.apk", service_name="你好门禁", unit_name="北京门禁科技(有限)公司")],
                policy=POLICY, developer_entity="北京门禁科技（有限）公司 ")
    assert ok.verdict == "allow"


def test_name_similarity():
    assert name_similarity("微信", "微信 - 极速版") == 1.0
    assert name_similarity("Hello Gate", "hello-gate") == 1.0
    assert name_similarity("支付宝", "淘宝") < 0.5


def test_policy_is_required_and_validated():
    with pytest.raises(PolicyError):
        decide(facts_of("hello_zh.apk"), [], policy=None)
    with pytest.raises(PolicyError):
        Policy(unfiled_domains="allow")
    with pytest.raises(PolicyError):
        Policy(key_rotated="off")


def test_active_filing_is_preferred_over_a_cancelled_one():
    old = filing("hello_zh.apk", status="cancelled", service_licence="京ICP备2023000001号-1A", approved_at="2023-01-01")
    new = filing("hello_zh.apk")
    d = decide(facts_of("hello_zh.apk"), [old, new], policy=POLICY)
    assert d.verdict == "allow" and d.filing.service_licence == LICENCE


def test_a_lineage_that_does_not_name_the_signer_lends_it_no_ancestors():
    # Facts as if a lineage of other keys stood beside the signer: the filed old key must not match through it.
    rotated = facts_of("rotated_v3.apk")
    stranger = facts_of("key_rsa2048_c.apk")
    facts = PackageFacts(path="x.apk", format="apk", package=rotated.package, version_code=1,
                         label=rotated.label, labels=rotated.labels,
                         signature=SignatureFacts(verified=True, schemes=stranger.signature.schemes,
                                                  signers=stranger.signature.signers,
                                                  lineage=rotated.signature.lineage))
    old_key = rotated.signature.lineage[0].cert_md5
    d = decide(facts, [filing("rotated_v3.apk", keys=[old_key])], policy=POLICY)
    assert codes(d)[0] == ("key_mismatch", "block")


def test_a_matching_digest_beside_a_contradicting_one_is_no_match():
    from gate.decide import key_matches

    own = signer("hello_zh.apk")
    other = signer("key_rsa2048_b.apk")
    claim = SignerCertificate(cert_md5=own["cert_md5"], cert_sha1="", cert_sha256=other["cert_sha256"],
                              public_key="", public_key_sha256="", subject="", key_algorithm="", key_size=0)
    f = filing("hello_zh.apk", platforms=[{"platform": "android", "identifier": "cn.filinggate.hello",
                                           "signature_md5": own["cert_md5"], "signature_sha256": own["cert_sha256"]}])
    identity = f.identities_for("android", "cn.filinggate.hello")[0]
    assert key_matches(claim, identity) is None
    honest = SignerCertificate(cert_md5=own["cert_md5"], cert_sha1="", cert_sha256=own["cert_sha256"],
                               public_key="", public_key_sha256="", subject="", key_algorithm="", key_size=0)
    assert key_matches(honest, identity) == "signature_md5"


def test_v2_only_below_api_24_blocks_saying_which_versions_cannot_verify_it():
    # The extractor's facts: apksigner's verdict (not verified, no signer) plus what Android 7.0+ verifies.
    from gate.extract.pipeline import extract_features

    name = "min_sdk_21_v2_only.apk"
    facts = extract_features(pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks" / name)
    from_24 = ORACLE[name]["apksigner_min_sdk_24"]["signers"][0]
    # Even a filing naming that very key does not let it through: the package does not verify.
    d = decide(facts, [filing(name, keys=[from_24["cert_md5"]])], policy=POLICY)
    assert (d.verdict, codes(d), d.filing) == ("block", [("signature_min_sdk_uncovered", "block")], None)
    evidence = d.reasons[0].evidence
    assert evidence["unverified_sdks"] == "21–23" and evidence["valid_from_sdk"] == 24
    assert evidence["signer_sha256"] == [from_24["cert_sha256"]] and evidence["schemes"] == ["v2"]
    assert "API 21–23" in d.reasons[0].message["en"] and "API 21–23" in d.reasons[0].message["zh"]
    assert d.package["signers"] == []


def test_a_stored_v2_only_check_replays_to_the_same_reason():
    # A stored check keeps the facts JSON; rebuilt from it, the decision must be the same (replay_check).
    from gate.extract.pipeline import extract_features

    name = "min_sdk_21_v2_only.apk"
    facts = extract_features(pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks" / name)
    rebuilt = PackageFacts.from_dict(json.loads(json.dumps(facts.as_dict())))
    assert rebuilt.signature == facts.signature
    assert decide(rebuilt, [], policy=POLICY).as_dict() == decide(facts, [], policy=POLICY).as_dict()
