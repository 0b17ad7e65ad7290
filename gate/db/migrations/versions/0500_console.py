"""Staff console and exemptions: staff users and sessions, review outcomes, the exemption register.

Revision ID: 0500_console
Revises: 0300_event_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500_console"
down_revision = "0300_event_reports"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
    )
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
    )
    op.create_index("ix_staff_session_user_id", "staff_session", ["user_id"])
    op.create_table(
        "check_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("check_id", sa.String(40), nullable=False),
        sa.Column("gate_check_id", sa.Integer(), sa.ForeignKey("gate_check.id"), nullable=False),
        sa.Column("result_gate_check_id", sa.Integer(), sa.ForeignKey("gate_check.id"), nullable=True),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("package", sa.String(255), nullable=True),
        sa.Column("signers", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_check_review_check_id", "check_review", ["check_id"])
    op.create_index("ix_check_review_package_sha256", "check_review", ["package_sha256"])
    op.create_index("ix_check_review_at", "check_review", ["at"])
    op.create_table(
        "exemption",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("package", sa.String(255), nullable=False),
        sa.Column("cert_sha256", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("reason_category", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_exemption_identity", "exemption", ["package", "cert_sha256"])
    # The review queue reads checks by verdict, oldest first.
    op.create_index("ix_service_check_verdict_created", "service_check", ["verdict", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_service_check_verdict_created", table_name="service_check")
    op.drop_table("exemption")
    op.drop_table("check_review")
    op.drop_table("staff_session")
    op.drop_table("staff_user")
