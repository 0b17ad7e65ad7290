"""Join the two branches that both followed 0300_event_reports (0400_hardening and 0500_console were written in
parallel); neither changes the other's tables, so the merge itself changes nothing.

Revision ID: 0501_merge
Revises: 0400_hardening, 0500_console
"""

from __future__ import annotations

revision = "0501_merge"
down_revision = ("0400_hardening", "0500_console")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
