"""Faults the sandbox injects on request, so the gate's retry and idempotency logic meets real failures.

Counters are shared by all server threads and decremented under a lock: "the first N" means exactly N.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

DEFAULT_RETRY_AFTER = 1  # seconds announced with each injected 503


@dataclass
class FaultPlan:
    """``fail_first``: report POSTs answered 503 + Retry-After; ``drop_connections``: API requests whose
    connection is closed without any answer; ``latency``: seconds slept before answering an API request."""

    fail_first: int = 0
    drop_connections: int = 0
    latency: float = 0.0
    retry_after: int = DEFAULT_RETRY_AFTER
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take_failure(self) -> bool:
        """True for each of the first ``fail_first`` calls."""
        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return True
            return False

    def take_drop(self) -> bool:
        """True for each of the first ``drop_connections`` calls."""
        with self._lock:
            if self.drop_connections > 0:
                self.drop_connections -= 1
                return True
            return False
