"""The sync jobs as plain functions (the CLI and the scheduler call these): report, filings sync, audit purge.

Each job takes its single-instance lock (gate.sync.locks) and returns a JSON-able summary; when another instance
holds the lock it returns ``{"skipped": "locked"}`` at once instead of waiting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from gate.config import MIN_AUDIT_RETENTION_DAYS, Settings
from gate.db.audit import record_event
from gate.db.sync_tables import ReportBodyChunk, ReportOutbox
from gate.db.tables import AuditEvent, table_of, utcnow
from gate.errors import ConfigError
from gate.progress import Progress
from gate.sync.client import RegulatorClient
from gate.sync.locks import job_lock
from gate.sync.outbox import send_pending
from gate.sync.reports import build_report

LOGGER = logging.getLogger("gate.sync.jobs")
REPORT_LOCK, FILINGS_LOCK, PURGE_LOCK = "report", "filings-sync", "audit-purge"
APPLICATIONS_LOCK = "applications-sync"
PURGE_BATCH = 10_000
SKIPPED = {"skipped": "locked", "message": "another gate instance is running this job; nothing done here"}


def regulator_client(settings: Settings, **options) -> RegulatorClient:
    url, platform_id, secret = settings.regulator_url, settings.platform_id, settings.regulator_secret
    if not (url and platform_id and secret):
        missing = [name for name, value in (("GATE_REGULATOR_URL", url), ("GATE_PLATFORM_ID", platform_id),
                                            ("GATE_REGULATOR_SECRET", secret)) if not value]
        raise ConfigError(f"the regulator sync needs {', '.join(missing)} (see README, \"Regulator sync\")",
                          code="regulator_not_configured")
    return RegulatorClient(url, platform_id, secret, **options)


@contextlib.contextmanager
def _regulator(settings: Settings, client: RegulatorClient | None):
    """The given client, or one made from the settings and closed afterwards."""
    if client is not None:
        yield client
        return
    own = regulator_client(settings)
    try:
        yield own
    finally:
        own.close()


def run_report(engine: Engine, settings: Settings, *, now: dt.datetime | None = None,
               client: RegulatorClient | None = None, progress: Progress | None = None) -> dict:
    """Close the period due now (if any) into the outbox, then send every pending report in period order."""
    with _regulator(settings, client) as client, job_lock(engine, REPORT_LOCK) as held:
        if not held:
            return dict(SKIPPED)
        built = build_report(engine, platform_id=client.platform_id, secret=settings.regulator_secret or "",
                             report_time=settings.report_time, now=now, progress=progress)
        deliveries = send_pending(engine, client, ensure_lock=held.ensure)
    return {"built": built.as_dict() if built else None, "deliveries": [d.as_dict() for d in deliveries],
            "undelivered": sum(d.status != "delivered" for d in deliveries)}


def run_filings_sync(engine: Engine, settings: Settings, *, client: RegulatorClient | None = None,
                     progress: Progress | None = None) -> dict:
    from gate.sync.filings_sync import sync_filings

    with _regulator(settings, client) as client, job_lock(engine, FILINGS_LOCK) as held:
        if not held:
            return dict(SKIPPED)
        return sync_filings(engine, client, settings=settings, ensure_lock=held.ensure, progress=progress)


def run_applications_sync(engine: Engine, settings: Settings, *, client: RegulatorClient | None = None) -> dict:
    """Send pending filing applications (their stored bytes under their key) and follow submitted ones."""
    from gate.pii import Sealer
    from gate.sync.applications import follow, send_pending

    with _regulator(settings, client) as client, job_lock(engine, APPLICATIONS_LOCK) as held:
        if not held:
            return dict(SKIPPED)
        sent = send_pending(engine, client, Sealer(settings.pii_key))
        held.ensure()
        return {"sent": sent, "followed": follow(engine, client)}


def purge_audit(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> dict:
    """Delete audit events older than the retention (never less than 60 days), and the bodies of delivered reports
    older than it (their receipts stay); in batches, so a large backlog does not make one huge transaction."""
    days = max(settings.audit_retention_days, MIN_AUDIT_RETENTION_DAYS)
    horizon = (now or utcnow()) - dt.timedelta(days=days)
    A, RO, B = table_of(AuditEvent), table_of(ReportOutbox), table_of(ReportBodyChunk)
    with job_lock(engine, PURGE_LOCK) as held:
        if not held:
            return dict(SKIPPED)
        events = 0
        while True:
            with engine.begin() as conn:
                ids = conn.execute(select(A.c.id).where(A.c.at < horizon).limit(PURGE_BATCH)).scalars().all()
                if ids:
                    conn.execute(delete(A).where(A.c.id.in_(ids)))
            events += len(ids)
            if len(ids) < PURGE_BATCH:
                break
        with engine.begin() as conn:
            old = conn.execute(select(RO.c.id).where(RO.c.status == "delivered", RO.c.delivered_at < horizon,
                                                     RO.c.body_purged_at.is_(None))).scalars().all()
            if old:
                conn.execute(delete(B).where(B.c.outbox_id.in_(old)))
                conn.execute(update(RO).where(RO.c.id.in_(old)).values(body_purged_at=utcnow()))
            record_event(conn, actor="scheduler", action="audit.purge", subject=None,
                         details={"older_than": horizon.isoformat(), "events": events, "report_bodies": len(old)})
    return {"retention_days": days, "audit_events_deleted": events, "report_bodies_deleted": len(old)}
