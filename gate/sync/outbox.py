"""Sending the report outbox: every pending report, oldest period first, under its stored Idempotency-Key.

The report was written (body, key) in the transaction that closed its period; here it is only ever *re-sent*.
Each attempt is recorded before the POST, the receipt after it, each in its own short transaction: the regulator
is never called inside a database transaction. A crash between the POST and recording the receipt leaves the row
pending; the next run sends the same bytes under the same key and the regulator answers with the receipt it
already issued (a replay), so the report is recorded once and never lost.

Reports go in period order and sending stops at the first failure: a later period must not reach the regulator
before an earlier one (it would look like a gap until the earlier one arrives).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine, Row

from gate.db.audit import record_event
from gate.db.sync_tables import ReportOutbox
from gate.db.tables import table_of, utcnow
from gate.sync import errors
from gate.sync.client import RegulatorClient
from gate.sync.errors import RegulatorError
from gate.sync.reports import body_chunks, iso

RO = table_of(ReportOutbox)
LOGGER = logging.getLogger("gate.sync.outbox")
ACTOR = "sync"
# Refusals that re-sending the same bytes can never cure: the report is marked rejected for the operator.
TERMINAL_REMOTE_CODES = frozenset({"report_invalid", "report_malformed", "platform_mismatch", "report_too_large",
                                   "idempotency_key_reused"})


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one outbox row."""

    outbox_id: int
    idempotency_key: str
    period_start: str
    period_end: str
    status: str  # delivered | pending | rejected
    receipt_id: str | None = None
    replayed: bool | None = None
    error: dict | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def pending_reports(engine: Engine, platform_id: str) -> Sequence[Row[*tuple[Any, ...]]]:
    with engine.connect() as conn:
        return conn.execute(select(RO.c.id, RO.c.idempotency_key, RO.c.period_start, RO.c.period_end, RO.c.signature)
                            .where(RO.c.platform_id == platform_id, RO.c.status == "pending")
                            .order_by(RO.c.period_end)).all()


def send_pending(engine: Engine, client: RegulatorClient, *, ensure_lock=lambda: None) -> list[Delivery]:
    """Send every pending report of ``client.platform_id``; stops at the first one that is not delivered.

    Must run under the report job lock (gate.sync.locks): one sender at a time; ``ensure_lock`` (HeldLock.ensure)
    stops the run before the next report once the lock is lost.
    """
    results = []
    for row in pending_reports(engine, client.platform_id):
        ensure_lock()
        result = send_one(engine, client, row)
        results.append(result)
        if result.status != "delivered":
            break
    return results


def send_one(engine: Engine, client: RegulatorClient, row) -> Delivery:
    base = dict(outbox_id=row.id, idempotency_key=row.idempotency_key, period_start=iso(row.period_start),
                period_end=iso(row.period_end))
    with engine.begin() as conn:
        conn.execute(update(RO).where(RO.c.id == row.id).values(attempts=RO.c.attempts + 1, last_attempt_at=utcnow()))
    try:
        receipt = _submit(engine, client, row)
    except RegulatorError as exc:
        terminal = exc.remote_code in TERMINAL_REMOTE_CODES
        status = "rejected" if terminal else "pending"
        with engine.begin() as conn:
            conn.execute(update(RO).where(RO.c.id == row.id).values(status=status,
                                                                  last_error=f"{exc.code}: {exc.message}"))
            # Every failed delivery is audited (the alert trail; /metrics counts undelivered reports): rejected
            # reports need a person, pending ones are retried every sync interval.
            record_event(conn, actor=ACTOR, action="report.rejected" if terminal else "report.delivery_failed",
                         subject=row.idempotency_key, details={**base, "error": exc.as_dict()})
        LOGGER.warning("report %s not delivered: %s", row.idempotency_key, exc.message)
        return Delivery(**base, status=status, error=exc.as_dict())
    with engine.begin() as conn:
        # Guarded: of two senders that overlapped (a lost lock), only the first records the delivery and its audit.
        recorded = conn.execute(update(RO).where(RO.c.id == row.id, RO.c.status == "pending").values(
            status="delivered", receipt_id=receipt.receipt_id, accepted_items=receipt.accepted_items,
            replayed=receipt.replayed, delivered_at=utcnow(), last_error=None)).rowcount
        if recorded:
            record_event(conn, actor=ACTOR, action="report.delivered", subject=row.idempotency_key,
                         details={**base, "receipt_id": receipt.receipt_id,
                                  "accepted_items": receipt.accepted_items, "replayed": receipt.replayed})
    return Delivery(**base, status="delivered", receipt_id=receipt.receipt_id, replayed=receipt.replayed)


def _submit(engine: Engine, client: RegulatorClient, row):
    body = lambda: body_chunks(engine, row.id)  # noqa: E731 (a fresh iterable per attempt)
    try:
        return client.submit_report(body, row.idempotency_key, signature=row.signature or None)
    except RegulatorError as exc:
        if exc.code != errors.REGULATOR_UNAUTHORIZED or exc.remote_code != "signature_invalid":
            raise
    # The signature stored at build time was made with a secret since rotated: let the client sign the same bytes
    # with the current one (one extra streaming pass).
    return client.submit_report(body, row.idempotency_key)


def report_status(engine: Engine, *, platform_id: str | None = None, limit: int = 20) -> list[dict]:
    """The newest outbox rows, newest first, for ``gate report status``."""
    query = select(RO).order_by(RO.c.period_end.desc()).limit(limit)
    if platform_id:
        query = query.where(RO.c.platform_id == platform_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        out.append({"id": r.id, "platform_id": r.platform_id, "period_start": iso(r.period_start),
                    "period_end": iso(r.period_end), "status": r.status, "idempotency_key": r.idempotency_key,
                    "events": r.events_count, "inventory": r.inventory_count, "unfiled_listed": r.unfiled_count,
                    "body_bytes": r.body_size, "attempts": r.attempts,
                    "last_attempt_at": iso(r.last_attempt_at) if r.last_attempt_at else None,
                    "receipt_id": r.receipt_id, "accepted_items": r.accepted_items, "replayed": r.replayed,
                    "delivered_at": iso(r.delivered_at) if r.delivered_at else None, "last_error": r.last_error})
    return out
