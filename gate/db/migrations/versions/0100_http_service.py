"""HTTP service: API clients, service checks, job queue, callback deliveries, listing events and listings.

Revision ID: 0100_http_service
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_http_service"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("webhook_secret", sa.String(128), nullable=False),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "service_check",
        sa.Column("check_id", sa.String(40), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("api_client.id"), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("gate_check_id", sa.Integer(), sa.ForeignKey("gate_check.id"), nullable=True),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_service_check_package_sha256", "service_check", ["package_sha256"])
    op.create_index("ix_service_check_client_created", "service_check", ["client_id", "created_at"])
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("check_id", sa.String(40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_job_claim", "job", ["status", "available_at"])
    op.create_index("ix_job_check_id", "job", ["check_id"])
    op.create_table(
        "callback_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("api_client.id"), nullable=False),
        sa.Column("check_id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
    )
    op.create_index("ix_callback_due", "callback_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_callback_delivery_check_id", "callback_delivery", ["check_id"])
    op.create_table(
        "listing_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("api_client.id"), nullable=False),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("version_code", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_listing_event_client_at", "listing_event", ["client_id", "at"])
    op.create_table(
        "listing",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("api_client.id"), primary_key=True),
        sa.Column("package", sa.String(255), primary_key=True),
        sa.Column("version_code", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("listed_since", TS, nullable=True),
        sa.Column("last_event_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_listing_client_status", "listing", ["client_id", "status"])


def downgrade() -> None:
    for table in ("listing", "listing_event", "callback_delivery", "job", "service_check", "api_client"):
        op.drop_table(table)
