"""Rate limits: per API client, per address for anonymous callers, stricter for anonymous uploads and sign-ins.

Three budgets, each a ``limits`` rate ("600/minute") or ``off`` (settings ``GATE_RATE_LIMIT_*``):
- **client**: requests that carry a real API key, counted per key id. A key is charged to its client only once it
  is known to exist (SHA-256 and one indexed lookup, no password hash; a verified key is remembered for
  ``VERIFIED_KEY_SECONDS`` so a busy client costs one hash per request). An invented key — any ``gk_<16 hex>_…``
  of a client that does not exist — makes the caller anonymous: the address and upload budgets apply, so fresh
  random key ids buy nothing;
- **address**: requests without a real key (the pre-check page, the console, the badge), counted per address;
- **upload**: the pre-check page's package and certificate forms and console sign-in attempts, per address,
  whatever the ``Authorization`` header says: these cost the most (a package is read and verified) or guess
  passwords, and no API client has a reason to call them.
Health checks and ``/metrics`` are not counted (probes and scrapers must keep working under load).

Counters live in ``GATE_RATE_LIMIT_STORAGE``: ``memory://`` counts per process (one instance), ``redis://host:port``
shares them between every process and instance (production). Behind a reverse proxy the caller's address is the
one it forwards (``GATE_PROXY_HOPS`` trusted hops of ``X-Forwarded-For``); without it every caller would be the proxy.
A refused request answers 429 ``rate_limited`` with ``Retry-After`` — JSON for the API, a page on pages.
When the counter store cannot be reached, requests are served uncounted and an error is logged: limits protect the
service's capacity, so losing Redis must not take every instance down with it (no decision depends on a limit).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

import flask
from limits import parse
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.exc import SQLAlchemyError

from gate.errors import ConfigError, GateError

LOGGER = logging.getLogger("gate.http")

UNCOUNTED = ("/healthz", "/metrics")
VERIFIED_KEY_SECONDS = 60.0  # a real key is looked up again after this (a rotated key drops to anonymous)
VERIFIED_KEY_ENTRIES = 4096  # bound on remembered keys; the memo is emptied when full
# Anonymous requests that read a package or try a password: the upload budget.
EXPENSIVE = {("POST", "/precheck"), ("POST", "/precheck/certificate"), ("POST", "/console/login")}


class RateLimited(GateError):
    """Too many requests from one client or address in the current window."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimits:
    """The three budgets over one counter storage; ``check()`` runs before every request."""

    def __init__(self, *, storage: str, client: str, address: str, upload: str) -> None:
        try:
            self.storage = storage_from_string(storage)  # also holds gate.web.login_throttle's counters
            self._limiter = MovingWindowRateLimiter(self.storage)
        except (ConfigurationError, ValueError) as exc:
            raise ConfigError(f"GATE_RATE_LIMIT_STORAGE={storage!r} cannot be used ({exc})") from None
        self._verified: dict[bytes, tuple[str, float]] = {}  # SHA-256 of the header -> (key id, valid until)
        self._rates = {name: _rate(value, f"GATE_RATE_LIMIT_{name.upper()}")
                       for name, value in (("client", client), ("address", address), ("upload", upload))}

    def check(self) -> None:
        request = flask.request
        if request.path in UNCOUNTED or request.path.startswith("/console/static/"):
            return
        address = request.remote_addr or "unknown"
        if (request.method, request.path) in EXPENSIVE:
            self._hit("upload", f"upload:{address}")
        key_id = self._verified_key_id(request.headers.get("Authorization"))
        if key_id:
            self._hit("client", f"client:{key_id}")
            return
        self._hit("address", f"address:{address}")

    def _verified_key_id(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        digest = hashlib.sha256(authorization.encode("utf-8", "surrogateescape")).digest()
        now = time.monotonic()
        remembered = self._verified.get(digest)
        if remembered is not None and remembered[1] > now:
            return remembered[0]
        from gate.api.service import service
        from gate.services.auth import verified_key_id

        try:
            key_id = verified_key_id(service().engine, authorization)
        except SQLAlchemyError:  # the database is down: count the caller as anonymous; the route says 503 itself
            return None
        if key_id is not None:
            if len(self._verified) >= VERIFIED_KEY_ENTRIES:
                self._verified.clear()
            self._verified[digest] = (key_id, now + VERIFIED_KEY_SECONDS)
        return key_id

    def _hit(self, budget: str, key: str) -> None:
        rate = self._rates[budget]
        if rate is None:
            return
        try:
            if self._limiter.hit(rate, budget, key):
                return
        except Exception as exc:  # noqa: BLE001 - the counter store (Redis) is down: see the module docstring
            LOGGER.error("rate-limit storage unavailable; request not counted",
                         extra={"fields": {"error_type": type(exc).__name__}})
            return
        reset = self._limiter.get_window_stats(rate, budget, key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        LOGGER.warning("rate limited", extra={"fields": {"budget": budget, "key": key.split(":", 1)[0]}})
        raise RateLimited(f"too many requests (the {budget} budget is {rate}); retry in {retry_after} s",
                          retry_after=retry_after)


def _rate(value: str, name: str):
    if value.strip().lower() == "off":
        return None
    try:
        return parse(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a rate such as 600/minute (or off)") from None
