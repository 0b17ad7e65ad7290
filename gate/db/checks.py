"""Stored checks: every decision with the digests of its inputs, so it can be audited and reproduced.

A check row keeps the facts JSON (and its SHA-256), the filing version the decision used, the policy and the
decision. ``replay_check`` decides again from exactly those inputs; a different answer means the engine changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from gate.beijing_time import beijing
from gate.db.audit import record_event
from gate.db.filings import DatabaseRegistry
from gate.db.tables import Check, DecisionDay, utcnow
from gate.decide import Decision, Policy, decide
from gate.errors import GateError
from gate.extract.facts import (
    FilingNumberFact,
    HostFact,
    IpFact,
    NetworkFacts,
    PackageFacts,
    PairingFacts,
    PartFacts,
    Problem,
    ProtectionFacts,
    SignatureFacts,
    SignerCertificate,
    VerifiedFromSdk,
)

C, DAYS = Check.__table__, DecisionDay.__table__
_INSERT_CHECK = insert(C).returning(C.c.id)  # built once: it runs for every decision stored


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_check(conn: Connection, *, facts: PackageFacts, decision: Decision, policy: Policy,
                 platform: str = "android", developer_entity: str | None = None, actor: str = "cli",
                 category: str | None = None, at: dt.datetime | None = None) -> int:
    """Store one decision and its inputs (same transaction as its audit event and its count in decision_day);
    returns the check id. ``at``: when it was decided (now; tests and imports of old decisions give it)."""
    from gate import __version__

    facts_json = _json(facts.as_dict())
    row = {
        "created_at": at or utcnow(), "path": facts.path, "package_sha256": facts.sha256, "package": facts.package,
        "platform": platform, "verdict": decision.verdict,
        "reason_codes": " ".join(r.code for r in decision.reasons),
        "facts": facts_json, "facts_sha256": hashlib.sha256(facts_json.encode("utf-8")).hexdigest(),
        "filing_version_id": decision.filing.version_id if decision.filing is not None else None,
        "policy": _json(policy.as_dict()), "decision": _json(decision.as_dict()),
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
    upsert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(DAYS)
    conn.execute(upsert.values(**key, checks=1).on_conflict_do_update(
        index_elements=[DAYS.c.day, DAYS.c.verdict, DAYS.c.reason_codes],
        set_={"checks": DAYS.c.checks + 1}))


def facts_from_dict(d: dict) -> PackageFacts:
    """Rebuild PackageFacts from its ``as_dict()`` JSON (the stored input of a check)."""
    cert = SignerCertificate.from_dict

    sig, net = d.get("signature") or {}, d.get("network") or {}
    return PackageFacts(
        path=d["path"], format=d.get("format"), package=d.get("package"), version_code=d.get("version_code"),
        version_name=d.get("version_name"), label=d.get("label"), labels=dict(d.get("labels") or {}),
        min_sdk=d.get("min_sdk"), target_sdk=d.get("target_sdk"), permissions=tuple(d.get("permissions") or ()),
        signature=SignatureFacts(verified=bool(sig.get("verified")), schemes=dict(sig.get("schemes") or {}),
                                 signers=tuple(cert(c) for c in sig.get("signers") or ()),
                                 lineage=tuple(cert(c) for c in sig.get("lineage") or ()),
                                 errors=tuple(sig.get("errors") or ()),
                                 verified_parts=tuple(sig.get("verified_parts") or ()),
                                 source_stamp=bool(sig.get("source_stamp")),
                                 verified_from_sdk=VerifiedFromSdk.from_dict(sig.get("verified_from_sdk"))),
        network=NetworkFacts(
            hosts=tuple(HostFact.from_dict(h) for h in net.get("hosts") or ()),
            ips=tuple(IpFact.from_dict(i) for i in net.get("ips") or ())),
        problems=tuple(Problem(p["code"], p["message"]) for p in d.get("problems") or ()),
        sha256=d.get("sha256"), size=d.get("size"), platform=d.get("platform"),
        parts=tuple(PartFacts(p["name"], p.get("split"), p.get("package"), p.get("version_code"),
                              bool(p.get("verified")), tuple(p.get("signers") or ()),
                              tuple(Problem(q["code"], q["message"]) for q in p.get("problems") or ()))
                    for p in d.get("parts") or ()),
        details=dict(d.get("details") or {}),
        filing_numbers=(None if d.get("filing_numbers") is None else
                        tuple(FilingNumberFact(n["number"], tuple(n.get("sources") or ()))
                              for n in d["filing_numbers"])),
        application_class=d.get("application_class"), native_libraries=tuple(d.get("native_libraries") or ()),
        protection=ProtectionFacts.from_dict(d.get("protection")), pairing=PairingFacts.from_dict(d.get("pairing")),
    )


def replay_check(conn: Connection, check_id: int) -> tuple[dict, dict]:
    """(stored decision, decision recomputed from the stored facts, filing version and policy)."""
    row = conn.execute(select(C).where(C.c.id == check_id)).first()
    if row is None:
        raise GateError(f"no check {check_id}", code="check_not_found")
    registry = DatabaseRegistry(conn)
    filing = registry.version(row.filing_version_id) if row.filing_version_id is not None else None
    facts = facts_from_dict(json.loads(row.facts))
    # Only the version the decision used: a replay must not consult today's registry. A check that stopped before
    # step 3 or found no filing used none.
    filings = [filing] if filing is not None else []
    policy = Policy(**json.loads(row.policy))
    again = decide(facts, filings, policy=policy, platform=row.platform, developer_entity=row.developer_entity,
                   category=row.category)
    return json.loads(row.decision), again.as_dict()
