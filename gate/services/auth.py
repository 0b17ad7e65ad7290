"""API clients and who may call what.

API keys look like ``gk_<key id>_<secret>``: 16 hex digits that find the client row, then 256 random bits. Only the
SHA-256 of the whole key is stored — a database leak gives no usable key, and a high-entropy key needs no slow
password hash. The comparison is constant-time, and an unknown key id costs the same comparison, so response times
do not reveal which key ids exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from gate.db.audit import record_event
from gate.db.service_tables import ApiClient
from gate.db.tables import table_of, utcnow
from gate.errors import GateError, UsageError

A = table_of(ApiClient)
# Built once: constructing a SELECT and its cache key per request cost ~5x executing it (the hot path of every call).
# The columns a request needs only: created_at would be parsed into a datetime on every call, and never read.
_CLIENT_BY_KEY_ID = select(A.c.id, A.c.name, A.c.role, A.c.key_id, A.c.key_sha256, A.c.webhook_secret,
                           A.c.callback_url, A.c.disabled).where(A.c.key_id == bindparam("key_id"))
ROLES = ("store", "oem", "developer", "admin")
KEY_PREFIX = "gk_"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class AuthError(GateError):
    """Missing or wrong credentials (HTTP 401)."""

    code = "auth_invalid"
    status = 401


class Forbidden(GateError):
    """Valid credentials (an API client's, or a staff user's in the console), but their role may not do this (HTTP
    403)."""

    code = "role_forbidden"
    status = 403


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    role: str
    webhook_secret: str
    callback_url: str | None

    def require(self, *roles: str) -> None:
        if self.role != "admin" and self.role not in roles:
            allowed = [*roles, "admin"]  # an admin client may call every route
            raise Forbidden(f"a {self.role} client may not call this; it needs the role {', '.join(allowed[:-1])} "
                            f"or {allowed[-1]}")


@dataclass(frozen=True)
class IssuedClient:
    """What ``gate clients create`` prints once: the secrets are not recoverable afterwards."""

    id: int
    name: str
    role: str
    api_key: str
    webhook_secret: str
    callback_url: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "api_key": self.api_key,
                "webhook_secret": self.webhook_secret, "callback_url": self.callback_url}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str]:
    key_id = secrets.token_hex(8)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_client(engine: Engine, *, name: str, role: str, callback_url: str | None = None) -> IssuedClient:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}", code="role_invalid")
    if not name.strip() or len(name) > 128:
        raise UsageError("a client needs a name of 1 to 128 characters", code="client_name_invalid")
    key_id, api_key = _new_key()
    webhook_secret = _new_secret()
    try:
        with engine.begin() as conn:
            client_id = conn.execute(insert(A).returning(A.c.id), {
                "name": name.strip(), "role": role, "key_id": key_id, "key_sha256": _hash(api_key),
                "webhook_secret": webhook_secret, "callback_url": callback_url, "disabled": False,
                "created_at": utcnow()}).scalar_one()
    except IntegrityError:
        raise UsageError(f"a client named {name!r} already exists", code="client_exists") from None
    return IssuedClient(client_id, name.strip(), role, api_key, webhook_secret, callback_url)


def _matching_row(engine: Engine, key: str) -> Row[*tuple[Any, ...]] | None:
    """The client row whose key this is (SHA-256 compared in constant time), or None; one indexed lookup."""
    key_id = key[len(KEY_PREFIX):].split("_", 1)[0] if key.startswith(KEY_PREFIX) else ""
    row: Row[*tuple[Any, ...]] | None = None
    if len(key_id) == 16:
        with engine.connect() as conn:
            row = conn.execute(_CLIENT_BY_KEY_ID, {"key_id": key_id}).first()
    stored = row.key_sha256 if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(key), stored)
    return row if row is not None and matches else None


def _bearer(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def verified_key_id(engine: Engine, authorization: str | None) -> str | None:
    """The key id of a real API key (enabled or not) in an ``Authorization`` header, None for anything else.

    For the rate limits (gate.api.limits): only a key that exists may be charged to a client's budget —
    an invented one is an anonymous caller. Costs a SHA-256 and one indexed lookup, no password hash.
    """
    key = _bearer(authorization)
    if key is None:
        return None
    row = _matching_row(engine, key)
    return row.key_id if row is not None else None


def authenticate(engine: Engine, authorization: str | None) -> Client:
    """The client an ``Authorization: Bearer <api_key>`` header names; AuthError otherwise."""
    key = _bearer(authorization)
    if key is None:
        raise AuthError("send the API key as `Authorization: Bearer <api_key>`", code="auth_missing")
    row = _matching_row(engine, key)
    if row is None:
        raise AuthError("the API key is not valid", code="auth_invalid")
    if row.disabled:
        # The caller holds the real key: saying so spares it hunting for a typo (an admin re-enables the client).
        raise AuthError(f"the client {row.name!r} is disabled: ask the gate's operator to run "
                        f"`gate clients enable {row.name}`", code="client_disabled")
    return Client(row.id, row.name, row.role, row.webhook_secret, row.callback_url)


class ClientNotFound(UsageError):
    code = "client_not_found"


def _change_client(engine: Engine, name: str, action: str, values: dict[str, Any]) -> int:
    """Update one client by name and audit it, in one transaction; returns its id."""
    with engine.begin() as conn:
        client_id: int | None = conn.execute(update(A).where(A.c.name == name).values(**values).returning(A.c.id)).scalar()
        if client_id is None:
            raise ClientNotFound(f"no client named {name!r}")
        record_event(conn, actor="cli", action=f"client.{action}", subject=name[:255], details={"client_id": client_id})
    return client_id


def set_disabled(engine: Engine, name: str, disabled: bool) -> int:
    """A disabled client's key stops working at once, and its queued callbacks wait (gate.services.callbacks)
    until it is enabled again."""
    return _change_client(engine, name, "disable" if disabled else "enable", {"disabled": disabled})


def rotate_key(engine: Engine, name: str) -> str:
    """Issue a new API key; the old one stops working at once. Returns the new key (shown once)."""
    key_id, api_key = _new_key()
    _change_client(engine, name, "rotate_key", {"key_id": key_id, "key_sha256": _hash(api_key)})
    return api_key


def rotate_secret(engine: Engine, name: str) -> str:
    """Issue a new webhook secret: requests must be signed with it, and callbacks are signed with it from now on
    (also those still queued). Returns the new secret (shown once)."""
    secret = _new_secret()
    _change_client(engine, name, "rotate_secret", {"webhook_secret": secret})
    return secret
