"""Per-address backoff of failed console sign-ins, across usernames, in the rate-limit counter store.

The account's own backoff (gate.web.accounts) slows guesses at one account from everywhere; this one slows one
address guessing many accounts (a password sprayed over every username). The first ``FREE_FAILURES`` wrong sign-ins
from an address within ``WINDOW_SECONDS`` cost nothing; each further one makes the address wait 4, 8, 16 … s, at most
``MAX_DELAY_SECONDS``, before its next try is even looked at (429 with ``Retry-After``; nothing about any account is
revealed). The counters live where the rate limits' do (``GATE_RATE_LIMIT_STORAGE``: one process's memory, or Redis
shared by every instance); when that store is unreachable sign-ins go on with the account backoff alone, as the rate
limits do (gate.api.limits).
"""

from __future__ import annotations

import logging
import math
import time

import flask

LOGGER = logging.getLogger("gate.http")

FREE_FAILURES = 10  # wrong sign-ins per address per window before it waits
WINDOW_SECONDS = 15 * 60  # the failure count is forgotten this long after the address's first failure
FIRST_DELAY_SECONDS = 4
MAX_DELAY_SECONDS = 300
EXTENSION_KEY = "gate.login_throttle"


class LoginThrottle:
    """Failure counts and waits per address, over a ``limits`` storage (memory:// or redis://)."""

    def __init__(self, storage) -> None:
        self._storage = storage

    def wait_seconds(self, address: str) -> int:
        """How long the address must still wait before its next sign-in attempt (0: it may try now)."""
        try:
            if not self._storage.get(f"login_wait/{address}"):
                return 0
            return max(1, math.ceil(self._storage.get_expiry(f"login_wait/{address}") - time.time()))
        except Exception as exc:  # noqa: BLE001 - the counter store (Redis) is down: see the module docstring
            _unavailable(exc)
            return 0

    def failed(self, address: str) -> None:
        """Count a wrong sign-in from the address and start its wait when it is past its free failures."""
        try:
            failures = self._storage.incr(f"login_failures/{address}", WINDOW_SECONDS)
            delay = delay_after(failures)
            if delay:
                self._storage.incr(f"login_wait/{address}", delay)
        except Exception as exc:  # noqa: BLE001 - as above
            _unavailable(exc)


def delay_after(failures: int) -> int:
    if failures <= FREE_FAILURES:
        return 0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES - 1), MAX_DELAY_SECONDS)


def _unavailable(exc: Exception) -> None:
    LOGGER.error("sign-in throttle storage unavailable; address not throttled",
                 extra={"fields": {"error_type": type(exc).__name__}})


def throttle() -> LoginThrottle:
    return flask.current_app.extensions[EXTENSION_KEY]
