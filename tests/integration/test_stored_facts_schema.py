"""Decisions taken again from stored facts, on SQLite and PostgreSQL (migration 0740, docs/filings.md "Stored facts
and their schema"): facts an older gate stored are read again from the package when the upload is at hand, and a
review, which has no package, says which rules they are too old for instead of skipping them.

"Older" facts are made the way an older gate wrote them: the stored JSON without ``filing_numbers`` and
``protection`` (the gate before step 9 and packer detection) and ``facts_schema`` NULL (before migration 0740)."""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select, update

from tests.integration.console_support import served_with_reviewer, signed_in
from tests.integration.http_support import HELLO

ENTITY = {"developer_entity": "甲公司"}  # not the filing's unit: entity_mismatch makes the upload a review


@pytest.fixture
def served(tmp_path, database_url):
    yield from served_with_reviewer(tmp_path, database_url)


def _stored_row(gate, check_id):
    from gate.db.service_tables import ServiceCheck
    from gate.db.tables import Check

    SC, GC = ServiceCheck.__table__, Check.__table__
    with gate.engine.connect() as conn:
        return conn.execute(select(GC).join(SC, SC.c.gate_check_id == GC.c.id)
                            .where(SC.c.check_id == check_id)).one()


def _make_old(gate, check_id) -> str:
    """Rewrite the check's stored facts as an older gate stored them; returns that JSON."""
    from gate.db.tables import Check

    row = _stored_row(gate, check_id)
    facts = json.loads(row.facts)
    del facts["filing_numbers"], facts["protection"]
    old = json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with gate.engine.begin() as conn:
        conn.execute(update(Check.__table__).where(Check.__table__.c.id == row.id)
                     .values(facts=old, facts_schema=None))
    return old


def _codes(answer):
    return [r["code"] for r in answer["reasons"]]


def test_a_check_stores_its_facts_schema(served):
    from gate.extract.facts import FACTS_SCHEMA

    check_id = served.upload(HELLO, metadata=ENTITY).json()["check_id"]
    assert _stored_row(served, check_id).facts_schema == FACTS_SCHEMA == 1


def test_a_repeated_upload_reads_old_facts_again_from_the_package(served):
    first = served.upload(HELLO, metadata=ENTITY).json()
    _make_old(served, first["check_id"])
    again = served.upload(HELLO, metadata=ENTITY).json()
    assert again["check_id"] == first["check_id"]
    # The same answer a first upload gets (step 9 speaks again: the facts were read anew), nothing about old facts.
    assert (again["verdict"], _codes(again)) == (first["verdict"], _codes(first))
    assert "filing_number_not_shown" in _codes(again)
    row = _stored_row(served, first["check_id"])
    assert row.facts_schema == 1 and json.loads(row.facts)["filing_numbers"] is not None


def test_a_review_of_old_facts_says_which_rules_could_not_speak(served):
    check_id = served.upload(HELLO, metadata=ENTITY).json()["check_id"]
    old = _make_old(served, check_id)
    session, token = signed_in(served, "rev")
    r = session.post(f"{served.url}/console/checks/{check_id}/review",
                     data={"csrf_token": token, "outcome": "approve", "comment": "核实无误"}, allow_redirects=False)
    assert r.status_code == 302, r.text
    answer = requests.get(f"{served.url}/api/v1/checks/{check_id}", headers=served.headers("store")).json()
    assert answer["verdict"] == "allow"  # approved: facts_outdated is a review, which a reviewer may settle
    outdated = next(r for r in answer["reasons"] if r["code"] == "facts_outdated")
    assert outdated["severity"] == "review"
    assert outdated["evidence"]["rules"] == ["code_hidden_by_packer", "filing_number_not_shown"]
    assert outdated["evidence"]["missing"] == ["filing_numbers", "protection"]
    assert "filing_number_not_shown" not in _codes(answer)  # not decided: said instead
    # The new check keeps the old facts as they were, marked older: a later re-decision knows it too.
    row = _stored_row(served, check_id)
    assert (row.facts, row.facts_schema) == (old, 0)


def test_a_filing_change_re_decides_old_facts_and_says_what_they_lack(database_url, tmp_path):
    """The filings sync re-decides a listed app from the store's stored check: old facts add facts_outdated."""
    from gate.config import Settings
    from gate.db.tables import Check
    from gate.extract.pipeline import extract_features
    from gate.services import checks
    from gate.services.decisions import CheckRequest, decide_and_record
    from gate.sync.filings_sync import reevaluate_pending
    from tests.integration.sync_support import change_filing, seed_listings

    settings = Settings()
    engine, store = seed_listings(database_url, tmp_path)
    with engine.begin() as conn:
        recorded = decide_and_record(conn, extract_features(HELLO), CheckRequest(source="client:store-a"),
                                     policy=settings.decision_policy())
        conn.execute(checks.SC.insert(), {"check_id": "chk_" + "1" * 32, "client_id": store.id,
                                          "package_sha256": "1" * 64, "size": 1, "filename": "hello.apk",
                                          "status": "done", "gate_check_id": recorded.gate_check_id,
                                          "verdict": recorded.decision.verdict})
    GC = Check.__table__
    with engine.begin() as conn:
        facts = json.loads(conn.execute(select(GC.c.facts).where(GC.c.id == recorded.gate_check_id)).scalar_one())
        del facts["filing_numbers"], facts["protection"]
        conn.execute(update(GC).where(GC.c.id == recorded.gate_check_id)
                     .values(facts=json.dumps(facts, sort_keys=True), facts_schema=None))
    change_filing(engine, tmp_path, domains=["hello-gate.cn", "203.0.113.7", "cdn.hello-gate.cn"])
    outcome = reevaluate_pending(engine, settings)
    assert outcome["apps"] == 1 and outcome["blocked"] == 0, outcome
    with engine.connect() as conn:
        newest = conn.execute(select(GC).order_by(GC.c.id.desc()).limit(1)).one()
    assert newest.id != recorded.gate_check_id and newest.facts_schema == 0
    reasons = json.loads(newest.decision)["reasons"]
    assert [r["code"] for r in reasons if r["code"] == "facts_outdated"] == ["facts_outdated"]
    assert "filing_number_not_shown" not in [r["code"] for r in reasons]
    engine.dispose()
