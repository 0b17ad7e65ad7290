"""A check keeps the store's category it was decided with (content approvals, decision step 10), so a replay
decides with the same input.

Revision ID: 0600_check_category
Revises: 0501_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600_check_category"
down_revision = "0501_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gate_check", sa.Column("category", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("gate_check", "category")
