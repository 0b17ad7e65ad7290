"""Filing applications made through the platform (代为备案), their current round sealed (gate.pii).

Revision ID: 0610_filing_applications
Revises: 0600_check_category
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0610_filing_applications"
down_revision = "0600_check_category"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filing_application",
        sa.Column("application_id", sa.String(40), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("api_client.id"), nullable=False),
        sa.Column("check_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("service_name", sa.String(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("body_sealed", sa.Text(), nullable=False),
        sa.Column("regulator_id", sa.String(64), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("service_licence", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_filing_application_client", "filing_application", ["client_id", "created_at"])
    op.create_index("ix_filing_application_status", "filing_application", ["status"])
    op.create_index("ix_filing_application_identifier", "filing_application", ["identifier"])


def downgrade() -> None:
    op.drop_table("filing_application")
