"""The console at 6 M checks (issue #25): the package and reason codes kept on service_check, the review queue's
partial index, and the per-day decision counts of the dashboard (docs/benchmarks.md, "the console's remaining
misses").

- ``service_check.package`` / ``reason_codes``: copied from the check's decision (gate_check) when it is decided
  (gate.db.checks.decided). The checks list sorted by package joined both tables and sorted 6 M joined rows
  (19 s a page); on service_check alone ``(package, check_id)`` gives the order. Backfilled here in batches of
  gate_check ids, each an indexed range of both tables, so no step holds 6 M rows at once.
- ``ix_service_check_package_created`` (``text_pattern_ops`` on PostgreSQL): a whole package name, or a prefix
  (``LIKE 'com.example%'``), newest first.
- ``ix_service_check_reasons`` (PostgreSQL, GIN on ``string_to_array(reason_codes, ' ')``): one reason code with
  ``@>`` (23 s a page before: a substring match over the 11 GB gate_check heap). SQLite matches the whole code
  by scanning, which is correct and fine at its sizes.
- ``ix_service_check_review_queue``: the pending reviews only (tens of thousands of 6 M rows), covering the
  queue's filters on PostgreSQL, so its counts read the small index and not the table.
- ``decision_day``: decisions per Beijing day, verdict and reason codes, kept by record_check; backfilled with one
  grouped read of gate_check.

Revision ID: 0750_console_6m
Revises: 0740_check_facts_schema
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0750_console_6m"
down_revision = "0740_check_facts_schema"
branch_labels = None
depends_on = None

BATCH = 200_000  # gate_check ids per backfill statement
REVIEW_PENDING = "verdict = 'review' AND status = 'done'"


def _backfill_service_checks(conn) -> None:
    low, high = conn.execute(sa.text("SELECT min(gate_check_id), max(gate_check_id) FROM service_check")).one()
    if low is None:
        return
    if conn.dialect.name == "postgresql":
        statement = ("UPDATE service_check s SET package = coalesce(g.package, ''), "
                     "reason_codes = coalesce(g.reason_codes, '') FROM gate_check g "
                     "WHERE g.id = s.gate_check_id AND s.gate_check_id >= :start AND s.gate_check_id < :end "
                     "AND g.id >= :start AND g.id < :end")
    else:  # SQLite before 3.33 has no UPDATE … FROM
        statement = ("UPDATE service_check SET "
                     "package = coalesce((SELECT g.package FROM gate_check g "
                     "                    WHERE g.id = service_check.gate_check_id), ''), "
                     "reason_codes = coalesce((SELECT g.reason_codes FROM gate_check g "
                     "                         WHERE g.id = service_check.gate_check_id), '') "
                     "WHERE gate_check_id >= :start AND gate_check_id < :end")
    for start in range(low, high + 1, BATCH):
        # Each batch is a range of ix_service_check_gate_check and of gate_check's primary key.
        conn.execute(sa.text(statement), {"start": start, "end": start + BATCH})


def _beijing_day(dialect: str) -> str:
    if dialect == "postgresql":  # created_at is timestamptz
        return "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
    return "date(created_at, '+8 hours')"  # SQLite keeps naive UTC text; China has no daylight saving


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    with op.batch_alter_table("service_check") as batch:
        batch.add_column(sa.Column("package", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("reason_codes", sa.Text(), nullable=False, server_default=""))
    _backfill_service_checks(conn)
    # Built after the backfill: each is one sort of the table instead of 6 M index updates.
    op.create_index("ix_service_check_package_order", "service_check", ["package", "check_id"])
    op.create_index("ix_service_check_package_created", "service_check", ["package", "created_at", "check_id"],
                    postgresql_ops={"package": "text_pattern_ops"})
    op.create_index("ix_service_check_review_queue", "service_check", ["created_at", "check_id"],
                    postgresql_include=["client_id", "package", "reason_codes"],
                    postgresql_where=sa.text(REVIEW_PENDING), sqlite_where=sa.text(REVIEW_PENDING))
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_service_check_reasons ON service_check "
                   "USING gin (string_to_array(reason_codes, ' '))")

    op.create_table(
        "decision_day",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("verdict", sa.String(8), primary_key=True),
        sa.Column("reason_codes", sa.Text(), primary_key=True),
        sa.Column("checks", sa.BigInteger(), nullable=False),
    )
    op.execute(f"INSERT INTO decision_day (day, verdict, reason_codes, checks) "
               f"SELECT {_beijing_day(dialect)}, verdict, coalesce(reason_codes, ''), count(*) FROM gate_check "
               f"GROUP BY 1, 2, 3")
    if dialect == "postgresql":
        # Statistics of the new columns and of the GIN expression, so the planner picks the new indexes at once
        # (sampled: seconds at 6 M rows). The backfill's dead row versions are left to autovacuum; until it runs,
        # index-only scans of service_check visit the table (docs/benchmarks.md).
        op.execute("ANALYZE service_check")


def downgrade() -> None:
    op.drop_table("decision_day")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_service_check_reasons", table_name="service_check")
    op.drop_index("ix_service_check_review_queue", table_name="service_check")
    op.drop_index("ix_service_check_package_created", table_name="service_check")
    op.drop_index("ix_service_check_package_order", table_name="service_check")
    with op.batch_alter_table("service_check") as batch:
        batch.drop_column("reason_codes")
        batch.drop_column("package")
