"""Health within a fixed time: ``/healthz`` and ``/metrics`` answer even when the database does not.

A database probe runs on its own thread and is waited for ``PROBE_SECONDS`` at most: a database that stops
answering (packets dropped, a stuck proxy) turns ``/healthz`` into ``503`` and ``gate_database_up`` into 0 within
that time, instead of holding the caller for as long as TCP takes to give up. At most one probe per kind is in
flight per process: a caller arriving meanwhile waits for that probe (at most the same time), so a load balancer
polling every second cannot pile threads and connections onto a dead database. A stuck probe ends when the session
watchdog cuts its session (gate.db.watchdog).

Saturation: the process counts the requests it is answering. When every request thread is busy with other work
(``GATE_SERVE_THREADS``, what ``gate serve --threads`` was given), a new request would wait in the queue, so
``/healthz`` answers ``503 overloaded``: a load balancer sends the next caller elsewhere instead of behind the queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

PROBE_SECONDS = 3.0
PROBE_STATEMENT_SECONDS = 2.5  # the probe's own statement deadline (the watchdog), inside PROBE_SECONDS


class ProbeUnanswered(Exception):
    """The probe did not finish in time, or an earlier probe of the same kind is still waiting."""


class BoundedProbe:
    """Runs a callable on a helper thread and waits for it ``seconds`` at most. Callers that arrive while a probe is
    in flight wait for that same probe and share its outcome (two scrapers at once are not an outage), so there is
    never more than one probe of a kind per process, however long the database keeps it waiting."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._running: tuple[threading.Thread, dict[str, Any]] | None = None

    def run(self, probe: Callable[[], Any], seconds: float = PROBE_SECONDS) -> Any:
        with self._lock:
            if self._running is None or not self._running[0].is_alive():
                outcome: dict[str, Any] = {}

                def target() -> None:
                    try:
                        outcome["value"] = probe()
                    except BaseException as exc:  # noqa: BLE001 - handed to the callers below
                        outcome["error"] = exc

                thread = threading.Thread(target=target, name=f"gate-probe-{self.name}", daemon=True)
                self._running = (thread, outcome)
                thread.start()
            thread, outcome = self._running
        thread.join(seconds)
        if thread.is_alive():
            raise ProbeUnanswered(f"the database did not answer the {self.name} probe within {seconds:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")


class InFlight:
    """Requests this process is answering now (health and metrics scrapes not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> None:
        with self._lock:
            self.count += 1

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


HEALTH = BoundedProbe("health")
METRICS = BoundedProbe("metrics")
REQUESTS = InFlight()
