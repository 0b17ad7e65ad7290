"""Filings sync: pull the regulator's feed from the stored cursor, apply it to the registry, re-decide listed apps
whose filing changed, and tell the owning store to delist what is now blocked.

Order of effects, and why it is crash-safe:
1. One feed page is applied in one transaction together with (a) the new cursor and (b) one ``filing_reevaluation``
   row per changed filing. A crash before commit re-reads the page (records are full states, applying one twice is
   UNCHANGED); after commit, the owed re-evaluations are in the database.
2. Each pending re-evaluation runs in its own transaction: new decisions are stored as checks, delist notices are
   queued as signed store callbacks (gate.services.callbacks, an outbox too) and audited, and the row is
   marked done — all or nothing, so a crash never sends a notice twice nor forgets one.
3. Callbacks are delivered after commit, retried with backoff by ``gate worker`` (and tried once here at the end).

Feed records are the filing's full current state; apply in feed order, last one wins. Records of one page are
written in runs where each filing number occurs once (the import sink refuses a licence twice in one batch), so
every version in the feed is kept in the registry's history. A record that fails the gate's own validation is
skipped and audited (``filings.sync_rejected``) rather than blocking the feed forever.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from gate.config import Settings
from gate.db.audit import record_event
from gate.db.checks import StoredFacts, load_facts
from gate.db.filings import DatabaseRegistry, DatabaseSink
from gate.db.service_tables import ApiClient, Listing, ServiceCheck
from gate.db.sync_tables import FilingReevaluation, SyncCursor
from gate.db.tables import Check, table_of, utcnow
from gate.db.tables import Filing as FilingRow
from gate.filings.importer import CHANGED, CREATED, UNCHANGED
from gate.filings.records import Filing
from gate.filings.validate import validate_record
from gate.progress import Progress
from gate.services.callbacks import deliver_due, queue_callback
from gate.services.decisions import CheckRequest, decide_and_record
from gate.sync.client import RegulatorClient

LOGGER = logging.getLogger("gate.sync.filings")
ACTOR = "sync"
PAGE_LIMIT = 500
NOTICE_EVENT = "listing.delist_required"

C = table_of(SyncCursor)
R = table_of(FilingReevaluation)
F = table_of(FilingRow)
L = table_of(Listing)
A = table_of(ApiClient)
GC = table_of(Check)
SC = table_of(ServiceCheck)


def cursor_name(client: RegulatorClient) -> str:
    # Per regulator URL: a cursor issued by one feed is meaningless (and refused) at another.
    return f"filings_feed:{client.base_url}"


def read_cursor(conn: Connection, name: str) -> str | None:
    return conn.execute(select(C.c.cursor).where(C.c.name == name)).scalar_one_or_none()


def _save_cursor(conn: Connection, name: str, cursor: str) -> None:
    if conn.execute(update(C).where(C.c.name == name).values(cursor=cursor, updated_at=utcnow())).rowcount == 0:
        conn.execute(insert(C), {"name": name, "cursor": cursor, "updated_at": utcnow()})


def _runs(filings: Sequence[Filing]) -> list[list[Filing]]:
    """Consecutive runs in which each filing number occurs once (feed order kept)."""
    runs: list[list[Filing]] = [[]]
    seen: set[str] = set()
    for f in filings:
        if f.service_licence in seen:
            runs.append([])
            seen.clear()
        runs[-1].append(f)
        seen.add(f.service_licence)
    return [r for r in runs if r]


def apply_page(conn: Connection, records: Sequence[dict]) -> dict:
    """Validate and write one feed page; queue re-evaluations of changed filings. Returns counts, and in
    ``rejections`` each rejected record's licence and problems."""
    counts: dict[str, Any] = {"records": len(records), CREATED: 0, CHANGED: 0, UNCHANGED: 0, "rejected": 0, "rejections": []}
    valid: list[Filing] = []
    for raw in records:
        filing, problems = validate_record(raw) if isinstance(raw, dict) else (None, [])
        errors = [p for p in problems if p.severity == "error"]
        if filing is None or errors:
            counts["rejections"].append(_reject(conn, raw, [p.as_dict() for p in errors] or [_NOT_A_RECORD]))
            counts["rejected"] += 1
            continue
        valid.append(filing)
    changed: list[str] = []
    for run in _runs(valid):
        outcomes = DatabaseSink(conn, str(uuid.uuid4())).write_batch(run)
        for filing, outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, list):
                counts["rejections"].append(_reject(conn, filing.canonical(), [p.as_dict() for p in outcome]))
                counts["rejected"] += 1
                continue
            counts[outcome] += 1
            # A new filing that is already out of force (cancelled, revoked, blacklisted) can name an app a store
            # lists; a new filing in force cannot take an app from another filing (one active filing per app).
            if outcome == CHANGED or (outcome == CREATED and (not filing.active or filing.blacklisted)):
                changed.append(filing.service_licence)
    for licence in changed:
        version_id = conn.execute(select(F.c.current_version_id).where(F.c.service_licence == licence)).scalar_one()
        conn.execute(insert(R), {"service_licence": licence, "version_id": version_id, "status": "pending",
                                 "created_at": utcnow()})
    return counts


_NOT_A_RECORD = {"field": "record", "code": "record_invalid", "message": "a feed record must be a JSON object"}


def _reject(conn: Connection, raw, problems: list[dict]) -> dict:
    licence = raw.get("service_licence") if isinstance(raw, dict) else None
    record_event(conn, actor=ACTOR, action="filings.sync_rejected", subject=str(licence)[:255] if licence else None,
                 details={"problems": problems})
    rejection = {"service_licence": licence, "problems": [
        {key: p.get(key) for key in ("field", "code", "message")} for p in problems]}
    LOGGER.warning("feed record %s rejected: %s", licence, describe_rejection(rejection))
    return rejection


def describe_rejection(rejection: dict) -> str:
    """One line a person reads: ``field: [code] message; …``."""
    return "; ".join(f"{p.get('field') or 'record'}: [{p.get('code')}] {p.get('message') or ''}".rstrip()
                     for p in rejection["problems"])


def sync_filings(engine: Engine, client: RegulatorClient, *, settings: Settings,
                 page_limit: int = PAGE_LIMIT, ensure_lock=lambda: None, progress: Progress | None = None) -> dict:
    """Pull every page after the stored cursor, then run owed re-evaluations and try the callbacks once.

    Must run under the filings-sync job lock (gate.sync.locks); ``ensure_lock`` (HeldLock.ensure) stops the run
    before the next step once the lock is lost."""
    name = cursor_name(client)
    totals: dict[str, Any] = {"pages": 0, "records": 0, CREATED: 0, CHANGED: 0, UNCHANGED: 0, "rejected": 0, "rejections": []}
    while True:
        with engine.connect() as conn:
            cursor = read_cursor(conn, name)
        page = client.fetch_feed(cursor, limit=page_limit)  # never inside a transaction
        ensure_lock()
        with engine.begin() as conn:
            if read_cursor(conn, name) != cursor:  # another instance applied this page meanwhile (a lost lock)
                continue
            counts = apply_page(conn, page.records)
            _save_cursor(conn, name, page.next_cursor)
            if page.records:  # each rejection has its own audit event
                record_event(conn, actor=ACTOR, action="filings.sync", subject=name[:255],
                             details={k: v for k, v in counts.items() if k != "rejections"})
        totals["pages"] += 1
        for key, value in counts.items():
            totals[key] += value
        if progress is not None:
            progress.advance(len(page.records))
        if not page.has_more:
            break
    totals["reevaluation"] = reevaluate_pending(engine, settings, ensure_lock=ensure_lock)
    totals["callbacks_delivered"] = deliver_callbacks(engine, settings)
    return totals


def deliver_callbacks(engine: Engine, settings: Settings) -> int:
    from gate.services.fetch import policy_from_settings

    policy = policy_from_settings(settings)
    return deliver_due(engine, policy=policy, backoff_seconds=settings.callback_backoff_seconds,
                       max_attempts=settings.callback_max_attempts, timeout=settings.callback_timeout_seconds)


def reevaluate_pending(engine: Engine, settings: Settings, *, ensure_lock=lambda: None) -> dict:
    """Run every owed re-evaluation, oldest first, each in its own transaction.

    Each transaction first claims its row with a guarded update (pending → done) and goes on only if that matched:
    an instance running beside this one (a lost job lock) blocks on the row until this one commits, then matches
    nothing and writes nothing, so no check, notice or audit event is written twice."""
    with engine.connect() as conn:
        pending = conn.execute(select(R.c.id, R.c.service_licence).where(R.c.status == "pending")
                               .order_by(R.c.id)).all()
    totals = {"filings": 0, "apps": 0, "blocked": 0, "notices": 0}
    for row in pending:
        ensure_lock()
        with engine.begin() as conn:
            claimed = conn.execute(update(R).where(R.c.id == row.id, R.c.status == "pending").values(
                status="done", done_at=utcnow())).rowcount
            if not claimed:
                continue
            outcome = _reevaluate(conn, row.id, row.service_licence, settings)
            conn.execute(update(R).where(R.c.id == row.id).values(outcome=json.dumps(outcome, ensure_ascii=False)))
        totals["filings"] += 1
        for key in ("apps", "blocked", "notices"):
            totals[key] += outcome[key]
    return totals


def _identifiers(registry: DatabaseRegistry, licence: str) -> tuple[Filing | None, set[tuple[str, str]]]:
    """The current version and every (platform, identifier) named by it or by its previous version (an identifier
    dropped from a filing leaves its app unfiled, which must be re-decided too). Every platform a store lists:
    Android packages, quick apps, mini programs' AppIDs (listings name their platform)."""
    history = registry.history(licence)
    current = history[-1] if history else None
    names = {(p.platform, p.identifier) for f in history[-2:] for p in f.platforms}
    return current, names


def _stored_facts(conn: Connection, client_id: int, package: str,
                  platform: str = "android") -> tuple[StoredFacts | None, dict]:
    """The newest stored check of this package, preferring the store's own upload: (its facts, metadata).

    Without one, an operator's check (``gate check``, an earlier re-decision) serves; never a package another API
    client uploaded: a package name is only a claim, and another client's (or a forger's) package would decide
    whether this store is told to delist (the anonymous pre-check page stores no check for the same reason)."""
    foreign = select(SC.c.package_sha256).where(SC.c.client_id != client_id)
    row = conn.execute(
        select(GC.c.facts, GC.c.facts_schema, SC.c.metadata_json)
        .select_from(GC.outerjoin(SC, (SC.c.gate_check_id == GC.c.id) & (SC.c.client_id == client_id)))
        .where(GC.c.package == package, GC.c.platform == platform,
               or_(SC.c.client_id.is_not(None), GC.c.package_sha256.not_in(foreign)))
        .order_by(SC.c.client_id.is_(None), GC.c.id.desc()).limit(1)).first()
    if row is None:
        return None, {}
    return load_facts(row.facts, row.facts_schema), json.loads(row.metadata_json) if row.metadata_json else {}


def _reevaluate(conn: Connection, reevaluation_id: int, licence: str, settings: Settings) -> dict:
    registry = DatabaseRegistry(conn)
    filing, identifiers = _identifiers(registry, licence)
    outcome: dict[str, Any] = {"service_licence": licence, "apps": 0, "blocked": 0, "notices": 0}
    if filing is None or not identifiers:
        return outcome
    by_platform: dict[str, list[str]] = {}
    for platform, identifier in sorted(identifiers):
        by_platform.setdefault(platform, []).append(identifier)
    listed = conn.execute(
        select(L.c.client_id, L.c.package, L.c.platform, L.c.version_code, A.c.name, A.c.callback_url)
        .join(A, A.c.id == L.c.client_id)
        .where(or_(*(and_(L.c.platform == platform, L.c.package.in_(names))
                     for platform, names in by_platform.items())), L.c.status == "listed")
        .order_by(L.c.client_id, L.c.package)).all()
    policy = settings.decision_policy()
    for app in listed:
        outcome["apps"] += 1
        kept, metadata = _stored_facts(conn, app.client_id, app.package, app.platform)
        decision, check_id = None, None
        if kept is not None:
            # The package is not kept: facts too old for a rule say so (facts_outdated) rather than skip it.
            recorded = decide_and_record(conn, kept.facts, CheckRequest.declared(metadata, source=ACTOR),
                                         policy=policy, stored=kept)
            decision, check_id = recorded.decision, recorded.gate_check_id
            blocked = decision.verdict == "block"
        else:
            # No stored facts (the store never uploaded this package through the gate): nothing to decide on, but
            # a filing that no longer allows distribution is reason enough to delist. Fail closed.
            blocked = not filing.active
        details = {"service_licence": licence, "filing_status": filing.status, "blacklisted": filing.blacklisted,
                   "client_id": app.client_id, "check_id": check_id,
                   "verdict": decision.verdict if decision else ("block" if blocked else None)}
        if not blocked:
            record_event(conn, actor=ACTOR, action="listing.reevaluated", subject=app.package, details=details)
            continue
        outcome["blocked"] += 1
        notice = _notice(app, filing, decision, check_id, reevaluation_id)
        if app.callback_url:
            queue_callback(conn, client_id=app.client_id, check_id=notice["notice_id"], url=app.callback_url,
                           body=notice)
            outcome["notices"] += 1
        record_event(conn, actor=ACTOR, action="listing.delist_notice", subject=app.package,
                     details={**details, "notice_id": notice["notice_id"], "queued": bool(app.callback_url)})
    return outcome


def _notice(app, filing: Filing, decision, check_id: int | None, reevaluation_id: int) -> dict:
    """The signed body a store receives: which app to take down, and why (the new decision when there is one)."""
    digest = hashlib.sha256(f"{reevaluation_id}:{app.client_id}:{app.package}".encode()).hexdigest()
    reasons = [r.code for r in decision.reasons] if decision else (
        ["filing_blacklisted"] if filing.blacklisted else ["filing_cancelled"])
    return {"event": NOTICE_EVENT, "notice_id": f"dl_{digest[:32]}", "package": app.package, "platform": app.platform,
            "version_code": app.version_code, "action": "delist", "service_licence": filing.service_licence,
            "filing_status": filing.status, "blacklisted": filing.blacklisted, "reason_codes": reasons,
            "check_id": check_id, "decision": decision.as_dict() if decision else None,
            "at": utcnow().isoformat()}
