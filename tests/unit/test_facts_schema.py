"""Facts own their serialisation: as_dict -> from_dict -> as_dict is the identity on every fixture package, and
stored facts written by an older gate are recognised (gate.extract.facts.FACTS_SCHEMA, missing_fields)."""

from __future__ import annotations

import json
import pathlib

import pytest

from gate.db.checks import load_facts, note_outdated_facts
from gate.decide import CATALOGUE, RULE_INPUTS, Policy, decide
from gate.extract.facts import (
    CURRENT_FIELDS,
    FACTS_SCHEMA,
    PackageFacts,
    SignatureFacts,
    SignerCertificate,
    missing_fields,
    stored_schema,
)
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE_PACKAGES = sorted(p for p in (ROOT / "fixtures").rglob("*")
                          if p.suffix in (".apk", ".aab", ".apks", ".ipa", ".hap", ".rpk", ".rpks") and p.is_file())


def _stored(facts: PackageFacts) -> str:
    # As gate.db.checks.record_check writes it.
    return json.dumps(facts.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("path", FIXTURE_PACKAGES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_facts_survive_their_own_json(path):
    facts = extract_features(str(path))
    once = facts.as_dict()
    again = PackageFacts.from_dict(json.loads(json.dumps(once)))
    assert again.as_dict() == once
    assert again == facts
    assert missing_fields(once) == () and stored_schema(once, None) == 1 == FACTS_SCHEMA


def test_the_fixtures_are_found():
    assert len([p for p in FIXTURE_PACKAGES if p.suffix == ".apk"]) > 50


def test_every_rule_input_is_a_field_and_every_rule_a_reason():
    assert set(RULE_INPUTS) <= CURRENT_FIELDS
    assert {code for codes in RULE_INPUTS.values() for code in codes} <= set(CATALOGUE)


SIGNER = SignerCertificate(cert_md5="ab" * 16, cert_sha1="cd" * 20, cert_sha256="ef" * 32, public_key="",
                           public_key_sha256="", subject="CN=x", key_algorithm="RSA", key_size=2048)
FACTS = PackageFacts(path="app.apk", format="apk", platform="android", package="cn.example.app", version_code=3,
                     label="示例", signature=SignatureFacts(verified=True, schemes={"v2": True}, signers=(SIGNER,)),
                     filing_numbers=())


def _filing():
    filing, problems = validate_record({
        "service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "示例",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["example.cn"],
        "platforms": [{"platform": "android", "identifier": "cn.example.app", "signature_md5": "ab" * 16}]})
    assert filing is not None, problems
    return filing


def _older(drop: tuple[str, ...]) -> str:
    """FACTS as a gate from before ``drop`` existed stored them."""
    d = FACTS.as_dict()
    for name in drop:
        d.pop(name)
    return json.dumps(d, sort_keys=True)


def test_current_facts_are_decided_as_they_are():
    kept = load_facts(_stored(FACTS), None)
    assert (kept.schema, kept.missing, kept.outdated) == (1, (), False)
    decision = decide(kept.facts, [_filing()], policy=Policy())
    # The stored facts show no filing number: step 9 speaks (info), and nothing is added.
    assert [r.code for r in note_outdated_facts(decision, kept).reasons] == ["filing_number_not_shown"]


def test_facts_too_old_for_a_rule_say_so():
    kept = load_facts(_older(("filing_numbers", "protection", "native_libraries")), None)
    assert kept.outdated and kept.schema == 0
    assert kept.missing == ("filing_numbers", "native_libraries", "protection")
    decision = decide(kept.facts, [_filing()], policy=Policy())
    assert decision.verdict == "allow" and decision.reasons == ()  # step 9 is silent: filing_numbers is None
    noted = note_outdated_facts(decision, kept)
    assert noted.verdict == "review"
    (outdated,) = noted.reasons
    assert outdated.code == "facts_outdated" and outdated.severity == "review"
    assert outdated.evidence["rules"] == ["code_hidden_by_packer", "filing_number_not_shown"]
    assert outdated.evidence["missing"] == ["filing_numbers", "native_libraries", "protection"]
    assert "filing_numbers" in outdated.message["en"] and "filing_number_not_shown" in outdated.message["zh"]


def test_old_facts_lacking_only_what_no_rule_reads_change_nothing():
    kept = load_facts(_older(("native_libraries", "application_class")), None)
    assert kept.outdated
    decision = decide(kept.facts, [_filing()], policy=Policy())
    assert note_outdated_facts(decision, kept) == decision


def test_a_recorded_schema_is_believed():
    assert load_facts(_stored(FACTS), 0).outdated  # recorded as older: whatever the JSON carries
    assert not load_facts(_stored(FACTS), FACTS_SCHEMA).outdated
