"""Signed callbacks to stores: written in the same transaction as the result they announce (an outbox), delivered
afterwards, retried with exponential backoff until the store answers 2xx or the attempts run out.

The URL passes the same SSRF rules as package_url at every attempt (DNS may change between attempts), and the
connection goes to the address that was checked. The body is signed like incoming webhooks
(``X-Gate-Signature: t=..,v1=..``), so a store verifies it with the secret it already has.

Delivery is at least once: a POST the store received but whose answer the gate never recorded (the connection
broke, the worker died, the database went away) is sent again. Stores de-duplicate on the body's ``check_id``
(check events) or ``notice_id`` (delist notices) together with the ``X-Gate-Event`` header (docs/api.md).
Attempts are counted when they are claimed, before the POST, so ``attempts`` never undercounts.

Ownership: a claim names the worker process (``claimed_by``, unique per process start) and carries a random
``claim_token``. It holds the delivery for ``claim_lease(deadline)`` seconds, longer than an attempt can take (the
address check's DNS allowance plus the delivery deadline). Right before the POST the attempt renews the claim with
its token; a worker that was paused past its lease (SIGSTOP, a stalled VM) finds the token replaced and sends
nothing, and an outcome is recorded only under the token that made the attempt. So a delivery is POSTed once unless
an answer was lost (at least once, above), never because two workers held the same row.

Bounds per attempt: one overall deadline (``GATE_CALLBACK_TIMEOUT_SECONDS``) covers connecting, TLS, sending and the
store's status line and headers, however slowly they trickle; the answer's body is never read (its status is all the
gate needs), so a store answering 400 MiB costs nothing; headers are bounded by http.client (100 lines of 64 KiB).
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import json
import logging
import os
import secrets
import socket
import time
import urllib.parse
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from gate import __version__
from gate.db.audit import record_event
from gate.db.service_tables import ApiClient, CallbackDelivery
from gate.db.tables import table_of, utcnow
from gate.services.deadline_http import DeliveryTooSlow, PinnedConnection
from gate.services.fetch import FetchPolicy, check_callback_url, host_header
from gate.services.signatures import HEADER, sign
from gate.services.uploads import UploadError

C = table_of(CallbackDelivery)
A = table_of(ApiClient)
LOGGER = logging.getLogger("gate.callbacks")
USER_AGENT = f"filing-gate/{__version__} (callback)"
MAX_BACKOFF_SECONDS = 3600.0
EVENT_HEADER = "X-Gate-Event"
DEFAULT_EVENT = "check.completed"
FAILED_EVENT = "check.failed"  # a queued check the gate could not complete (upload it again)
DNS_ALLOWANCE_SECONDS = 30.0  # resolving the callback host (outside the delivery deadline) within a claim's lease
_IDENTITY = None


def process_identity() -> str:
    """This process start's identity, ``host:pid:random``: unique even for two containers that both run as PID 1
    on one host name (host networking), and new after a restart that reuses a PID."""
    global _IDENTITY
    if _IDENTITY is None or _IDENTITY[0] != os.getpid():  # a forked child is another process
        _IDENTITY = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
    return _IDENTITY[1]


def queue_callback(conn: Connection, *, client_id: int, check_id: str, url: str, body: dict[str, Any]) -> None:
    """Write a delivery in the caller's transaction. ``body["event"]`` names the event (default check.completed)
    and is sent as the X-Gate-Event header too."""
    body = {"event": DEFAULT_EVENT, **body}
    conn.execute(insert(C), {"client_id": client_id, "check_id": check_id, "url": url,
                             "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                             "status": "pending", "attempts": 0, "next_attempt_at": utcnow(),
                             "created_at": utcnow()})


def backoff(attempts: int, base: float) -> float:
    return min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def claim_lease(deadline: float) -> float:
    """How long a claim holds a delivery: the delivery deadline twice over plus DNS_ALLOWANCE_SECONDS for the
    address check (name resolution is not under the deadline), so a claim never expires under a live attempt."""
    return 2 * deadline + DNS_ALLOWANCE_SECONDS


def _post(url: str, body: bytes, secret: str, *, policy: FetchPolicy, timeout: float) -> int:
    """POST under one overall deadline of ``timeout`` seconds; the store's status code (its body is not read)."""
    target = check_callback_url(url, policy)  # again at every attempt: DNS may have changed
    event = json.loads(body).get("event", DEFAULT_EVENT)
    parts = urllib.parse.urlsplit(target.pinned_url)
    connection = PinnedConnection(target, time.monotonic() + timeout)
    try:
        connection.request("POST", urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")), body=body,
                           headers={"Host": host_header(target), "User-Agent": USER_AGENT,
                                    "Content-Type": "application/json", "Connection": "close",
                                    HEADER: sign(body, secret), EVENT_HEADER: event})
        return connection.getresponse().status
    finally:
        connection.close()


@dataclass(frozen=True)
class Claim:
    """A claimed delivery: its row as read, and the owner and token of this attempt."""

    row: Row[Any]
    owner: str
    token: str

    def __getattr__(self, name: str) -> Any:  # the row's columns read through (claim.url, claim.check_id, ...)
        return getattr(self.row, name)


def claim_due(engine: Engine, *, timeout: float, limit: int = 20, owner: str | None = None,
              per_client: int | None = None, busy: dict[int, int] | None = None) -> list[Claim]:
    """Take up to ``limit`` due deliveries of enabled clients for ``owner``, counting the attempt *before* it is made.

    The claim sets the owner and a fresh token, pushes ``next_attempt_at`` a lease ahead and adds one to
    ``attempts`` in one guarded update, so another worker that read the same row loses here, and an attempt whose
    outcome is never recorded (the process died, the database went away after the POST) still counts. A disabled
    client's deliveries are not due: they wait, and go out if the client is enabled again. With ``per_client``, no
    client gets more than that many deliveries in flight (``busy``: what each already has), so one slow store never
    takes every sending slot.
    """
    owner = owner or process_identity()
    now = utcnow()
    busy = dict(busy or {})
    with engine.connect() as conn:
        due = conn.execute(select(C, A.c.webhook_secret).join(A, A.c.id == C.c.client_id)
                           .where(C.c.status == "pending", C.c.next_attempt_at <= now, A.c.disabled.is_(False))
                           .order_by(C.c.next_attempt_at).limit(limit * 4 if per_client else limit)).all()
    claimed: list[Claim] = []
    for row in due:
        if len(claimed) >= limit:
            break
        if per_client is not None and busy.get(row.client_id, 0) >= per_client:
            continue
        token = secrets.token_hex(16)
        with engine.begin() as conn:
            taken = conn.execute(update(C).where(and_(C.c.id == row.id, C.c.status == "pending",
                                                      C.c.next_attempt_at == row.next_attempt_at))
                                 .values(next_attempt_at=utcnow() + dt.timedelta(seconds=claim_lease(timeout)),
                                         attempts=C.c.attempts + 1, claimed_by=owner, claim_token=token)).rowcount
        if taken:
            claimed.append(Claim(row, owner, token))
            busy[row.client_id] = busy.get(row.client_id, 0) + 1
    return claimed


def _held(claim: Claim) -> ColumnElement[bool]:
    return and_(C.c.id == claim.row.id, C.c.status == "pending", C.c.claim_token == claim.token)


def renew(engine: Engine, claim: Claim, *, timeout: float) -> bool:
    """Right before the POST: still ours? Then the lease starts again from now (the attempt may have waited)."""
    with engine.begin() as conn:
        return bool(conn.execute(update(C).where(_held(claim)).values(
            next_attempt_at=utcnow() + dt.timedelta(seconds=claim_lease(timeout)))).rowcount)


def attempt(engine: Engine, claim: Claim, *, policy: FetchPolicy, backoff_seconds: float, max_attempts: int,
            timeout: float) -> bool:
    """POST one claimed delivery and record the outcome; True when the store acknowledged it (2xx). A claim that
    another worker has taken over in the meantime is not sent (False)."""
    if not renew(engine, claim, timeout=timeout):
        LOGGER.warning("callback claim lost before sending; its new owner sends it",
                       extra={"fields": {"check_id": claim.check_id, "owner": claim.owner}})
        return False
    status, error = None, None
    try:
        status = _post(claim.url, claim.body.encode("utf-8"), claim.webhook_secret, policy=policy, timeout=timeout)
    except UploadError as exc:
        error = f"{exc.code}: {exc.message}"
    except DeliveryTooSlow as exc:
        error = f"{type(exc).__name__}: {exc}"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a URL no code path foresaw still fails this delivery, not the worker
        LOGGER.exception("callback attempt crashed", extra={"fields": {"check_id": claim.check_id}})
        error = f"{type(exc).__name__}: {exc}"[:500]
    attempts = claim.attempts + 1  # as counted by claim_due
    ok = status is not None and 200 <= status < 300
    values: dict[str, Any] = {"last_status": status, "last_error": error}
    if ok:
        values.update(status="delivered", delivered_at=utcnow())
    elif attempts >= max_attempts:
        values.update(status="failed")
    else:
        values.update(next_attempt_at=utcnow() + dt.timedelta(seconds=backoff(attempts, backoff_seconds)))
    with engine.begin() as conn:  # recorded only under this attempt's token: a newer owner's outcome stands
        recorded = conn.execute(update(C).where(_held(claim)).values(**values)).rowcount
        if recorded and values.get("status") == "failed":
            # The alert: a store was not told of a decision (or a delist notice) after every attempt. Audited once
            # (the guarded update matched once) and counted by /metrics (gate_callbacks{status="failed"}).
            record_event(conn, actor="gate-worker", action="callback.failed", subject=claim.check_id,
                         details={"delivery_id": claim.row.id, "url": claim.url, "attempts": attempts,
                                  "last_status": status, "last_error": error})
    if values.get("status") == "failed" and recorded:
        LOGGER.error("callback failed after every attempt",
                     extra={"fields": {"check_id": claim.check_id, "attempts": attempts}})
    LOGGER.info("callback attempt", extra={"fields": {"check_id": claim.check_id, "attempt": attempts,
                                                       "status": status, "error": error, "recorded": bool(recorded),
                                                       "outcome": values.get("status", "retry")}})
    return ok


def deliver_due(engine: Engine, *, policy: FetchPolicy, backoff_seconds: float, max_attempts: int,
                timeout: float, limit: int = 20, pool: Executor | None = None, owner: str | None = None) -> int:
    """Try every due delivery once (side by side on ``pool`` when given); returns how many were delivered.
    A worker's sending loop claims as slots free up instead (gate.services.worker)."""
    rows = claim_due(engine, timeout=timeout, limit=limit, owner=owner)
    send = functools.partial(attempt, engine, policy=policy, backoff_seconds=backoff_seconds,
                             max_attempts=max_attempts, timeout=timeout)
    results = pool.map(send, rows) if pool is not None else map(send, rows)
    return sum(1 for ok in results if ok)
