"""Listing events remember the report that carried them, so none is lost or sent twice whatever their commit order,
and carry a key that makes a store's re-sent batch record nothing twice.

Revision ID: 0300_event_reports
Revises: 0200_sync
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_event_reports"
down_revision = "0200_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("listing_event", sa.Column("report_id", sa.Integer(), nullable=True))
    op.create_index("ix_listing_event_report_id", "listing_event", ["report_id"])
    op.add_column("listing_event", sa.Column("event_key", sa.String(64), nullable=True))
    op.create_index("ix_listing_event_event_key", "listing_event", ["event_key"], unique=True)
    op.drop_index("ix_listing_event_received_at", table_name="listing_event")  # reports no longer select by arrival
    # Events that earlier reports already carried (everything received before the newest report's cutoff) are
    # marked as carried by it, so the first report under the new rule does not send them again.
    op.execute("UPDATE listing_event SET report_id = (SELECT max(id) FROM report_outbox) "
               "WHERE received_at < (SELECT max(events_cutoff) FROM report_outbox)")


def downgrade() -> None:
    op.drop_index("ix_listing_event_event_key", table_name="listing_event")
    op.drop_column("listing_event", "event_key")
    op.create_index("ix_listing_event_received_at", "listing_event", ["received_at"])
    op.drop_index("ix_listing_event_report_id", table_name="listing_event")
    op.drop_column("listing_event", "report_id")
