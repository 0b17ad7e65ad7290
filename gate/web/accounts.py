"""Staff accounts and their browser sessions (gate.store.console_tables), with lockout and an audited sign-in.

Roles, each including the ones before it: ``viewer`` (reads everything), ``reviewer`` (+ approves and rejects
reviews), ``admin`` (+ exemptions, API clients, users). API clients are machines with API keys
(gate.platform_hooks.auth); staff users are people with passwords — different tables, never interchangeable.

Lockout: ``LOCK_AFTER`` wrong passwords in a row lock the account for ``LOCK_MINUTES``; while locked even the right
password is refused (and does not reveal that it was right). Every sign-in attempt is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gate.errors import GateError, UsageError
from gate.store.audit import record_event
from gate.store.console_tables import StaffSession, StaffUser
from gate.store.tables import as_utc, utcnow
from gate.web.passwords import MIN_LENGTH, dummy_hash, hash_password, verify_password

U = StaffUser.__table__
S = StaffSession.__table__
ROLES = ("viewer", "reviewer", "admin")  # in order of power
LOCK_AFTER = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")


class LoginRefused(GateError):
    """Wrong username or password, a locked or disabled account (one message for all: no account probing)."""

    code = "login_refused"
    status = 401


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    token: str  # the cookie value; only its SHA-256 is stored
    csrf_token: str


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(engine: Engine, *, username: str, role: str, password: str, actor: str = "cli") -> Staff:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}", code="role_invalid")
    if not USERNAME.fullmatch(username or ""):
        raise UsageError("a username has 2 to 64 letters, digits or . _ @ -", code="username_invalid")
    if len(password) < MIN_LENGTH:
        raise UsageError(f"a password needs at least {MIN_LENGTH} characters", code="password_too_short")
    try:
        with engine.begin() as conn:
            user_id = conn.execute(insert(U).returning(U.c.id), {
                "username": username, "role": role, "password_hash": hash_password(password), "failed_logins": 0,
                "disabled": False, "created_at": utcnow()}).scalar_one()
            record_event(conn, actor=actor, action="console.user_create", subject=username, details={"role": role})
    except IntegrityError:
        raise UsageError(f"a user named {username!r} already exists", code="user_exists") from None
    return Staff(user_id, username, role)


def unlock_user(engine: Engine, *, username: str, actor: str = "cli") -> None:
    """End a lockout now (after the person is known to be who they say); audited."""
    with engine.begin() as conn:
        if not conn.execute(update(U).where(U.c.username == username)
                            .values(locked_until=None, failed_logins=0)).rowcount:
            raise UsageError(f"no user named {username!r}", code="user_not_found")
        record_event(conn, actor=actor, action="console.user_unlock", subject=username, details={})


def reset_password(engine: Engine, *, username: str, password: str, actor: str = "cli") -> None:
    """A new password for a user who lost theirs (audited): the lockout ends and every session of the old one too."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"a password needs at least {MIN_LENGTH} characters", code="password_too_short")
    with engine.begin() as conn:
        user_id = conn.execute(update(U).where(U.c.username == username).returning(U.c.id).values(
            password_hash=hash_password(password), locked_until=None, failed_logins=0)).scalar_one_or_none()
        if user_id is None:
            raise UsageError(f"no user named {username!r}", code="user_not_found")
        conn.execute(delete(S).where(S.c.user_id == user_id))
        record_event(conn, actor=actor, action="console.user_password_reset", subject=username, details={})


def list_users(conn: Connection) -> list:
    return conn.execute(select(U.c.id, U.c.username, U.c.role, U.c.disabled, U.c.locked_until, U.c.failed_logins,
                               U.c.last_login_at, U.c.created_at).order_by(U.c.username)).all()


def sign_in(engine: Engine, *, username: str, password: str, remote: str | None) -> SignedIn:
    """A new session for the right password of an unlocked, enabled account; LoginRefused otherwise."""
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(U).where(U.c.username == username)).first()
        ok = verify_password(password, row.password_hash if row is not None else dummy_hash())
        locked = row is not None and row.locked_until is not None and as_utc(row.locked_until) > now
        why = ("unknown_user" if row is None else "disabled" if row.disabled else "locked" if locked
               else None if ok else "wrong_password")
        if why is None:
            conn.execute(update(U).where(U.c.id == row.id).values(failed_logins=0, locked_until=None,
                                                                  last_login_at=now))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            conn.execute(insert(S), {"token_sha256": _sha(token), "user_id": row.id, "csrf_token": csrf,
                                     "created_at": now, "last_seen_at": now,
                                     "expires_at": now + dt.timedelta(hours=SESSION_HOURS)})
        elif why == "wrong_password":
            failures = row.failed_logins + 1
            values = {"failed_logins": failures}
            if failures >= LOCK_AFTER:
                values.update(locked_until=now + dt.timedelta(minutes=LOCK_MINUTES), failed_logins=0)
                why = "wrong_password_locked"
            conn.execute(update(U).where(U.c.id == row.id).values(**values))
        record_event(conn, actor=f"staff:{username[:64]}", action="console.login", subject=username[:255],
                     details={"ok": why is None, "why": why, "remote": remote})
    if why is not None:
        raise LoginRefused("wrong username or password, or the account is locked")
    return SignedIn(Staff(row.id, row.username, row.role), token, csrf)


def session_for(engine: Engine, token: str | None) -> tuple[Staff, str] | None:
    """(staff, csrf token) of a live session cookie, or None."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(select(S.c.id, S.c.csrf_token, S.c.expires_at, U.c.id.label("uid"), U.c.username,
                                  U.c.role, U.c.disabled)
                           .join(U, U.c.id == S.c.user_id).where(S.c.token_sha256 == _sha(token))).first()
    if row is None or row.disabled or as_utc(row.expires_at) <= now:
        return None
    return Staff(row.uid, row.username, row.role), row.csrf_token


def sign_out(engine: Engine, token: str | None, *, username: str) -> None:
    if not token:
        return
    with engine.begin() as conn:
        conn.execute(delete(S).where(S.c.token_sha256 == _sha(token)))
        record_event(conn, actor=f"staff:{username}", action="console.logout", subject=username, details={})
