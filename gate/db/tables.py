"""The tables. Sized for 1,000,000 listed apps and 100,000 checks a day.

History is append-only: importing a changed filing adds a ``FilingVersion`` and moves ``Filing.current_version_id``;
nothing is overwritten, so every stored check can name the exact version it was decided on.

Hot queries and their indexes:
- decide: identities by (identifier, platform) joined to current versions -> ix_filing_identity_lookup;
- "which filings list this certificate": ix on each normalised digest (md5, sha1, sha256, public-key digest);
- by filing number: Filing.service_licence is unique; versions by (service_licence, version) unique;
- checks by package digest (idempotent re-checks) and by time (audits, reports).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core ``Table`` of a table model, typed: SQLAlchemy sets ``__table__`` on each ``table=True`` class, but
    sqlmodel's type stubs do not declare it, so every ``Model.__table__`` would be an attribute error to mypy."""
    table = model.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping, untyped
    if not isinstance(table, Table):  # a model without table=True has none; say so rather than return Any
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def as_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC. SQLite returns naive datetimes for timezone-aware columns; the gate stores UTC everywhere."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Filing(SQLModel, table=True):
    """One row per service filing number (服务备案号): the pointer to its current version."""

    __tablename__ = "filing"

    id: int | None = Field(default=None, primary_key=True)
    service_licence: str = Field(max_length=64, unique=True)
    main_licence: str = Field(max_length=64, index=True)
    # Unique index: lookups join identities of current versions through it (without it: a scan per lookup).
    current_version_id: int = Field(unique=True, index=True)
    version: int = Field(default=1)  # number of versions so far
    digest: str = Field(max_length=64)  # sha256 of the current version's canonical JSON
    status: str = Field(max_length=16)
    blacklisted: bool = Field(default=False)
    last_import_id: str | None = Field(default=None, max_length=36)  # detects a licence twice in one import
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # The source key (gate.filings.source_keys) of the record text the current version came from, when that text
    # validated without any problem; a re-import recognises the same text by it and skips validation.
    source_key: str | None = Field(default=None, max_length=32)


class FilingVersion(SQLModel, table=True):
    """An immutable version of a filing; ``record`` is its canonical JSON (gate.filings.records)."""

    __tablename__ = "filing_version"
    __table_args__ = (UniqueConstraint("service_licence", "version", name="uq_filing_version_licence_version"),)

    id: int | None = Field(default=None, primary_key=True)
    service_licence: str = Field(max_length=64)
    version: int
    digest: str = Field(max_length=64)
    service_type: str = Field(max_length=16)
    service_name: str
    unit_name: str = Field(index=True)
    status: str = Field(max_length=16)
    blacklisted: bool = Field(default=False)
    approved_at: str | None = Field(default=None, max_length=10)
    record: str = Field(sa_type=Text)
    import_id: str | None = Field(default=None, max_length=36)
    created_at: dt.datetime = Field(default_factory=utcnow)


class FilingIdentity(SQLModel, table=True):
    """A platform identity of one filing version, with normalised key material (indexed for lookups)."""

    __tablename__ = "filing_identity"
    __table_args__ = (
        Index("ix_filing_identity_lookup", "identifier", "platform"),
        Index("ix_filing_identity_md5", "signature_md5"),
        Index("ix_filing_identity_sha1", "signature_sha1"),
        Index("ix_filing_identity_sha256", "signature_sha256"),
        Index("ix_filing_identity_pk", "public_key_digest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="filing_version.id", index=True)
    platform: str = Field(max_length=16)
    identifier: str = Field(max_length=255)
    public_key: str | None = Field(default=None, sa_type=Text)
    public_key_digest: str | None = Field(default=None, max_length=64)
    signature_md5: str | None = Field(default=None, max_length=32)
    signature_sha1: str | None = Field(default=None, max_length=40)
    signature_sha256: str | None = Field(default=None, max_length=64)


class FilingDomain(SQLModel, table=True):
    """A filed domain or IP of one filing version."""

    __tablename__ = "filing_domain"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="filing_version.id", index=True)
    name: str = Field(max_length=253, index=True)


class Check(SQLModel, table=True):
    """One decision, with what is needed to reproduce it: the facts JSON, the filing version and the policy."""

    __tablename__ = "gate_check"

    id: int | None = Field(default=None, primary_key=True)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    path: str
    package_sha256: str | None = Field(default=None, max_length=64, index=True)
    package: str | None = Field(default=None, max_length=255, index=True)
    platform: str = Field(max_length=16)
    verdict: str = Field(max_length=8)
    reason_codes: str = Field(default="")  # space-separated, for filtering without parsing JSON
    facts: str = Field(sa_type=Text)
    facts_sha256: str = Field(max_length=64)
    filing_version_id: int | None = Field(default=None, foreign_key="filing_version.id")
    policy: str = Field(sa_type=Text)
    decision: str = Field(sa_type=Text)
    developer_entity: str | None = None
    gate_version: str = Field(max_length=32)
    category: str | None = None  # the store's category for the app (decision step 10), migration 0600
    # The unpacked build checked beside a packed package (gate.pairing), migration 0650: both digests are kept.
    unpacked_sha256: str | None = Field(default=None, max_length=64)
    # The shape of ``facts`` (gate.extract.facts.FACTS_SCHEMA), migration 0740; NULL: stored before it was recorded
    # (gate.extract.facts.stored_schema tells from the JSON itself).
    facts_schema: int | None = None


class DecisionDay(SQLModel, table=True):
    """How many decisions were stored per Beijing day, verdict and reason codes: the dashboard's chart and top
    reasons. Kept by gate.db.checks.record_check in the transaction that stores the decision (migration 0750), so
    the dashboard reads at most 14 days × a few hundred rows instead of grouping 1.4 M checks (docs/benchmarks.md)."""

    __tablename__ = "decision_day"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, Beijing time
    verdict: str = Field(primary_key=True, max_length=8)
    reason_codes: str = Field(primary_key=True, sa_type=Text)  # as gate_check.reason_codes
    checks: int = Field(default=0, sa_type=BigInteger)


class AuditEvent(SQLModel, table=True):
    """Append-only trail: who did what to which subject (imports, checks, schema upgrades)."""

    __tablename__ = "audit_event"
    # one actor's events newest first (the console's audit page): a backward walk of (actor, id); migration 0760
    __table_args__ = (Index("ix_audit_event_actor_id", "actor", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=255)  # client:<name> with a 128-character name fits
    action: str = Field(max_length=64, index=True)
    subject: str | None = Field(default=None, max_length=255, index=True)
    details: str = Field(default="{}", sa_type=Text)
