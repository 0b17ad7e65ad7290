"""Checking a package that arrived over HTTP: extract, decide against the registry, store, and name it.

The public ``check_id`` is derived, not allocated: SHA-256 over the client, the package SHA-256 and the metadata
that can change the decision (the uploader's entity, the store's app id). The same upload therefore always gets the
same id, and two identical uploads racing each other meet on the primary key instead of creating two checks.

A repeated upload is not extracted again: its stored facts are decided again against today's filings (a filing
may have been cancelled since), recorded as a new gate_check for the audit trail, and answered under the same id.
Extraction (slow) runs outside any transaction; the rows of one outcome are written in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from gate.beijing_time import beijing_iso
from gate.db.checks import decided, load_facts
from gate.db.service_tables import Job, ServiceCheck
from gate.db.tables import Check, table_of, utcnow
from gate.decide import Policy
from gate.errors import GateError
from gate.extract.facts import PackageFacts
from gate.extract.trust import NO_EXTRA_ROOTS, TrustRoots
from gate.services.decisions import CheckRequest, decide_and_record
from gate.services.reviews import apply_reviews, reviews_of_check

SC = table_of(ServiceCheck)
J = table_of(Job)
GC = table_of(Check)
# Statements of every synchronous check, built once (see gate.services.auth._CLIENT_BY_KEY_ID).
_CHECK_BY_ID = select(SC).where(SC.c.check_id == bindparam("check_id"))
# A decided check's row, unless the same check_id is already there (a racing request, an earlier failed attempt):
# ON CONFLICT on the primary key instead of a savepoint around a plain INSERT, which cost two more statements and
# SQLAlchemy's nested-transaction bookkeeping on every synchronous check.
# RETURNING says whether the row went in (psycopg's rowcount does not, SQLAlchemy reports -1 there).
_INSERT_DECIDED = {
    dialect: insert_of(SC).on_conflict_do_nothing(index_elements=[SC.c.check_id]).returning(SC.c.check_id)
    for dialect, insert_of in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}

# What the caller declared that can change the decision (or names the store's app): part of the check id.
DECISION_METADATA = ("developer_entity", "store_app_id", "category")


class CheckNotFound(GateError):
    code = "check_not_found"
    status = 404


def derive_check_id(client_id: int, package_sha256: str, request: CheckRequest, *,
                    unpacked_sha256: str | None = None) -> str:
    """The check's public id; an unpacked build beside the package (gate.pairing) is part of what was checked."""
    relevant = {k: getattr(request, k) for k in DECISION_METADATA if getattr(request, k)}
    parts: list[object] = [client_id, package_sha256, relevant]
    if unpacked_sha256:
        parts.append({"unpacked": unpacked_sha256})
    material = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return "chk_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def extract(path: str, shown_name: str, *, trust: TrustRoots = NO_EXTRA_ROOTS,
            unpacked: dict[str, Any] | None = None) -> PackageFacts:
    """Facts of a spooled package, shown under the name the caller uploaded it as (not the spool path); ``trust``:
    the operator's extra roots (Settings.trust_roots). ``unpacked`` (``{"path", "filename"}``): the unpacked build
    spooled beside it, paired with it (gate.pairing)."""
    from gate.extract.pipeline import extract_features

    facts = dataclasses.replace(extract_features(path, trust=trust), path=shown_name)
    if unpacked is None:
        return facts
    from gate.pairing import pair

    plain = dataclasses.replace(extract_features(unpacked["path"], trust=trust),
                                path=unpacked.get("filename") or "unpacked.apk")
    return pair(facts, plain)


@dataclass(frozen=True)
class Outcome:
    """What the caller is answered: a finished decision, or a queued check."""

    check_id: str
    status: str  # done | queued
    decision: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.decision is not None:
            return {**self.decision, "check_id": self.check_id, "status": self.status}
        return {"check_id": self.check_id, "status": self.status}


def existing(conn: Connection, check_id: str) -> Row[*tuple[Any, ...]] | None:
    return conn.execute(_CHECK_BY_ID, {"check_id": check_id}).first()


def redecide(engine: Engine, row: Row[*tuple[Any, ...]], *, policy: Policy, actor: str,
             reread: Callable[[], PackageFacts] | None = None) -> Outcome:
    """Decide a known package again from its stored facts, against today's filings. Facts stored by an older gate
    (gate.extract.facts.FACTS_SCHEMA) are read again from the package when ``reread`` can (the upload is at hand),
    else the decision says which rules they are too old for (facts_outdated)."""
    with engine.connect() as conn:
        stored = conn.execute(select(GC.c.facts, GC.c.facts_schema).where(GC.c.id == row.gate_check_id)).one()
    kept = load_facts(stored.facts, stored.facts_schema)
    facts = reread() if kept.outdated and reread is not None else kept.facts  # outside any transaction: seconds
    with engine.begin() as conn:
        request = CheckRequest.declared(json.loads(row.metadata_json), source=actor)
        # A person's review of this check (same store, package and metadata) settles a `review`, never a block.
        recorded = decide_and_record(conn, facts, request, policy=policy, stored=kept, settle=lambda decision: (
            apply_reviews(decision, facts, reviews_of_check(conn, row.check_id))))
        conn.execute(update(SC).where(SC.c.check_id == row.check_id).values(
            **decided(recorded.stored_check_id(), facts, recorded.decision)))
    return Outcome(row.check_id, "done", recorded.decision.as_dict())


def check_now(engine: Engine, *, check_id: str, client_id: int, path: str, size: int, sha256: str,
              filename: str, request: CheckRequest, policy: Policy,
              trust: TrustRoots = NO_EXTRA_ROOTS, unpacked: dict[str, Any] | None = None) -> Outcome:
    """Extract, decide and store synchronously (the caller discards the spools afterwards)."""
    facts = extract(path, filename, trust=trust, unpacked=unpacked)
    return decide_and_store(engine, facts, check_id=check_id, client_id=client_id, size=size, sha256=sha256,
                            filename=filename, request=request, policy=policy)


def decide_and_store(engine: Engine, facts: PackageFacts, *, check_id: str, client_id: int, size: int, sha256: str,
                     filename: str, request: CheckRequest, policy: Policy) -> Outcome:
    """Decide on facts already read (a package, or a mini-program declaration) and store the check, answerable at
    GET /api/v1/checks/<check_id> and listed in the console."""
    with engine.begin() as conn:
        recorded = decide_and_record(conn, facts, request, policy=policy)
        decision, gate_check_id = recorded.decision, recorded.stored_check_id()
        row = {"check_id": check_id, "client_id": client_id, "package_sha256": sha256, "size": size,
               "filename": filename[:255], "status": "done", **decided(gate_check_id, facts, decision),
               "metadata_json": json.dumps(request.metadata(), ensure_ascii=False), "created_at": utcnow()}
        dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
        if conn.execute(_INSERT_DECIDED[dialect], row).first() is None:
            # the same upload raced us, or an earlier attempt failed: ours is the newest
            conn.execute(update(SC).where(SC.c.check_id == check_id).values(
                status="done", error=None, **decided(gate_check_id, facts, decision)))
    return Outcome(check_id, "done", decision.as_dict())


def enqueue(engine: Engine, *, check_id: str, client_id: int, path: str | None, size: int, sha256: str,
            filename: str, request: CheckRequest, callback_url: str | None,
            package_url: str | None = None, unpacked: dict[str, Any] | None = None) -> tuple[Outcome, bool]:
    """Hold the check and its job in the database; the spool stays on disk until the worker finishes.

    Insert-or-get, so racing intakes of the same upload (two servers, one check_id) create one check and one job:
    the primary key of service_check lets one request create the check; the loser finds it and joins it. A failed
    check is queued again only by the request whose guarded update moves it out of ``failed``, and the partial
    unique index ``ux_job_live_check`` backs that up with at most one live job per check. Returns the check's state
    and whether this call queued the job (only then does the caller's spool belong to the job). A job with a
    ``package_url`` has no spool yet: the worker downloads it and checks it against ``sha256``. ``unpacked``
    (``{"path", "filename", "sha256"}``): the unpacked build's spool, owned by the job like the package's.
    """
    now = utcnow()
    metadata = request.metadata()
    payload = {"path": path, "filename": filename, "metadata": metadata, "callback_url": callback_url,
               "client_id": client_id}
    if package_url is not None:
        payload.update(package_url=package_url, sha256=sha256)
    if unpacked is not None:
        payload["unpacked"] = dict(unpacked)
    with engine.begin() as conn:
        if not _insert_new(conn, SC, {
                "check_id": check_id, "client_id": client_id, "package_sha256": sha256, "size": size,
                "filename": filename[:255], "status": "queued",
                "metadata_json": json.dumps(metadata, ensure_ascii=False), "created_at": now, "updated_at": now}):
            requeued = conn.execute(update(SC).where(SC.c.check_id == check_id, SC.c.status == "failed")
                                    .values(status="queued", error=None, updated_at=now)).rowcount
            if not requeued:  # another request holds it (queued, running or done): join it
                held = existing(conn, check_id)
                if held is None:  # the unique key said it exists; gone since (purged): fail, never answer a guess
                    raise RuntimeError(f"check {check_id} disappeared while joining it")
                return Outcome(check_id, held.status), False
        if not _insert_new(conn, J, {"kind": "check", "check_id": check_id, "payload": json.dumps(payload),
                                     "status": "queued", "attempts": 0, "available_at": now, "created_at": now}):
            return Outcome(check_id, "queued"), False
    return Outcome(check_id, "queued"), True


def _insert_new(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless a unique key already holds it (in a savepoint, so the transaction goes on)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(table), row)
    except IntegrityError:
        return False
    return True


def finish_job_check(conn: Connection, *, check_id: str, facts: PackageFacts, request: CheckRequest,
                     policy: Policy) -> Outcome:
    """The worker's half of an async check, inside the worker's transaction."""
    recorded = decide_and_record(conn, facts, request, policy=policy)
    conn.execute(update(SC).where(SC.c.check_id == check_id).values(
        status="done", error=None, **decided(recorded.stored_check_id(), facts, recorded.decision)))
    return Outcome(check_id, "done", recorded.decision.as_dict())


def load_outcome(conn: Connection, check_id: str) -> tuple[Row[*tuple[Any, ...]], dict[str, Any]]:
    """(service_check row, the answer for GET /api/v1/checks/<id>)."""
    row = existing(conn, check_id)
    if row is None:
        raise CheckNotFound(f"no check {check_id}")
    if row.status == "done":
        decision = conn.execute(select(GC.c.decision).where(GC.c.id == row.gate_check_id)).scalar_one()
        answer = Outcome(check_id, "done", json.loads(decision)).as_dict()
        # The person's review (the newest), and times as ISO 8601 with the offset, never a display string.
        reviews = reviews_of_check(conn, check_id)
        newest = reviews[-1] if reviews else None
        answer["checked_at"] = beijing_iso(row.created_at)
        answer["review"] = None if newest is None else {
            "outcome": newest.outcome, "comment": newest.comment, "reviewer": newest.reviewer,
            "at": beijing_iso(newest.at)}
        return row, answer
    answer = {"check_id": check_id, "status": row.status}
    if row.status == "failed":
        answer["error"] = {"code": "check_failed", "message": row.error or "the check failed"}
    return row, answer


def check_unregistered(engine: Engine, *, path: str, filename: str, policy: Policy,
                       actor: str, trust: TrustRoots = NO_EXTRA_ROOTS,
                       unpacked: dict[str, Any] | None = None) -> tuple[PackageFacts, dict[str, Any]]:
    """A check from the open pre-check page: decided and audited, but not stored as a gate_check.

    Anyone may upload there, under any package name: stored facts would be taken for that app's by a later filings
    sync re-decision (gate.sync.filings_sync), letting an anonymous upload decide whether a store is told to delist.
    """
    facts = extract(path, filename, trust=trust, unpacked=unpacked)
    with engine.begin() as conn:
        recorded = decide_and_record(conn, facts, CheckRequest(source=actor, anonymous=True), policy=policy)
    return facts, recorded.decision.as_dict()
