"""The audit trail: append-only events written in the same transaction as the change they describe."""

from __future__ import annotations

import json

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from gate.db.tables import AuditEvent, utcnow

_INSERT_EVENT = insert(AuditEvent.__table__)  # built once: every audited change runs it


def record_event(conn: Connection, *, actor: str, action: str, subject: str | None, details: dict) -> None:
    conn.execute(_INSERT_EVENT, {
        "at": utcnow(), "actor": actor, "action": action, "subject": subject,
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)})
