"""Signed callbacks to stores: written in the same transaction as the result they announce (an outbox), delivered
afterwards, retried with exponential backoff until the store answers 2xx or the attempts run out.

The URL passes the same SSRF rules as package_url at every attempt (DNS may change between attempts), and the
connection goes to the address that was checked. The body is signed like incoming webhooks
(``X-Gate-Signature: t=..,v1=..``), so a store verifies it with the secret it already has.

Delivery is at least once: a POST the store received but whose answer the gate never recorded (the connection
broke, the worker died, the database went away) is sent again. Stores de-duplicate on the body's ``check_id``
(check events) or ``notice_id`` (delist notices) together with the ``X-Gate-Event`` header (docs/api.md).
Attempts are counted when they are claimed, before the POST, so ``attempts`` never undercounts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from concurrent.futures import Executor

import requests
from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine

from gate import __version__
from gate.platform_hooks.fetch import FetchPolicy, check_url, host_header, pinned_session
from gate.platform_hooks.signatures import HEADER, sign
from gate.platform_hooks.uploads import UploadError
from gate.store.audit import record_event
from gate.store.service_tables import ApiClient, CallbackDelivery
from gate.store.tables import utcnow

C = CallbackDelivery.__table__
A = ApiClient.__table__
LOGGER = logging.getLogger("gate.callbacks")
USER_AGENT = f"filing-gate/{__version__} (callback)"
MAX_BACKOFF_SECONDS = 3600.0
EVENT_HEADER = "X-Gate-Event"
DEFAULT_EVENT = "check.completed"
FAILED_EVENT = "check.failed"  # a queued check the gate could not complete (upload it again)


def queue_callback(conn: Connection, *, client_id: int, check_id: str, url: str, body: dict) -> None:
    """Write a delivery in the caller's transaction. ``body["event"]`` names the event (default check.completed)
    and is sent as the X-Gate-Event header too."""
    body = {"event": DEFAULT_EVENT, **body}
    conn.execute(insert(C), {"client_id": client_id, "check_id": check_id, "url": url,
                             "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                             "status": "pending", "attempts": 0, "next_attempt_at": utcnow(),
                             "created_at": utcnow()})


def backoff(attempts: int, base: float) -> float:
    return min(base * (2 ** max(attempts - 1, 0)), MAX_BACKOFF_SECONDS)


def _post(url: str, body: bytes, secret: str, *, policy: FetchPolicy, timeout: float) -> int:
    target = check_url(url, policy)
    event = json.loads(body).get("event", DEFAULT_EVENT)
    with pinned_session(target) as session:
        response = session.post(target.pinned_url, data=body, timeout=timeout, allow_redirects=False, headers={
            "Host": host_header(target), "User-Agent": USER_AGENT, "Content-Type": "application/json",
            HEADER: sign(body, secret), EVENT_HEADER: event})
        response.close()
        return response.status_code


def claim_due(engine: Engine, *, timeout: float, limit: int = 20) -> list:
    """Take up to ``limit`` due deliveries of enabled clients, counting the attempt *before* it is made.

    The claim pushes ``next_attempt_at`` past this attempt and adds one to ``attempts`` in one guarded update, so
    another worker that read the same row loses here, and an attempt whose outcome is never recorded (the process
    died, the database went away after the POST) still counts. A disabled client's deliveries are not due: they
    wait, and go out if the client is enabled again.
    """
    now = utcnow()
    with engine.connect() as conn:
        due = conn.execute(select(C, A.c.webhook_secret).join(A, A.c.id == C.c.client_id)
                           .where(C.c.status == "pending", C.c.next_attempt_at <= now, A.c.disabled.is_(False))
                           .order_by(C.c.next_attempt_at).limit(limit)).all()
    claimed = []
    for row in due:
        with engine.begin() as conn:
            taken = conn.execute(update(C).where(and_(C.c.id == row.id, C.c.status == "pending",
                                                      C.c.next_attempt_at == row.next_attempt_at))
                                 .values(next_attempt_at=utcnow() + dt.timedelta(seconds=timeout * 3),
                                         attempts=C.c.attempts + 1)).rowcount
        if taken:
            claimed.append(row)
    return claimed


def attempt(engine: Engine, row, *, policy: FetchPolicy, backoff_seconds: float, max_attempts: int,
            timeout: float) -> bool:
    """POST one claimed delivery and record the outcome; True when the store acknowledged it (2xx)."""
    status, error = None, None
    try:
        status = _post(row.url, row.body.encode("utf-8"), row.webhook_secret, policy=policy, timeout=timeout)
    except UploadError as exc:
        error = f"{exc.code}: {exc.message}"
    except requests.RequestException as exc:
        error = type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a URL no code path foresaw still fails this delivery, not the worker
        LOGGER.exception("callback attempt crashed", extra={"fields": {"check_id": row.check_id}})
        error = f"{type(exc).__name__}: {exc}"[:500]
    attempts = row.attempts + 1  # as counted by claim_due
    ok = status is not None and 200 <= status < 300
    values = {"last_status": status, "last_error": error}
    if ok:
        values.update(status="delivered", delivered_at=utcnow())
    elif attempts >= max_attempts:
        values.update(status="failed")
    else:
        values.update(next_attempt_at=utcnow() + dt.timedelta(seconds=backoff(attempts, backoff_seconds)))
    with engine.begin() as conn:
        recorded = conn.execute(update(C).where(C.c.id == row.id, C.c.status == "pending").values(**values)).rowcount
        if recorded and values.get("status") == "failed":
            # The alert: a store was not told of a decision (or a delist notice) after every attempt. Audited once
            # (the guarded update matched once) and counted by /metrics (gate_callbacks{status="failed"}).
            record_event(conn, actor="gate-worker", action="callback.failed", subject=row.check_id,
                         details={"delivery_id": row.id, "url": row.url, "attempts": attempts,
                                  "last_status": status, "last_error": error})
    if values.get("status") == "failed":
        LOGGER.error("callback failed after every attempt",
                     extra={"fields": {"check_id": row.check_id, "attempts": attempts}})
    LOGGER.info("callback attempt", extra={"fields": {"check_id": row.check_id, "attempt": attempts,
                                                       "status": status, "error": error,
                                                       "outcome": values.get("status", "retry")}})
    return ok


def deliver_due(engine: Engine, *, policy: FetchPolicy, backoff_seconds: float, max_attempts: int,
                timeout: float, limit: int = 20, pool: Executor | None = None) -> int:
    """Try every due delivery once (side by side on ``pool`` when given); returns how many were delivered."""
    rows = claim_due(engine, timeout=timeout, limit=limit)
    send = functools.partial(attempt, engine, policy=policy, backoff_seconds=backoff_seconds,
                             max_attempts=max_attempts, timeout=timeout)
    results = pool.map(send, rows) if pool is not None else map(send, rows)
    return sum(1 for ok in results if ok)
