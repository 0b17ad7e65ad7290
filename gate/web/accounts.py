"""Staff accounts and their browser sessions (gate.db.console_tables), with lockout and an audited sign-in.

Roles, each including the ones before it: ``viewer`` (reads everything), ``reviewer`` (+ approves and rejects
reviews), ``admin`` (+ exemptions, API clients, users). API clients are machines with API keys
(gate.services.auth); staff users are people with passwords — different tables, never interchangeable.

Guessing is slowed down, never locked out (a lock anyone can trigger is a button that keeps staff out of the
console). Per account: the first ``FREE_TRIES`` wrong passwords in a row cost nothing; from then on each one sets a
``not before`` time (the ``locked_until`` column) that doubles — 4, 8, 16, 32 s, then ``MAX_DELAY_SECONDS`` (60) —
and an attempt before that time is refused without checking the password (it neither counts nor reveals whether it
was right). Each attempt claims its try with one atomic UPDATE (``failed_logins = failed_logins + 1`` where the
account is not waiting, RETURNING the count) *before* the password is checked, and a right password clears the
count: parallel guesses cannot all read the same count, and at most ``FREE_TRIES`` of them are ever checked at once.
Per address (gate.web.login_throttle) the same doubling applies across usernames. An admin can still end a delay
(``gate users unlock``). Every sign-in attempt is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import case, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gate.db.audit import record_event
from gate.db.console_tables import StaffSession, StaffUser
from gate.db.tables import as_utc, table_of, utcnow
from gate.errors import GateError, UsageError
from gate.web.passwords import MIN_LENGTH, dummy_hash, hash_password, verify_password

U = table_of(StaffUser)
S = table_of(StaffSession)
ROLES = ("viewer", "reviewer", "admin")  # in order of power
FREE_TRIES = 5  # wrong passwords in a row before the account's delay starts
FIRST_DELAY_SECONDS = 4  # the wait after the FREE_TRIES-th wrong password; doubled by each further one
MAX_DELAY_SECONDS = 60  # the longest an account's next try waits, however many guesses came before
LOCK_AFTER = FREE_TRIES  # the former name (the delay replaced the 15-minute lock)
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


def set_disabled(engine: Engine, *, username: str, disabled: bool, actor: str) -> None:
    """Disable (every session ends at once) or enable a user; audited. Nobody disables themselves."""
    if actor == f"staff:{username}" and disabled:
        raise UsageError("you cannot disable your own account", code="user_self")
    with engine.begin() as conn:
        user_id = conn.execute(update(U).where(U.c.username == username).returning(U.c.id)
                               .values(disabled=disabled)).scalar_one_or_none()
        if user_id is None:
            raise UsageError(f"no user named {username!r}", code="user_not_found")
        if disabled:
            conn.execute(delete(S).where(S.c.user_id == user_id))
        record_event(conn, actor=actor, action="console.user_disable" if disabled else "console.user_enable",
                     subject=username, details={})


def set_role(engine: Engine, *, username: str, role: str, actor: str) -> None:
    """Change a user's role; audited with the old and new role. Nobody changes their own."""
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}", code="role_invalid")
    if actor == f"staff:{username}":
        raise UsageError("you cannot change your own role", code="user_self")
    with engine.begin() as conn:
        old = conn.execute(select(U.c.role).where(U.c.username == username)).scalar_one_or_none()
        if old is None:
            raise UsageError(f"no user named {username!r}", code="user_not_found")
        conn.execute(update(U).where(U.c.username == username).values(role=role))
        record_event(conn, actor=actor, action="console.user_role", subject=username,
                     details={"from": old, "to": role})


def list_users(conn: Connection) -> list:
    return conn.execute(select(U.c.id, U.c.username, U.c.role, U.c.disabled, U.c.locked_until, U.c.failed_logins,
                               U.c.last_login_at, U.c.created_at).order_by(U.c.username)).all()


def delay_after(failures: int) -> int:
    """Seconds an account waits after its ``failures``-th wrong password in a row (0: no wait)."""
    if failures < FREE_TRIES:
        return 0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - FREE_TRIES), MAX_DELAY_SECONDS)


def _claim_try(conn: Connection, user_id: int, now: dt.datetime) -> int | None:
    """Count one try against the account unless it is waiting; the new count, or None while it waits.

    One statement, so parallel tries serialise on the row: each sees the count and the wait the one before it left.
    """
    waits = {n: (now + dt.timedelta(seconds=delay_after(n + 1)) if delay_after(n + 1) else None)
             for n in range(FREE_TRIES + 8)}  # beyond these, the delay is MAX_DELAY_SECONDS
    return conn.execute(
        update(U).where(U.c.id == user_id, or_(U.c.locked_until.is_(None), U.c.locked_until <= now))
        .values(failed_logins=U.c.failed_logins + 1,
                locked_until=case(waits, value=U.c.failed_logins,
                                  else_=now + dt.timedelta(seconds=MAX_DELAY_SECONDS)))
        .returning(U.c.failed_logins)).scalar_one_or_none()


def sign_in(engine: Engine, *, username: str, password: str, remote: str | None) -> SignedIn:
    """A new session for the right password of an enabled account that is not waiting; LoginRefused otherwise."""
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(select(U).where(U.c.username == username)).first()
    failures = None
    if row is not None and not row.disabled:
        with engine.begin() as conn:  # committed before the slow password check: parallel tries see it
            failures = _claim_try(conn, row.id, now)
    # Every refusal costs one password check, so its timing tells no unknown, disabled or waiting account apart.
    real = failures is not None
    ok = verify_password(password, row.password_hash if real else dummy_hash()) and real
    why = ("unknown_user" if row is None else "disabled" if row.disabled else "delayed" if failures is None
           else None if ok else "wrong_password")
    with engine.begin() as conn:
        if why is None:
            conn.execute(update(U).where(U.c.id == row.id).values(failed_logins=0, locked_until=None,
                                                                  last_login_at=now))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            conn.execute(insert(S), {"token_sha256": _sha(token), "user_id": row.id, "csrf_token": csrf,
                                     "created_at": now, "last_seen_at": now,
                                     "expires_at": now + dt.timedelta(hours=SESSION_HOURS)})
        details = {"ok": why is None, "why": why, "remote": remote}
        if why == "wrong_password":
            details["failures"] = failures
            details["delay_seconds"] = delay_after(failures)
        record_event(conn, actor=f"staff:{username[:64]}", action="console.login", subject=username[:255],
                     details=details)
    if why is not None:
        raise LoginRefused("wrong username or password, or too many recent failures: wait a minute and try again")
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
