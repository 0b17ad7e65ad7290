"""Tables of the regulator sync: the report outbox (with its body in compressed chunks), the feed cursor, and the
re-evaluations a filings sync still owes.

Why the report body lives in the database: several stateless gate instances share only the database
(docs/deploy.md "Scaling"), so whichever instance holds the job lock after a crash must be able to re-send *the same bytes* under the
same Idempotency-Key. A body on one machine's disk would be lost with that machine. Chunks are zlib-compressed
(report JSON compresses about tenfold) and read one at a time, so neither building nor sending holds a report in
memory.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from gate.db.tables import utcnow


class ReportOutbox(SQLModel, table=True):
    """A distribution report (分发应用报送), written in the transaction that closes its period; sent afterwards.

    ``(platform_id, period_start)`` and ``(platform_id, period_end)`` are unique: a period can be closed once, so two
    builders racing (a lock failure) meet on a constraint instead of producing overlapping reports.
    """

    __tablename__ = "report_outbox"
    __table_args__ = (
        UniqueConstraint("platform_id", "period_start", name="uq_report_outbox_start"),
        UniqueConstraint("platform_id", "period_end", name="uq_report_outbox_end"),
        Index("ix_report_outbox_status", "status", "period_end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform_id: str = Field(max_length=128)
    period_start: dt.datetime
    period_end: dt.datetime
    idempotency_key: str = Field(max_length=255, unique=True)
    status: str = Field(max_length=16)  # pending | delivered | rejected
    generated_at: dt.datetime = Field(default_factory=utcnow)
    # When the report's snapshot of the events was taken (= generated_at since 0300: the events a report carried are
    # marked in listing_event.report_id instead of being chosen by arrival time).
    events_cutoff: dt.datetime
    events_count: int = Field(default=0)
    inventory_count: int = Field(default=0)
    unfiled_count: int = Field(default=0)  # listed apps without a filing: not reportable, shown by `report status`
    body_size: int = Field(default=0, sa_type=BigInteger)
    body_sha256: str = Field(default="", max_length=64)
    signature: str = Field(default="", max_length=64)
    attempts: int = Field(default=0)
    last_attempt_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    receipt_id: str | None = Field(default=None, max_length=255)
    accepted_items: int | None = None
    replayed: bool | None = None
    delivered_at: dt.datetime | None = None
    body_purged_at: dt.datetime | None = None


class ReportBodyChunk(SQLModel, table=True):
    """One zlib-compressed piece of a report body, in order; the body is the concatenation of the inflated chunks."""

    __tablename__ = "report_body_chunk"

    outbox_id: int = Field(foreign_key="report_outbox.id", primary_key=True)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)


class SyncCursor(SQLModel, table=True):
    """Where a feed was read up to (the regulator's opaque ``next_cursor``), per feed name."""

    __tablename__ = "sync_cursor"

    name: str = Field(primary_key=True, max_length=255)
    cursor: str = Field(sa_type=Text)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class FilingReevaluation(SQLModel, table=True):
    """A changed filing whose listed apps still need a new decision (written with the feed page that changed it)."""

    __tablename__ = "filing_reevaluation"
    __table_args__ = (Index("ix_filing_reevaluation_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    service_licence: str = Field(max_length=64)
    version_id: int  # the filing version that triggered it
    status: str = Field(max_length=16)  # pending | done
    created_at: dt.datetime = Field(default_factory=utcnow)
    done_at: dt.datetime | None = None
    outcome: str | None = Field(default=None, sa_type=Text)  # JSON summary: apps re-decided, notices queued
