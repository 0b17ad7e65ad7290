"""Regulator sync: report outbox and body chunks, feed cursors, pending filing re-evaluations.

Revision ID: 0200_sync
Revises: 0100_http_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_sync"
down_revision = "0100_http_service"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform_id", sa.String(128), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("generated_at", TS, nullable=False),
        sa.Column("events_cutoff", TS, nullable=False),
        sa.Column("events_count", sa.Integer(), nullable=False),
        sa.Column("inventory_count", sa.Integer(), nullable=False),
        sa.Column("unfiled_count", sa.Integer(), nullable=False),
        sa.Column("body_size", sa.BigInteger(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt_id", sa.String(255), nullable=True),
        sa.Column("accepted_items", sa.Integer(), nullable=True),
        sa.Column("replayed", sa.Boolean(), nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("body_purged_at", TS, nullable=True),
        sa.UniqueConstraint("platform_id", "period_start", name="uq_report_outbox_start"),
        sa.UniqueConstraint("platform_id", "period_end", name="uq_report_outbox_end"),
    )
    op.create_index("ix_report_outbox_status", "report_outbox", ["status", "period_end"])
    op.create_table(
        "report_body_chunk",
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("report_outbox.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "filing_reevaluation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_licence", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
    )
    op.create_index("ix_filing_reevaluation_status", "filing_reevaluation", ["status", "id"])
    # Late listing events are found by arrival time (gate.sync.reports); without this a report scans the log.
    op.create_index("ix_listing_event_received_at", "listing_event", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_listing_event_received_at", table_name="listing_event")
    op.drop_index("ix_filing_reevaluation_status", table_name="filing_reevaluation")
    op.drop_table("filing_reevaluation")
    op.drop_table("sync_cursor")
    op.drop_table("report_body_chunk")
    op.drop_index("ix_report_outbox_status", table_name="report_outbox")
    op.drop_table("report_outbox")
