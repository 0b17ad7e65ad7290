"""The checks list sorted by verdict: its keyset order is (coalesce(verdict, status), check_id) (gate.web.views_browse
CHECK_SORTS), which no index gave, so every page of that sort was a seq scan and an on-disk sort of every service
check (15 s at 6 M checks, docs/benchmarks.md); with this expression index the page is an index scan (1 ms).

Revision ID: 0720_checks_by_verdict
Revises: 0710_check_by_decision
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0720_checks_by_verdict"
down_revision = "0710_check_by_decision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_service_check_verdict_order", "service_check",
                    [sa.text("coalesce(verdict, status)"), "check_id"])


def downgrade() -> None:
    op.drop_index("ix_service_check_verdict_order", table_name="service_check")
