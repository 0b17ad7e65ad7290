"""Typed signature issues (gate.extract.facts.SignatureIssue): a code the engine reads, a message people read.

The facts JSON keeps the text it always had ("code: detail"); the engine tells an unsigned package from a broken
signature by the issue codes alone. Expected messages are the texts apksigner's rule names gave before the type
existed (bench/facts_decisions_dump.py compares every fixture and corpus package with main's code).
"""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from gate.decide import Policy, decide
from gate.extract.facts import PackageFacts, SignatureFacts, SignatureIssue
from gate.extract.pipeline import extract_features

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_message_is_the_text_the_facts_always_carried():
    issue = SignatureIssue("v1_no_manifest", "META-INF/MANIFEST.MF is missing")
    assert issue.message == "v1_no_manifest: META-INF/MANIFEST.MF is missing"
    assert issue.within("harmony_").message == "harmony_v1_no_manifest: META-INF/MANIFEST.MF is missing"
    assert issue.at("arm64").message == "v1_no_manifest: arm64: META-INF/MANIFEST.MF is missing"
    assert issue.of_part("main.rpk").message == "main.rpk: v1_no_manifest: META-INF/MANIFEST.MF is missing"


@pytest.mark.parametrize("text,code,part", [
    ("v1_no_manifest: META-INF/MANIFEST.MF is missing", "v1_no_manifest", None),
    ("cms_chain_untrusted: arm64: CN=x: does not chain", "cms_chain_untrusted", None),
    ("main.rpk: rpk_unsigned: no RPK signing block", "rpk_unsigned", "main.rpk"),
    ("v2_digest_mismatch: ", "v2_digest_mismatch", None),
])
def test_a_stored_message_reads_back_to_the_same_issue(text, code, part):
    issue = SignatureIssue.from_message(text)
    assert (issue.code, issue.part, issue.message) == (code, part, text)


def _facts(*issues: SignatureIssue) -> PackageFacts:
    return PackageFacts(path="x.apk", format="apk", package="cn.example.app", version_code=1,
                        signature=SignatureFacts(verified=False, errors=issues))


def test_the_engine_reads_codes_not_text():
    unsigned = _facts(SignatureIssue("v1_no_manifest", "META-INF/MANIFEST.MF is missing"))
    assert [r.code for r in decide(unsigned, [], policy=Policy()).reasons] == ["package_unsigned"]
    # The same words under another code are a broken signature, not a missing one.
    broken = _facts(SignatureIssue("v1_verify_error", "v1_no_manifest: said in the detail"))
    assert [r.code for r in decide(broken, [], policy=Policy()).reasons] == ["signature_invalid"]
    # An unsigned member of an RPK set is a set signed wrongly (as before the type: its text led with the entry).
    member = _facts(SignatureIssue("rpk_unsigned", "no RPK signing block", part="a.rpk"))
    reasons = decide(member, [], policy=Policy()).reasons
    assert [r.code for r in reasons] == ["signature_invalid"]
    assert reasons[0].evidence["errors"] == ["a.rpk: rpk_unsigned: no RPK signing block"]


@pytest.mark.parametrize("name,code", [("fixtures/apks/unsigned.apk", "v1_no_manifest"),
                                       ("fixtures/quickapp/rpk_unsigned.rpk", "rpk_unsigned")])
def test_unsigned_fixtures_carry_typed_issues(name, code):
    facts = extract_features(str(ROOT / name))
    assert [e.code for e in facts.signature.errors][:1] == [code]
    stored = facts.as_dict()["signature"]["errors"]
    assert all(isinstance(e, str) for e in stored)
    assert [SignatureIssue.from_message(e) for e in stored] == list(facts.signature.errors)
    assert decide(dataclasses.replace(facts), [], policy=Policy()).reasons[0].code == "package_unsigned"
