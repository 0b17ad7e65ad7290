"""Listings and listing events name their platform (a mini program's AppID or a quick app beside Android packages),
so the distribution report says what each listed item is and finds its filing on that platform.

Revision ID: 0630_listing_platform
Revises: 0620_callback_claim
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0630_listing_platform"
down_revision = "0620_callback_claim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every listing so far is an Android package: the default says so, and no row needs rewriting.
    for table in ("listing_event", "listing"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("platform", sa.String(16), nullable=False, server_default="android"))


def downgrade() -> None:
    for table in ("listing", "listing_event"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("platform")
