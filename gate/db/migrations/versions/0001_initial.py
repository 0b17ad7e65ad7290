"""Initial schema: filings with append-only versions, identities, domains, checks, audit trail.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filing_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_licence", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("service_type", sa.String(16), nullable=False),
        sa.Column("service_name", sa.String(), nullable=False),
        sa.Column("unit_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("blacklisted", sa.Boolean(), nullable=False),
        sa.Column("approved_at", sa.String(10), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("import_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("service_licence", "version", name="uq_filing_version_licence_version"),
    )
    op.create_index("ix_filing_version_unit_name", "filing_version", ["unit_name"])

    op.create_table(
        "filing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_licence", sa.String(64), nullable=False, unique=True),
        sa.Column("main_licence", sa.String(64), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("blacklisted", sa.Boolean(), nullable=False),
        sa.Column("last_import_id", sa.String(36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_filing_main_licence", "filing", ["main_licence"])
    op.create_index("ix_filing_current_version_id", "filing", ["current_version_id"], unique=True)

    op.create_table(
        "filing_identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("filing_version.id"), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("public_key_digest", sa.String(64), nullable=True),
        sa.Column("signature_md5", sa.String(32), nullable=True),
        sa.Column("signature_sha1", sa.String(40), nullable=True),
        sa.Column("signature_sha256", sa.String(64), nullable=True),
    )
    op.create_index("ix_filing_identity_version_id", "filing_identity", ["version_id"])
    op.create_index("ix_filing_identity_lookup", "filing_identity", ["identifier", "platform"])
    op.create_index("ix_filing_identity_md5", "filing_identity", ["signature_md5"])
    op.create_index("ix_filing_identity_sha1", "filing_identity", ["signature_sha1"])
    op.create_index("ix_filing_identity_sha256", "filing_identity", ["signature_sha256"])
    op.create_index("ix_filing_identity_pk", "filing_identity", ["public_key_digest"])

    op.create_table(
        "filing_domain",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("filing_version.id"), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
    )
    op.create_index("ix_filing_domain_version_id", "filing_domain", ["version_id"])
    op.create_index("ix_filing_domain_name", "filing_domain", ["name"])

    op.create_table(
        "gate_check",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=True),
        sa.Column("package", sa.String(255), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("reason_codes", sa.String(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("facts_sha256", sa.String(64), nullable=False),
        sa.Column("filing_version_id", sa.Integer(), sa.ForeignKey("filing_version.id"), nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("developer_entity", sa.String(), nullable=True),
        sa.Column("gate_version", sa.String(32), nullable=False),
    )
    op.create_index("ix_gate_check_created_at", "gate_check", ["created_at"])
    op.create_index("ix_gate_check_package_sha256", "gate_check", ["package_sha256"])
    op.create_index("ix_gate_check_package", "gate_check", ["package"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.create_index("ix_audit_event_subject", "audit_event", ["subject"])


def downgrade() -> None:
    for table in ("audit_event", "gate_check", "filing_domain", "filing_identity", "filing", "filing_version"):
        op.drop_table(table)
