"""The audit page filtered by one actor at 6.9 M events (issue #25; docs/benchmarks.md, run 5 of "Console at a
store's scale"): ``ix_audit_event_actor_id`` (``actor``, ``id``) replaces ``ix_audit_event_actor``. The page is
newest first, so with the id in the key it is a backward walk of that actor's entries that stops after a page, where
the plain index left PostgreSQL reading and sorting all of a busy reviewer's events (534 ms). One index build: 51 s
at 6.9 M events on a loaded 2-core VM, during which audit events (and so checks) wait.

Revision ID: 0760_audit_actor_id
Revises: 0750_console_6m
"""

from __future__ import annotations

from alembic import op

revision = "0760_audit_actor_id"
down_revision = "0750_console_6m"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor", "id"])
    op.drop_index("ix_audit_event_actor", table_name="audit_event")


def downgrade() -> None:
    op.create_index("ix_audit_event_actor", "audit_event", ["actor"])
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
