"""The console at a store's scale: review claims, kept pre-check results, and the index the checks list pages on.

Revision ID: 0700_console_scale
Revises: 0650_check_unpacked
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700_console_scale"
down_revision = "0650_check_unpacked"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_claim",
        sa.Column("check_id", sa.String(40), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "precheck_result",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("owner_sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_precheck_result_expires_at", "precheck_result", ["expires_at"])
    # The checks list pages newest first on (created_at, check_id) (gate.web.paging).
    op.create_index("ix_service_check_created", "service_check", ["created_at", "check_id"])


def downgrade() -> None:
    op.drop_index("ix_service_check_created", table_name="service_check")
    op.drop_index("ix_precheck_result_expires_at", table_name="precheck_result")
    op.drop_table("precheck_result")
    op.drop_table("review_claim")
