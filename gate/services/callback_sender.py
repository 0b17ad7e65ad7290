"""A worker's callback sender: claims deliveries as its slots free up and sends each at once.

No claim waits in a queue behind a slow delivery (its lease would run while it waits), and nothing waits for a
round's slowest delivery: a slot that frees is refilled at the next turn. One client holds at most all slots but one
(one slot when there is only one), so a slow or stalling store leaves the other stores' callbacks flowing, while a
store alone still gets nearly every slot. Each delivery is bounded by its own deadline (gate.services.callbacks).
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from sqlalchemy.engine import Engine

from gate.config import Settings
from gate.services import callbacks
from gate.services.fetch import FetchPolicy

LOGGER = logging.getLogger("gate.worker")


class CallbackSender:
    def __init__(self, engine: Engine, settings: Settings, *, owner: str, policy: FetchPolicy) -> None:
        self.engine, self.settings, self.owner, self.policy = engine, settings, owner, policy
        self.slots = settings.callback_concurrency
        self.per_client = max(1, self.slots - 1)  # one slot always left for the other clients
        self._busy: dict[int, int] = {}  # client id -> deliveries in flight
        self._lock = threading.Lock()

    def run(self, poll_seconds: float, stop: threading.Event) -> None:
        running: set[Future[bool]] = set()
        with ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="callback") as pool:
            while not stop.is_set():
                running = {f for f in running if not f.done()}
                for claim in self._claim(self.slots - len(running)):
                    with self._lock:
                        self._busy[claim.client_id] = self._busy.get(claim.client_id, 0) + 1
                    future = pool.submit(self._send, claim)
                    future.add_done_callback(functools.partial(self._done, claim.client_id))
                    running.add(future)
                if running:
                    wait(running, timeout=poll_seconds, return_when=FIRST_COMPLETED)
                else:
                    stop.wait(poll_seconds)

    def _claim(self, free: int) -> list[callbacks.Claim]:
        if free <= 0:
            return []
        with self._lock:
            in_flight = {k: v for k, v in self._busy.items() if v}
        try:
            return callbacks.claim_due(self.engine, timeout=self.settings.callback_timeout_seconds, owner=self.owner,
                                       limit=free, per_client=self.per_client, busy=in_flight)
        except Exception:  # noqa: BLE001 - a database blip: the claims are tried again next turn
            LOGGER.exception("claiming callbacks failed; retrying", extra={"fields": {"worker": self.owner}})
            return []

    def _done(self, client_id: int, _sent: Future[bool]) -> None:
        with self._lock:
            self._busy[client_id] -= 1

    def _send(self, claim: callbacks.Claim) -> bool:
        try:
            return callbacks.attempt(self.engine, claim, policy=self.policy,
                                     backoff_seconds=self.settings.callback_backoff_seconds,
                                     max_attempts=self.settings.callback_max_attempts,
                                     timeout=self.settings.callback_timeout_seconds)
        except Exception:  # noqa: BLE001 - the database went away around the POST: the claim's lease retries it
            LOGGER.exception("callback attempt failed", extra={"fields": {"check_id": claim.check_id}})
            return False
