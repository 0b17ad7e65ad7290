"""The console's last pages over 200 ms at 6 M checks (issue #25; docs/benchmarks.md, run 5 of "Console at a store's
scale"):

- ``ix_audit_event_actor_id`` (``actor``, ``id``) replaces ``ix_audit_event_actor``: the audit page filtered by one
  actor is newest first, so with the id in the key it is a backward walk of that actor's entries that stops after
  a page, where the plain index left PostgreSQL reading and sorting all of a busy reviewer's events (534 ms).
- ``ix_service_check_review_reasons`` (PostgreSQL): GIN on the reason codes of the pending reviews only. One reason in
  the queue, sorted by package, read and split the codes of every pending review twice (the page and its count);
  now both start from the few thousand that carry the code.

Each is one index build (a minute or less at 6.9 M events; the table takes no writes meanwhile).

Revision ID: 0760_console_6m_rest
Revises: 0750_console_6m
"""

from __future__ import annotations

from alembic import op

revision = "0760_console_6m_rest"
down_revision = "0750_console_6m"
branch_labels = None
depends_on = None

REVIEW_PENDING = "verdict = 'review' AND status = 'done'"


def upgrade() -> None:
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor", "id"])
    op.drop_index("ix_audit_event_actor", table_name="audit_event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_service_check_review_reasons ON service_check "
                   f"USING gin (string_to_array(reason_codes, ' ')) WHERE {REVIEW_PENDING}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_service_check_review_reasons", table_name="service_check")
    op.create_index("ix_audit_event_actor", "audit_event", ["actor"])
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
