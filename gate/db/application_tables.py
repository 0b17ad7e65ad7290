"""Filing applications (代为备案) made through the platform: one row per application, its current round sealed.

Only what listing and following an application needs is kept in the clear (identifier, service name, unit, status,
the regulator's id and answer). The body sent to the regulator — contacts, personal ID numbers — is stored only
sealed (gate.pii), as the exact bytes of the current round so that a retry re-sends them under the same
Idempotency-Key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from gate.db.tables import utcnow


class FilingApplication(SQLModel, table=True):
    __tablename__ = "filing_application"
    __table_args__ = (Index("ix_filing_application_client", "client_id", "created_at"),
                      Index("ix_filing_application_status", "status"))

    application_id: str = Field(primary_key=True, max_length=40)  # public id, "fa_…"
    client_id: int = Field(foreign_key="api_client.id")
    check_id: str = Field(max_length=40)  # the developer's verified check the form was filled from
    status: str = Field(max_length=16)  # pending | submitted | returned | approved | rejected
    platform: str = Field(max_length=16)
    identifier: str = Field(max_length=255, index=True)
    service_name: str
    unit_name: str
    package_sha256: str = Field(max_length=64)
    round: int = Field(default=1)
    idempotency_key: str = Field(max_length=80)
    body_sealed: str = Field(sa_type=Text)
    regulator_id: str | None = Field(default=None, max_length=64)
    reasons: str = Field(default="[]", sa_type=Text)  # the regulator's reasons (returned / rejected), JSON
    service_licence: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
