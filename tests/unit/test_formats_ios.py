"""iOS IPA: identity, code signature and provisioning profile on the fixtures of fixtures/ios.py.

Expected values come from fixtures/ios/expected.json (written by the fixture script from the certificates and
inputs it used, digests by cryptography) and from lld's own ad-hoc CodeDirectory (an independent writer).
The gate trusts only Apple Root CA; the fixture root is trusted here explicitly, by argument.
"""

import json
import pathlib
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gate.decide import Policy, decide
from gate.extract.container import ApkContainer
from gate.extract.ios import codesign, read_ipa
from gate.extract.ios.macho import read_slices
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

IOS = pathlib.Path(__file__).parents[2] / "fixtures/ios"
EXPECTED = json.loads((IOS / "expected.json").read_text(encoding="utf-8"))
FIXTURE_ROOT = x509.load_pem_x509_certificate(EXPECTED["fixture_root_pem"].encode()).public_bytes(
    serialization.Encoding.DER)


def read(name, roots=(FIXTURE_ROOT,)):
    with ApkContainer.open(IOS / name) as container:
        return read_ipa(name, container, roots=roots)


def filing(**key):
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-2A", "service_type": "app", "service_name": "小门禁",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
        "platforms": [{"platform": "ios", "identifier": EXPECTED["bundle_id"], **key}]})
    assert record is not None, problems
    return record


def test_lld_adhoc_code_directory_agrees_with_the_gates_page_hashes():
    binary = (IOS / "Tiny-arm64-adhoc").read_bytes()
    (piece,) = read_slices(binary)
    start, size = piece.signature
    signature = codesign.parse_superblob(binary[start:start + size])
    directory = signature.code_directories[0]
    assert directory.adhoc and signature.cms is None
    assert directory.code_limit == start  # lld seals everything before the signature
    assert codesign.page_hash_errors(directory, binary) == []
    flipped = bytearray(binary)
    flipped[100] ^= 1
    assert codesign.page_hash_errors(directory, bytes(flipped))[0].code == "ios_page_hash_mismatch"


def test_signed_ipa_verifies_with_its_root_and_gives_the_filing_features():
    facts = read("ios_signed.ipa")
    assert facts.problems == ()
    assert (facts.format, facts.platform, facts.package) == ("ipa", "ios", EXPECTED["bundle_id"])
    assert (facts.version_name, facts.version_code) == (EXPECTED["version_name"], EXPECTED["version_code"])
    assert facts.labels == EXPECTED["labels"] and facts.label == EXPECTED["labels"]["zh-Hans"]
    assert facts.signature.verified, facts.signature.errors
    (signer,) = facts.signature.signers
    want = EXPECTED["signers"]["developer_a"]
    assert (signer.cert_md5, signer.cert_sha1, signer.cert_sha256, signer.public_key) == (
        want["cert_md5"], want["cert_sha1"], want["cert_sha256"], want["public_key"])
    parts = set(facts.signature.verified_parts)
    for arch in ("arm64", "x86_64"):
        assert {f"{arch}: cms_signature", f"{arch}: chain_to_trusted_root", f"{arch}: page_hashes (sha256)"} <= parts
    assert {"profile_signature", "signer_in_profile", "profile_app_id"} <= parts
    assert "nested_code: Frameworks/libgate.dylib" in parts  # sealed by cdhash, verified as code
    ios = facts.details["ios"]
    assert ios["team_id"] == EXPECTED["team_id"] and ios["profile"]["expiration_date"].startswith("2027-01-01")
    assert sorted(ios["architectures"]) == ["arm64", "x86_64"]
    hosts = {h.host for h in facts.network.hosts}
    assert set(EXPECTED["hosts"]) <= hosts


def test_the_gate_trusts_only_apple_root_so_a_fixture_ipa_is_blocked():
    facts = extract_features(IOS / "ios_signed.ipa")
    assert facts.format == "ipa" and not facts.signature.verified
    assert any(e.message.startswith("cms_chain_untrusted") for e in facts.signature.errors)
    assert facts.signature.signers  # the form can still be filled in
    decision = decide(facts, [filing(signature_md5=EXPECTED["signers"]["developer_a"]["cert_md5"])], policy=Policy())
    assert (decision.verdict, decision.reasons[0].code) == ("block", "signature_invalid")


@pytest.mark.parametrize("name", sorted(EXPECTED["failures"]))
def test_every_broken_or_forged_ipa_is_unverified_and_blocked(name):
    facts = read(name)
    assert not facts.signature.verified
    tag = EXPECTED["failures"][name]
    assert any(e.message.startswith(tag) for e in facts.signature.errors), facts.signature.errors
    decision = decide(facts, [filing(signature_sha1=EXPECTED["signers"]["developer_a"]["cert_sha1"])],
                      policy=Policy())
    assert decision.verdict == "block"


def test_ios_decisions_match_the_filed_ios_key():
    facts = read("ios_signed.ipa")
    a, b = EXPECTED["signers"]["developer_a"], EXPECTED["signers"]["developer_b"]
    allowed = decide(facts, [filing(signature_sha1=a["cert_sha1"], public_key=a["public_key"])], policy=Policy())
    assert allowed.verdict in ("allow", "review") and allowed.filing is not None
    assert "key_mismatch" in [r.code for r in decide(facts, [filing(signature_md5=b["cert_md5"])],
                                                       policy=Policy()).reasons]
    android_only, _ = validate_record({
        "service_licence": "京ICP备2024000001号-3A", "service_type": "app", "service_name": "小门禁",
        "unit_name": "北京门禁科技有限公司", "status": "active",
        "platforms": [{"platform": "android", "identifier": EXPECTED["bundle_id"], "signature_md5": a["cert_md5"]}]})
    assert decide(facts, [android_only], policy=Policy()).reasons[0].code == "unfiled"


def test_an_ipa_is_recognised_by_content(tmp_path):
    renamed = tmp_path / "app.apk"
    shutil.copyfile(IOS / "ios_signed.ipa", renamed)
    assert extract_features(renamed).format == "ipa"


def test_a_truncated_ipa_is_malformed():
    facts = extract_features(IOS / "ios_truncated.ipa")
    assert facts.problems and facts.problems[0].code.startswith("zip_")
