"""Tables of the staff console (gate.web) and of exemptions: staff users, their sessions, review outcomes, and the
exemption register. API clients (gate.db.service_tables) are machines; staff users are people — different
tables, different credentials.

Sizing: a few hundred staff users; sessions are looked up by the SHA-256 of their token (unique); reviews by the
service check they decide; exemptions by (package, cert_sha256) — a preinstall scan of an image looks up its few
hundred packages in batches of IN queries on ix_exemption_identity.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from gate.db.tables import utcnow


class StaffUser(SQLModel, table=True):
    """A person who signs in to the console: viewer (reads), reviewer (+ approves/rejects), admin (+ everything)."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # viewer | reviewer | admin
    password_hash: str = Field(max_length=255)  # scrypt$n$r$p$salt$hash (gate.web.passwords)
    failed_logins: int = Field(default=0)
    locked_until: dt.datetime | None = None
    disabled: bool = Field(default=False)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_login_at: dt.datetime | None = None


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the row its SHA-256 (a database leak is no login)."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    last_seen_at: dt.datetime = Field(default_factory=utcnow)


class CheckReview(SQLModel, table=True):
    """A person's decision on a ``review`` check: approve (that exact package may pass) or reject."""

    __tablename__ = "check_review"

    id: int | None = Field(default=None, primary_key=True)
    check_id: str = Field(max_length=40, index=True)  # service_check.check_id
    gate_check_id: int = Field(foreign_key="gate_check.id")  # the decision that was reviewed
    result_gate_check_id: int | None = Field(default=None, foreign_key="gate_check.id")  # the decision it gave
    package_sha256: str = Field(max_length=64, index=True)
    package: str | None = Field(default=None, max_length=255)
    signers: str = Field(default="")  # space-separated verified signer SHA-256s: the identity approved
    outcome: str = Field(max_length=16)  # approved | rejected
    comment: str = Field(sa_type=Text)
    reviewer: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class Exemption(SQLModel, table=True):
    """An exemption (豁免) from the filing duty for one preinstalled identity (gate.exemptions has the rule)."""

    __tablename__ = "exemption"
    __table_args__ = (Index("ix_exemption_identity", "package", "cert_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    package: str = Field(max_length=255)
    cert_sha256: str = Field(max_length=64)
    scope: str = Field(max_length=16)  # preinstall
    reason_category: str = Field(max_length=32)
    reason: str = Field(sa_type=Text)
    approved_by: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=128)


class ReviewClaim(SQLModel, table=True):
    """A reviewer working on a queued check: shown to the others, released on approve/reject or when it expires
    (so an abandoned claim never blocks the queue). One row per check at most."""

    __tablename__ = "review_claim"

    check_id: str = Field(primary_key=True, max_length=40)  # service_check.check_id
    username: str = Field(max_length=64)
    claimed_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime


class PrecheckResult(SQLModel, table=True):
    """A developer pre-check's result kept for its permanent, private, expiring URL: the URL's token and the
    uploader's browser cookie are both needed to read it (only their SHA-256s are stored). Never a gate_check:
    anonymous uploads must not become an app's stored facts (gate.services.checks.check_unregistered)."""

    __tablename__ = "precheck_result"

    token_sha256: str = Field(primary_key=True, max_length=64)
    owner_sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    facts: str = Field(sa_type=Text)
    decision: str = Field(sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime = Field(index=True)
