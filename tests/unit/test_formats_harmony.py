"""HarmonyOS modules and App Packs: identity from module.json/pack.info, what of the signing block verifies, and that
the decision blocks while no HarmonyOS root is trusted. Expected values: fixtures/harmony/expected.json (written by
fixtures/harmony.py from its inputs; digests by cryptography)."""

import json
import pathlib
import shutil

import pytest

from gate.decide import Policy, decide
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

HARMONY = pathlib.Path(__file__).parents[2] / "fixtures/harmony"
EXPECTED = json.loads((HARMONY / "expected.json").read_text(encoding="utf-8"))


def filing():
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-5A", "service_type": "app", "service_name": "Harmony Gate",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
        "platforms": [{"platform": "harmony", "identifier": EXPECTED["bundle_name"],
                       "signature_sha256": EXPECTED["signers"]["app"]["cert_sha256"]}]})
    assert record is not None, problems
    return record


@pytest.mark.parametrize("name, fmt", [("hap_signed.hap", "hap"), ("app_pack.app", "app")])
def test_identity_and_what_verified(name, fmt):
    facts = extract_features(HARMONY / name)
    assert facts.problems == ()
    assert (facts.format, facts.platform, facts.package) == (fmt, "harmony", EXPECTED["bundle_name"])
    assert (facts.version_code, facts.version_name, facts.label) == (
        EXPECTED["version_code"], EXPECTED["version_name"], EXPECTED["label"])
    assert (facts.min_sdk, facts.target_sdk) == (EXPECTED["min_api"], EXPECTED["target_api"])
    assert list(facts.permissions) == EXPECTED["permissions"]
    assert set(facts.signature.verified_parts) == {"pkcs7_signature", "content_digest", "profile_signature",
                                                    "profile_bundle_name", "signer_in_profile"}
    assert [s.cert_sha256 for s in facts.signature.signers] == [EXPECTED["signers"]["app"]["cert_sha256"]]
    # No HarmonyOS root is shipped: the chain is only read, so the package is not verified and never allowed.
    assert not facts.signature.verified
    assert any(e.message.startswith("harmony_chain_unverified") for e in facts.signature.errors)
    assert "api.harmony.filinggate.cn" in {h.host for h in facts.network.hosts}
    decision = decide(facts, [filing()], policy=Policy())
    assert (decision.verdict, decision.reasons[0].code) == ("block", "signature_invalid")


@pytest.mark.parametrize("name", sorted(EXPECTED["failures"]))
def test_a_broken_or_forged_module_says_what_failed(name):
    facts = extract_features(HARMONY / name)
    assert any(e.message.startswith(EXPECTED["failures"][name]) for e in facts.signature.errors), facts.signature.errors
    assert decide(facts, [filing()], policy=Policy()).verdict == "block"


@pytest.mark.parametrize("name, code", [("hap_truncated.hap", "zip_eocd_invalid"),
                                        ("app_pack_other_module.app", "harmony_module_mismatch")])
def test_a_malformed_package_is_blocked(name, code):
    facts = extract_features(HARMONY / name)
    assert code in [p.code for p in facts.problems]
    assert decide(facts, [filing()], policy=Policy()).reasons[0].code == "package_malformed"


def test_a_hap_is_recognised_by_content(tmp_path):
    renamed = tmp_path / "module.apk"
    shutil.copyfile(HARMONY / "hap_signed.hap", renamed)
    assert extract_features(renamed).format == "hap"
