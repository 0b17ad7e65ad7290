"""App Bundles against aapt2's badging of the same protobuf manifest and jarsigner's verification (fixtures/bundles.py
records both in fixtures/bundles/oracle.json)."""

import json
import pathlib
import re
import shutil

import pytest

from gate.decide import Policy, decide
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

BUNDLES = pathlib.Path(__file__).parents[2] / "fixtures/bundles"
ORACLE = json.loads((BUNDLES / "oracle.json").read_text(encoding="utf-8"))
BADGING = ORACLE["aapt2_badging"]
SIGNED_BY = ORACLE["jarsigner"]["bundle_signed.aab"]["cert_sha256"]


def badging(pattern):
    return re.search(pattern, BADGING).group(1)


def filing(cert_sha256):
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-4A", "service_type": "app", "service_name": "Hello Gate",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["hello-gate.cn", "203.0.113.7"],
        "platforms": [{"platform": "android", "identifier": badging(r"package: name='([^']+)'"),
                       "signature_sha256": cert_sha256}]})
    assert record is not None, problems
    return record


def test_bundle_identity_matches_aapt2_and_the_upload_key_matches_jarsigner():
    facts = extract_features(BUNDLES / "bundle_signed.aab")
    assert facts.problems == ()
    assert (facts.format, facts.platform) == ("aab", "android")
    assert facts.package == badging(r"package: name='([^']+)'")
    assert facts.version_code == int(badging(r"versionCode='(\d+)'"))
    assert facts.version_name == badging(r"versionName='([^']+)'")
    assert (facts.min_sdk, facts.target_sdk) == (int(badging(r"sdkVersion:'(\d+)'")),
                                                 int(badging(r"targetSdkVersion:'(\d+)'")))
    assert facts.label == badging(r"application-label:'([^']+)'")
    assert facts.labels == dict(re.findall(r"application-label-([^:]+):'([^']+)'", BADGING))
    assert facts.permissions == tuple(re.findall(r"uses-permission: name='([^']+)'", BADGING))
    assert ORACLE["jarsigner"]["bundle_signed.aab"]["verified"]
    assert facts.signature.verified and [s.cert_sha256 for s in facts.signature.signers] == SIGNED_BY
    assert facts.signature.verified_parts == ("jar_signature (upload key)",)
    sources = {h.host: h.sources for h in facts.network.hosts}
    assert sources["bundle.hello-gate.cn"] == ("base/assets/endpoints.txt",)
    assert "base/dex/classes.dex" in sources["api.hello-gate.cn"]


def test_an_upload_key_match_is_reviewed_unless_the_policy_accepts_it():
    facts = extract_features(BUNDLES / "bundle_signed.aab")
    reviewed = decide(facts, [filing(SIGNED_BY[0])], policy=Policy())
    assert reviewed.verdict == "review" and "upload_key_only" in [r.code for r in reviewed.reasons]
    accepted = decide(facts, [filing(SIGNED_BY[0])], policy=Policy(upload_key_only="info"))
    assert accepted.verdict == "allow", accepted.reasons
    other = decide(facts, [filing("00" * 32)], policy=Policy())
    assert other.reasons[0].code == "key_mismatch"


@pytest.mark.parametrize("name, reason", [
    ("bundle_unsigned.aab", "package_unsigned"),
    ("bundle_entry_changed.aab", "signature_invalid"),
    ("bundle_signature_transplanted.aab", "signature_invalid"),
])
def test_a_bundle_whose_jar_signature_jarsigner_refuses_is_blocked(name, reason):
    assert not ORACLE["jarsigner"][name]["verified"]
    facts = extract_features(BUNDLES / name)
    assert not facts.signature.verified
    decision = decide(facts, [filing(SIGNED_BY[0])], policy=Policy())
    assert (decision.verdict, decision.reasons[0].code) == ("block", reason)


@pytest.mark.parametrize("name, code", [("bundle_module_other_package.aab", "aab_module_mismatch"),
                                        ("bundle_truncated.aab", "zip_eocd_invalid")])
def test_a_malformed_bundle_is_blocked(name, code):
    facts = extract_features(BUNDLES / name)
    assert code in [p.code for p in facts.problems]
    assert decide(facts, [filing(SIGNED_BY[0])], policy=Policy()).reasons[0].code == "package_malformed"


def test_a_bundle_is_recognised_by_content(tmp_path):
    renamed = tmp_path / "bundle.zip"
    shutil.copyfile(BUNDLES / "bundle_signed.aab", renamed)
    assert extract_features(renamed).format == "aab"
