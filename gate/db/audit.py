"""The audit trail: append-only events written in the same transaction as the change they describe."""

from __future__ import annotations

import json

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from gate.db.tables import AuditEvent, table_of, utcnow

AE = table_of(AuditEvent)
_INSERT_EVENT = insert(AE)  # built once: every audited change runs it
HISTORY_ROWS = 20  # the newest events an object's page shows


def record_event(conn: Connection, *, actor: str, action: str, subject: str | None, details: dict) -> None:
    conn.execute(_INSERT_EVENT, {
        "at": utcnow(), "actor": actor, "action": action, "subject": subject,
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)})


def history(conn, *subjects: str) -> list:
    """The newest events of an object (its id, package or filing number), for the history section of its page."""
    wanted = [s for s in subjects if s]
    if not wanted:
        return []
    return conn.execute(select(AE.c.id, AE.c.at, AE.c.actor, AE.c.action, AE.c.subject, AE.c.details)
                        .where(AE.c.subject.in_(wanted)).order_by(AE.c.id.desc()).limit(HISTORY_ROWS)).all()
