"""Operator-configured trust roots (gate.extract.trust, GATE_TRUST_ROOTS_*): a HarmonyOS module or an IPA signed
under a configured root verifies and, when filed, is allowed; without the root it is blocked as before. The roots are
the fixtures' own test roots (fixtures/keys/ohos_root.cert.pem, ios_root.cert.pem, written by fixtures/harmony.py
and fixtures/ios.py); identities from their expected.json."""

import hashlib
import json
import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gate.config import load_settings
from gate.decide import Policy, decide
from gate.errors import ConfigError
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record
from tests.unit.test_formats_harmony import filing as harmony_filing

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures"
HARMONY, IOS, KEYS = FIXTURES / "harmony", FIXTURES / "ios", FIXTURES / "keys"
HARMONY_EXPECTED = json.loads((HARMONY / "expected.json").read_text(encoding="utf-8"))
IOS_EXPECTED = json.loads((IOS / "expected.json").read_text(encoding="utf-8"))


def fingerprint(pem: pathlib.Path, *, colons: bool = False) -> str:
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper() if colons else digest


def roots(**environ):
    return load_settings({f"GATE_TRUST_ROOTS_{k.upper()}": v for k, v in environ.items()}).trust_roots


@pytest.mark.parametrize("how", ["file", "fingerprint", "fingerprint_with_colons"])
def test_a_hap_under_a_configured_root_verifies_and_a_filed_one_is_allowed(how):
    root = KEYS / "ohos_root.cert.pem"
    value = {"file": str(root), "fingerprint": fingerprint(root),
             "fingerprint_with_colons": fingerprint(root, colons=True)}[how]
    facts = extract_features(HARMONY / "hap_signed.hap", trust=roots(harmony=value))
    assert facts.signature.verified, facts.signature.errors
    assert facts.signature.errors == ()
    assert {"signing_chain", "profile_chain", "content_digest", "signer_in_profile"} <= set(
        facts.signature.verified_parts)
    decision = decide(facts, [harmony_filing()], policy=Policy())
    assert decision.verdict == "allow", decision.as_dict()["reasons"]


def test_the_same_hap_without_the_root_is_blocked_as_before():
    facts = extract_features(HARMONY / "hap_signed.hap", trust=roots())
    assert not facts.signature.verified
    assert any(e.message.startswith("harmony_chain_unverified") for e in facts.signature.errors)
    assert decide(facts, [harmony_filing()], policy=Policy()).verdict == "block"


def test_a_root_of_another_platform_or_another_ca_does_not_trust_a_hap():
    other = roots(harmony=str(KEYS / "ios_root.cert.pem"), ios=str(KEYS / "ohos_root.cert.pem"))
    facts = extract_features(HARMONY / "hap_signed.hap", trust=other)
    assert not facts.signature.verified
    assert any(e.message.startswith("harmony_cms_chain_untrusted") for e in facts.signature.errors)
    assert any(e.message.startswith("harmony_profile_cms_chain_untrusted") for e in facts.signature.errors)
    assert decide(facts, [harmony_filing()], policy=Policy()).verdict == "block"


@pytest.mark.parametrize("name", sorted(HARMONY_EXPECTED["failures"]))
def test_a_configured_root_never_rescues_a_broken_or_forged_hap(name):
    facts = extract_features(HARMONY / name, trust=roots(harmony=str(KEYS / "ohos_root.cert.pem")))
    assert not facts.signature.verified
    assert any(e.message.startswith(HARMONY_EXPECTED["failures"][name])
               for e in facts.signature.errors) or facts.problems


def test_an_app_pack_under_a_configured_root_verifies():
    facts = extract_features(HARMONY / "app_pack.app", trust=roots(harmony=str(KEYS / "ohos_root.cert.pem")))
    assert facts.signature.verified and all(part.verified for part in facts.parts)


def test_an_ipa_under_an_extra_ios_root_verifies_beside_apple():
    facts = extract_features(IOS / "ios_signed.ipa", trust=roots(ios=str(KEYS / "ios_root.cert.pem")))
    assert facts.signature.verified, facts.signature.errors
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-6A", "service_type": "app", "service_name": IOS_EXPECTED["labels"]["zh-Hans"],
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
        "platforms": [{"platform": "ios", "identifier": IOS_EXPECTED["bundle_id"],
                       "signature_md5": IOS_EXPECTED["signers"]["developer_a"]["cert_md5"]}]})
    assert record is not None, problems
    assert decide(facts, [record], policy=Policy()).verdict == "allow"
    # A forged signer (not under the configured root) stays refused.
    forged = extract_features(IOS / "ios_forged_signer.ipa", trust=roots(ios=str(KEYS / "ios_root.cert.pem")))
    assert not forged.signature.verified


def test_settings_read_files_and_fingerprints_and_show_them():
    root = KEYS / "ohos_root.cert.pem"
    found = roots(harmony=f"{root}, {fingerprint(KEYS / 'ios_root.cert.pem')}")
    listed = found.as_list()
    assert [r["platform"] for r in listed] == ["harmony", "harmony"]
    assert listed[0] == {"platform": "harmony", "sha256": fingerprint(root), "source": "ohos_root.cert.pem",
                         "subject": x509.load_pem_x509_certificate(root.read_bytes()).subject.rfc4514_string()}
    assert listed[1]["source"] == "fingerprint" and listed[1]["subject"] is None
    assert roots().as_list() == []


@pytest.mark.parametrize("value", ["/nonexistent/root.pem", "abcd", str(FIXTURES / "README.md"), "truncated"])
def test_a_bad_root_stops_the_gate_at_start_naming_the_variable(value, tmp_path):
    if value == "truncated":  # the fixture root cut before its END line: no certificate at all
        pem = (KEYS / "ohos_root.cert.pem").read_bytes()
        value = str(tmp_path / "root.pem")
        pathlib.Path(value).write_bytes(pem[:pem.index(b"-----END CERTIFICATE-----")])
    with pytest.raises(ConfigError) as caught:
        roots(harmony=value)
    assert caught.value.code == "config_invalid"
    assert "GATE_TRUST_ROOTS_HARMONY" in caught.value.message
