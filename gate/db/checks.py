"""Stored checks: every decision with the digests of its inputs, so it can be audited and reproduced.

A check row keeps the facts JSON (and its SHA-256), the filing version the decision used, the policy and the
decision. ``replay_check`` decides again from exactly those inputs; a different answer means the engine changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from gate.beijing_time import beijing
from gate.db.audit import record_event
from gate.db.filings import DatabaseRegistry
from gate.db.tables import Check, DecisionDay, table_of, utcnow
from gate.decide import RULE_INPUTS, Decision, Policy, decide, reason, verdict_of
from gate.errors import GateError
from gate.extract.facts import FACTS_SCHEMA, PackageFacts, missing_fields, stored_schema

C, DAYS = table_of(Check), table_of(DecisionDay)
_INSERT_CHECK = insert(C).returning(C.c.id)  # built once: it runs for every decision stored


def _decision_day_upsert(dialect_insert):
    return dialect_insert(DAYS).values(checks=1).on_conflict_do_update(
        index_elements=[DAYS.c.day, DAYS.c.verdict, DAYS.c.reason_codes], set_={"checks": DAYS.c.checks + 1})


# Built once per dialect, like _INSERT_CHECK: building it per decision (and SQLAlchemy deriving its cache key again)
# cost more than running it. The day, verdict and reason codes are bound per call.
_COUNT_DECISION = {"postgresql": _decision_day_upsert(pg_insert), "sqlite": _decision_day_upsert(sqlite_insert)}


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# The policy's JSON, written into every stored check: a server decides with one Policy for its whole life, and a
# Policy is frozen, so the text made for it once is its text (writing it out cost ~35 µs a check). Keyed by the
# object itself, held here, so its id cannot be reused by another policy.
_POLICY_TEXT: list[tuple[Policy, str]] = []


def _policy_json(policy: Policy) -> str:
    for known, text in _POLICY_TEXT:
        if known is policy:
            return text
    text = _json(policy.as_dict())
    _POLICY_TEXT[:] = [(policy, text)]  # the newest only: tests and the CLI build policies freely
    return text


def record_check(conn: Connection, *, facts: PackageFacts, decision: Decision, policy: Policy,
                 platform: str = "android", developer_entity: str | None = None, actor: str = "cli",
                 category: str | None = None, stored: StoredFacts | None = None,
                 at: dt.datetime | None = None) -> int:
    """Store one decision and its inputs (same transaction as its audit event and its count in decision_day);
    returns the check id. ``stored``: the stored facts ``facts`` were loaded from (a decision taken again), kept as
    they were with their schema — written again from today's dataclasses, facts from an older gate would look newer
    than they are. ``at``: when it was decided (now; tests give a past time)."""
    from gate import __version__

    if stored is not None and stored.facts is facts:
        facts_json, facts_schema = stored.facts_json, stored.schema
    else:
        facts_json, facts_schema = _json(facts.as_dict()), FACTS_SCHEMA
    row = {
        "created_at": at or utcnow(), "path": facts.path, "package_sha256": facts.sha256, "package": facts.package,
        "platform": platform, "verdict": decision.verdict,
        "reason_codes": " ".join(r.code for r in decision.reasons),
        "facts": facts_json, "facts_sha256": hashlib.sha256(facts_json.encode("utf-8")).hexdigest(),
        "facts_schema": facts_schema,
        "filing_version_id": decision.filing.version_id if decision.filing is not None else None,
        "policy": _policy_json(policy), "decision": _json(decision.as_dict()),
        "developer_entity": developer_entity, "gate_version": __version__, "category": category,
        "unpacked_sha256": facts.pairing.unpacked_sha256 if facts.pairing is not None else None,
    }
    check_id = conn.execute(_INSERT_CHECK, row).scalar_one()
    _count_decision(conn, row)
    record_event(conn, actor=actor, action="check", subject=facts.package or facts.path,
                 details={"check_id": check_id, "verdict": decision.verdict, "package_sha256": facts.sha256,
                          **({"unpacked_sha256": row["unpacked_sha256"]} if row["unpacked_sha256"] else {}),
                          "filing_version_id": row["filing_version_id"]})
    return check_id


def decided(gate_check_id: int, facts: PackageFacts, decision: Decision) -> dict:
    """The columns a service check takes when it is decided (or re-decided, or reviewed): the stored decision and
    the package and reason codes copied from it, which the console sorts and filters on (migration 0750)."""
    return {"gate_check_id": gate_check_id, "verdict": decision.verdict, "package": (facts.package or "")[:255],
            "reason_codes": " ".join(r.code for r in decision.reasons), "updated_at": utcnow()}


def _count_decision(conn: Connection, row: dict) -> None:
    """One more decision on its Beijing day (the dashboard's decision_day), in the decision's transaction."""
    key = {"day": beijing(row["created_at"]).date().isoformat(), "verdict": row["verdict"],
           "reason_codes": row["reason_codes"]}
    conn.execute(_COUNT_DECISION["postgresql" if conn.dialect.name == "postgresql" else "sqlite"], key)


@dataclass(frozen=True)
class StoredFacts:
    """A check's stored facts as a decision taken again reads them: the facts, their schema (FACTS_SCHEMA when they
    were read by this gate) and the fields of today's facts they lack."""

    facts: PackageFacts
    schema: int
    missing: tuple[str, ...]
    facts_json: str  # as stored

    @property
    def outdated(self) -> bool:
        return self.schema < FACTS_SCHEMA

    @property
    def unheard_rules(self) -> tuple[str, ...]:
        """The reason codes whose rules read a field these facts lack: they cannot speak from them."""
        return tuple(sorted({code for name in self.missing for code in RULE_INPUTS.get(name, ())}))


def load_facts(facts_json: str, recorded_schema: int | None) -> StoredFacts:
    """A gate_check's ``facts`` and ``facts_schema`` (NULL before migration 0740) as a decision taken again reads them."""
    stored = json.loads(facts_json)
    return StoredFacts(PackageFacts.from_dict(stored), stored_schema(stored, recorded_schema), missing_fields(stored),
                       facts_json)


def note_outdated_facts(decision: Decision, stored: StoredFacts) -> Decision:
    """``decision``, taken from ``stored`` facts with no package at hand to read again, with ``facts_outdated``
    (review) when those facts are too old for a rule: a rule that could not speak is said, never skipped silently."""
    rules = stored.unheard_rules
    if not stored.outdated or not rules:
        return decision
    reasons = (*decision.reasons, reason("facts_outdated", missing=list(stored.missing), rules=list(rules),
                                         facts_schema=stored.schema, current_schema=FACTS_SCHEMA))
    return Decision(decision.path, verdict_of(reasons), reasons, decision.filing, decision.package)


def replay_check(conn: Connection, check_id: int) -> tuple[dict, dict]:
    """(stored decision, decision recomputed from the stored facts, filing version and policy)."""
    row = conn.execute(select(C).where(C.c.id == check_id)).first()
    if row is None:
        raise GateError(f"no check {check_id}", code="check_not_found")
    registry = DatabaseRegistry(conn)
    filing = registry.version(row.filing_version_id) if row.filing_version_id is not None else None
    facts = PackageFacts.from_dict(json.loads(row.facts))
    # Only the version the decision used: a replay must not consult today's registry. A check that stopped before
    # step 3 or found no filing used none.
    filings = [filing] if filing is not None else []
    policy = Policy(**json.loads(row.policy))
    again = decide(facts, filings, policy=policy, platform=row.platform, developer_entity=row.developer_entity,
                   category=row.category)
    return json.loads(row.decision), again.as_dict()
