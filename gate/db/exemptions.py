"""The exemption register in the database: add, list, revoke (each audited in the same transaction), and the
batched lookup a preinstall scan uses. The matching rule itself is pure and lives in gate.exemptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from gate.db.audit import record_event
from gate.db.console_tables import Exemption as ExemptionRow
from gate.db.tables import table_of, utcnow
from gate.errors import UsageError
from gate.exemptions import Exemption, validate_new

E = table_of(ExemptionRow)
LOOKUP_CHUNK = 500


class ExemptionNotFound(UsageError):
    code = "exemption_not_found"
    status = 404


def _record(row) -> Exemption:
    return Exemption(id=row.id, package=row.package, cert_sha256=row.cert_sha256, scope=row.scope,
                     reason_category=row.reason_category, reason=row.reason, approved_by=row.approved_by,
                     expires_at=row.expires_at, created_at=row.created_at, revoked_at=row.revoked_at,
                     revoked_by=row.revoked_by)


def add_exemption(conn: Connection, *, package: str, cert_sha256: str, reason_category: str, reason: str,
                  approved_by: str, expires_at: dt.datetime, actor: str, scope: str = "preinstall") -> Exemption:
    now = utcnow()
    fields = validate_new(package=package, cert_sha256=cert_sha256, scope=scope, reason_category=reason_category,
                          reason=reason, approved_by=approved_by, expires_at=expires_at, at=now)
    new_id = conn.execute(insert(E).returning(E.c.id), {**fields, "created_at": now}).scalar_one()
    record_event(conn, actor=actor, action="exemption.add", subject=fields["package"],
                 details={"exemption_id": new_id, **fields})
    return get_exemption(conn, new_id)


def get_exemption(conn: Connection, exemption_id: int) -> Exemption:
    row = conn.execute(select(E).where(E.c.id == exemption_id)).first()
    if row is None:
        raise ExemptionNotFound(f"no exemption #{exemption_id}")
    return _record(row)


def revoke_exemption(conn: Connection, exemption_id: int, *, actor: str, why: str = "") -> Exemption:
    current = get_exemption(conn, exemption_id)
    if current.revoked_at is None:
        conn.execute(update(E).where(E.c.id == exemption_id, E.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow(), revoked_by=actor[:128]))
        record_event(conn, actor=actor, action="exemption.revoke", subject=current.package,
                     details={"exemption_id": exemption_id, "why": why})
    return get_exemption(conn, exemption_id)


def list_exemptions(conn: Connection, *, search: str | None = None, state: str | None = None,
                    limit: int = 200, offset: int = 0) -> list[Exemption]:
    """Newest first. ``search`` matches package, certificate or reason text; ``state``: active|expired|revoked."""
    query = exemptions_query(search=search, state=state).order_by(E.c.id.desc()).limit(limit).offset(offset)
    return [_record(r) for r in conn.execute(query)]


def exemptions_query(*, search: str | None = None, state: str | None = None):
    """The filtered select (no order, no limit): list_exemptions and the console's keyset pages share it."""
    now = utcnow()
    query = select(E)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(E.c.package).like(like), E.c.cert_sha256.like(like.replace(":", "")),
                                func.lower(E.c.reason).like(like)))
    if state == "revoked":
        query = query.where(E.c.revoked_at.is_not(None))
    elif state == "active":
        query = query.where(E.c.revoked_at.is_(None), E.c.expires_at > now)
    elif state == "expired":
        query = query.where(E.c.revoked_at.is_(None), E.c.expires_at <= now)
    return query


def record_of(row) -> Exemption:
    return _record(row)


def exemptions_for(conn: Connection, packages: Sequence[str], scope: str = "preinstall"
                   ) -> dict[str, list[Exemption]]:
    """Unrevoked exemptions naming each package (expiry is judged by the matcher at decision time)."""
    found: dict[str, list[Exemption]] = {}
    unique = sorted({p for p in packages if p})
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        for row in conn.execute(select(E).where(E.c.package.in_(chunk), E.c.scope == scope,
                                                E.c.revoked_at.is_(None))):
            found.setdefault(row.package, []).append(_record(row))
    return found


def exemption_lookup(engine: Engine) -> Callable[[Sequence[str]], dict[str, list[Exemption]]]:
    def lookup(packages: Sequence[str]) -> dict[str, list[Exemption]]:
        with engine.connect() as conn:
            return exemptions_for(conn, packages)
    return lookup
