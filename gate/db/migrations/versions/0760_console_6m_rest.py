"""The console's last pages over 200 ms at 6 M checks (issue #25; docs/benchmarks.md, runs 5 and 6 of "Console at a
store's scale"):

- ``ix_audit_event_actor_id`` (``actor``, ``id``) replaces ``ix_audit_event_actor``. The audit page filtered by one
  actor is newest first, so with the id in the key it is a backward walk of that actor's entries that stops after a
  page, where the plain index left PostgreSQL reading and sorting all of a busy reviewer's events (534 ms).
- ``ix_service_check_review_queue`` also includes ``filename`` (PostgreSQL). The queue sorted by package (with a
  reason filter: 15,395 of 38,865 pending reviews) read every matching row's heap page for the one column the index
  lacked (17,322 pages, 265 ms); with it the sort reads the index alone.

Each is one index build (the queue's reads the table once for its partial predicate), during which its table takes
no writes: 24.5 s for both at 6 M checks and 6.9 M audit events on the 2-core VM.

Revision ID: 0760_console_6m_rest
Revises: 0750_console_6m
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0760_console_6m_rest"
down_revision = "0750_console_6m"
branch_labels = None
depends_on = None

REVIEW_PENDING = "verdict = 'review' AND status = 'done'"


def _queue_index(include: list[str]) -> None:
    op.drop_index("ix_service_check_review_queue", table_name="service_check")
    op.create_index("ix_service_check_review_queue", "service_check", ["created_at", "check_id"],
                    postgresql_include=include,
                    postgresql_where=sa.text(REVIEW_PENDING), sqlite_where=sa.text(REVIEW_PENDING))


def upgrade() -> None:
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor", "id"])
    op.drop_index("ix_audit_event_actor", table_name="audit_event")
    if op.get_bind().dialect.name == "postgresql":  # SQLite indexes include no extra columns
        _queue_index(["client_id", "package", "reason_codes", "filename"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _queue_index(["client_id", "package", "reason_codes"])
    op.create_index("ix_audit_event_actor", "audit_event", ["actor"])
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
