"""Tables of the HTTP service: API clients, service checks (the public ``check_id``), the job queue, callback
deliveries, and each store's listing inventory (events + current state).

Sizing (the scale the gate is planned for, docs/deploy.md): 1,000,000 listed apps per store client and 100,000 checks a day.
- ``listing`` is keyed (client_id, package) — one row per app a store distributes; the regulator report reads it by
  client in primary-key order, and an upsert batch finds its rows with one IN query on that key.
- ``listing_event`` is append-only, read by (client_id, at) for a report period.
- ``job`` is claimed by (status, available_at); a running job's ``lease_until`` lets another worker retake it.
- ``callback_delivery`` is polled by (status, next_attempt_at).
- ``service_check.check_id`` is derived from the client, the package SHA-256 and the metadata that influences the
  decision, so the same upload gives the same id (idempotent) without a lookup race: the primary key settles it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Text, text
from sqlmodel import Field, SQLModel

from gate.db.tables import utcnow

JOB_LIVE = "status IN ('queued', 'running')"
# A check waiting for a person (the console's review queue); the queue's queries use the same literals so that
# PostgreSQL can prove its partial index applies (gate.web.views_reviews).
REVIEW_PENDING = "verdict = 'review' AND status = 'done'"


class ApiClient(SQLModel, table=True):
    """A caller of the HTTP API: an app store, a device maker (oem), a developer, or an admin.

    The API key is ``gk_<key_id>_<secret>``; only SHA-256 of the whole key is stored, found by ``key_id``. The webhook
    secret must be kept usable (HMAC needs it), so it is stored as issued: protect the database accordingly.
    """

    __tablename__ = "api_client"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    role: str = Field(max_length=16)
    key_id: str = Field(max_length=32, unique=True)
    key_sha256: str = Field(max_length=64)
    webhook_secret: str = Field(max_length=128)
    callback_url: str | None = Field(default=None, max_length=2048)
    disabled: bool = Field(default=False)
    created_at: dt.datetime = Field(default_factory=utcnow)


class ServiceCheck(SQLModel, table=True):
    """A check requested over HTTP: its public id, its state, and the stored decision (gate_check) once done."""

    __tablename__ = "service_check"
    __table_args__ = (Index("ix_service_check_client_created", "client_id", "created_at"),
                      # the console's review queue: checks by verdict, oldest first (migration 0500)
                      Index("ix_service_check_verdict_created", "verdict", "created_at"),
                      Index("ix_service_check_created", "created_at", "check_id"),
                      Index("ix_service_check_gate_check", "gate_check_id"),  # the console's package filter
                      # the checks list sorted by verdict: its keyset order, as paging compares it (migration 0720)
                      Index("ix_service_check_verdict_order", text("coalesce(verdict, status)"), "check_id"),
                      # migration 0750: the checks list sorted by package, and filtered by package (whole name, or a
                      # prefix: text_pattern_ops answers LIKE 'prefix%' in any collation) newest first
                      Index("ix_service_check_package_order", "package", "check_id"),
                      Index("ix_service_check_package_created", "package", "created_at", "check_id",
                            postgresql_ops={"package": "text_pattern_ops"}),
                      # one reason code, `string_to_array(reason_codes, ' ') @> ARRAY[code]` (gate.web.check_filters);
                      # PostgreSQL only (SQLite has no arrays and scans)
                      Index("ix_service_check_reasons", text("string_to_array(reason_codes, ' ')"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),
                      # the review queue: its pages, filters and counts without the other 6 M checks, every
                      # column the queue shows included, so no sort or filter of it visits the table (0750, 0760)
                      Index("ix_service_check_review_queue", "created_at", "check_id",
                            postgresql_include=["client_id", "package", "reason_codes", "filename"],
                            postgresql_where=text(REVIEW_PENDING), sqlite_where=text(REVIEW_PENDING)))

    check_id: str = Field(primary_key=True, max_length=40)
    client_id: int = Field(foreign_key="api_client.id")
    package_sha256: str = Field(max_length=64, index=True)
    size: int = Field(sa_type=BigInteger)
    filename: str = Field(max_length=255)
    status: str = Field(max_length=16)  # queued | done | failed
    gate_check_id: int | None = Field(default=None, foreign_key="gate_check.id")
    verdict: str | None = Field(default=None, max_length=8)
    # Copied from the decision (gate_check) when the check is decided (gate.db.checks.decided), so the console
    # sorts and filters service_check alone; '' until then (migration 0750).
    package: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})
    reason_codes: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    metadata_json: str = Field(default="{}", sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """Queued work (a package check) held in the database until a worker finishes it."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_claim", "status", "available_at"),
        # One live job per check: two servers queueing the same upload at once meet here (gate.services.checks).
        Index("ux_job_live_check", "check_id", unique=True, sqlite_where=text(JOB_LIVE),
              postgresql_where=text(JOB_LIVE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    check_id: str | None = Field(default=None, max_length=40, index=True)
    payload: str = Field(default="{}", sa_type=Text)  # spool path, filename, metadata
    status: str = Field(max_length=16)  # queued | running | done | failed
    attempts: int = Field(default=0)
    available_at: dt.datetime = Field(default_factory=utcnow)
    lease_until: dt.datetime | None = None
    worker: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None


class CallbackDelivery(SQLModel, table=True):
    """A signed callback owed to a store, retried with backoff until it answers 2xx."""

    __tablename__ = "callback_delivery"
    __table_args__ = (Index("ix_callback_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_client.id")
    check_id: str = Field(max_length=40, index=True)
    url: str = Field(max_length=2048)
    body: str = Field(sa_type=Text)
    status: str = Field(max_length=16)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)
    delivered_at: dt.datetime | None = None
    # The current claim: which worker process holds the attempt, and a token only that attempt knows (migration 0620).
    claimed_by: str | None = Field(default=None, max_length=128)
    claim_token: str | None = Field(default=None, max_length=32)


class ListingEvent(SQLModel, table=True):
    """A store listed or delisted an app (上架/下架), as the store reported it; append-only."""

    __tablename__ = "listing_event"
    __table_args__ = (Index("ix_listing_event_client_at", "client_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_client.id")
    package: str = Field(max_length=255)
    version_code: int | None = Field(default=None, sa_type=BigInteger)  # versionCodeMajor makes it 64-bit
    action: str = Field(max_length=16)  # listed | delisted
    # android | ios | harmony | quickapp | miniprogram: where `package` is an identifier (0630_listing_platform).
    platform: str = Field(default="android", max_length=16, sa_column_kwargs={"server_default": "android"})
    at: dt.datetime
    received_at: dt.datetime = Field(default_factory=utcnow)
    # The distribution report that carried this event (report_outbox.id); NULL until one does (gate.sync.reports).
    report_id: int | None = Field(default=None, index=True)
    # SHA-256 of (client, package, action, at, version_code): a store re-sending a batch (a retry after a timeout)
    # records nothing twice, so no event reaches the regulator twice (gate.services.listings).
    event_key: str | None = Field(default=None, max_length=64, unique=True, index=True)


class Listing(SQLModel, table=True):
    """What a store distributes now: one row per (store client, package), moved by the newest event."""

    __tablename__ = "listing"
    __table_args__ = (Index("ix_listing_client_status", "client_id", "status"),)

    client_id: int = Field(foreign_key="api_client.id", primary_key=True)
    package: str = Field(max_length=255, primary_key=True)
    version_code: int | None = Field(default=None, sa_type=BigInteger)  # versionCodeMajor makes it 64-bit
    status: str = Field(max_length=16)  # listed | delisted
    platform: str = Field(default="android", max_length=16, sa_column_kwargs={"server_default": "android"})
    listed_since: dt.datetime | None = None
    last_event_at: dt.datetime
    updated_at: dt.datetime = Field(default_factory=utcnow)
