"""A check keeps the digest of the unpacked build checked beside a packed package (加固), beside the package's own.

Revision ID: 0650_check_unpacked
Revises: 0640_filing_source_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0650_check_unpacked"
down_revision = "0640_filing_source_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gate_check", sa.Column("unpacked_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("gate_check", "unpacked_sha256")
