"""The audit page filtered by actor (gate.web.views_audit): ``actor`` had no index, so the first page of one actor's
events read the whole trail (1.7 s at 6.9 M events, docs/benchmarks.md); ``action`` and ``subject`` already had one.

Revision ID: 0730_audit_by_actor
Revises: 0720_checks_by_verdict
"""

from __future__ import annotations

from alembic import op

revision = "0730_audit_by_actor"
down_revision = "0720_checks_by_verdict"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_actor", "audit_event", ["actor"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor", table_name="audit_event")
