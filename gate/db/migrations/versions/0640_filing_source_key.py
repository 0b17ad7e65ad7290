"""A filing remembers the source key of the record text its current version came from (gate.filings.source_keys).

Revision ID: 0640_filing_source_key
Revises: 0630_listing_platform
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0640_filing_source_key"
down_revision = "0630_listing_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("filing") as batch:
        batch.add_column(sa.Column("source_key", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing") as batch:
        batch.drop_column("source_key")
