"""A callback delivery's claim names its owner and carries a token (gate.services.callbacks).

Revision ID: 0620_callback_claim
Revises: 0610_filing_applications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0620_callback_claim"
down_revision = "0610_filing_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_delivery") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callback_delivery") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("claimed_by")
