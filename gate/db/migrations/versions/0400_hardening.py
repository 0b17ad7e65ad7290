"""One live job per check, and audit actors wide enough for every client name.

- ``ux_job_live_check``: at most one queued or running job per check (a partial unique index). Two servers that
  receive the same upload at once both try to queue it; the index lets exactly one job exist, the other request
  joins it. Finished jobs (done, failed) are outside the index, so a failed check can be queued again.
- ``audit_event.actor`` grows from 128 to 255 characters: an actor is ``client:<name>`` and a client name may be
  128 characters long, so a long name made every audited action of that client fail on PostgreSQL.

Revision ID: 0400_hardening
Revises: 0300_event_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_hardening"
down_revision = "0300_event_reports"
branch_labels = None
depends_on = None

LIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    # Duplicates queued before the index existed: keep the oldest live job of each check, fail the others.
    op.execute("UPDATE job SET status = 'failed', last_error = 'duplicate job of the same check', lease_until = NULL "
               f"WHERE {LIVE} AND check_id IS NOT NULL AND id > (SELECT min(j2.id) FROM job j2 "
               "WHERE j2.check_id = job.check_id AND j2.status IN ('queued', 'running'))")
    op.create_index("ux_job_live_check", "job", ["check_id"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("actor", type_=sa.String(255), existing_type=sa.String(128), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("actor", type_=sa.String(128), existing_type=sa.String(255), existing_nullable=False)
    op.drop_index("ux_job_live_check", table_name="job")
