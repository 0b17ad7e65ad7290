"""``gate worker``: take check jobs from the database, decide them, and deliver the callbacks they owe.

One job at a time per process; run more processes (on PostgreSQL) for more throughput. Callbacks are delivered
beside the jobs by their own thread and a bounded pool (GATE_CALLBACK_CONCURRENCY). The decision, the check
row, the job's completion and the callback's outbox row are written in one transaction, guarded by the job's
owner; the spooled package is deleted after that commit.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor

from sqlalchemy import update
from sqlalchemy.engine import Engine

from gate.config import Settings
from gate.platform_hooks import callbacks, checks, jobs
from gate.store.service_tables import ServiceCheck
from gate.store.tables import utcnow

LOGGER = logging.getLogger("gate.worker")
SC = ServiceCheck.__table__
CALLBACK_ROUND = 4  # deliveries claimed per round per sending thread: a round ends soon, claims stay fresh


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, engine: Engine, settings: Settings, *, name: str | None = None) -> None:
        from gate.platform_hooks.fetch import policy_from_settings

        self.engine, self.settings = engine, settings
        self.name = name or worker_name()
        self.policy = settings.decision_policy()
        self.fetch_policy = policy_from_settings(settings)

    def run_once(self) -> bool:
        """Process at most one job; True when there was one."""
        job = jobs.claim(self.engine, self.name, lease_seconds=self.settings.job_lease_seconds)
        if job is not None:
            self.process(job)
        return job is not None

    def deliver_callbacks(self, pool: Executor | None = None) -> int:
        """One round of due callbacks (on ``pool`` side by side when given); how many were delivered."""
        return callbacks.deliver_due(self.engine, policy=self.fetch_policy, pool=pool,
                                     backoff_seconds=self.settings.callback_backoff_seconds,
                                     max_attempts=self.settings.callback_max_attempts,
                                     timeout=self.settings.callback_timeout_seconds,
                                     limit=CALLBACK_ROUND * self.settings.callback_concurrency)

    def run(self, *, poll_seconds: float = 1.0, stop: threading.Event | None = None) -> None:
        """Jobs on this thread, callbacks on their own thread and pool: a slow store endpoint delays only its
        own callbacks, never the checks queued behind them."""
        stop = stop or threading.Event()
        LOGGER.info("worker started", extra={"fields": {"worker": self.name}})
        sender = threading.Thread(target=self._callback_loop, args=(poll_seconds, stop), name="callbacks",
                                  daemon=True)
        sender.start()
        self._loop(self.run_once, poll_seconds, stop)
        sender.join()

    def _callback_loop(self, poll_seconds: float, stop: threading.Event) -> None:
        with ThreadPoolExecutor(max_workers=self.settings.callback_concurrency,
                                thread_name_prefix="callback") as pool:
            self._loop(lambda: self.deliver_callbacks(pool) > 0, poll_seconds, stop)

    def _loop(self, step, poll_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = step()
            except Exception:  # noqa: BLE001 - a database blip must not end the worker; jobs keep their leases
                LOGGER.exception("worker round failed; retrying", extra={"fields": {"worker": self.name}})
                busy = False
            if not busy:
                stop.wait(poll_seconds)

    def process(self, job: jobs.ClaimedJob) -> None:
        started = time.perf_counter()
        try:
            with jobs.Heartbeat(self.engine, job.id, self.name, self.settings.job_lease_seconds):
                outcome = self._check(job)
        except Exception as exc:  # noqa: BLE001 - the job is released for a retry, never silently dropped
            LOGGER.exception("job failed", extra={"fields": {"job_id": job.id, "check_id": job.check_id}})
            released = jobs.release_for_retry(self.engine, job, self.name, f"{type(exc).__name__}: {exc}")
            if released == "final":
                released = "failed" if self._fail(job, "the check could not be completed; see the worker log") \
                    else "lost"
            LOGGER.info("job released", extra={"fields": {"job_id": job.id, "outcome": released}})
            return
        LOGGER.info("job done", extra={"fields": {
            "job_id": job.id, "check_id": job.check_id, "verdict": outcome and outcome.decision["verdict"],
            "seconds": round(time.perf_counter() - started, 3), "attempt": job.attempts}})

    def _check(self, job: jobs.ClaimedJob):
        payload = job.payload
        path = payload["path"]
        if not os.path.exists(path):
            self._fail(job, "the spooled package is missing (was GATE_SPOOL_DIR shared with the worker?)")
            return None
        facts = checks.extract(path, payload.get("filename") or "package.apk")
        with self.engine.begin() as conn:
            done = conn.execute(update(jobs.J).where(jobs.owned(job.id, self.name))
                                .values(status="done", finished_at=utcnow(), lease_until=None)).rowcount
            if not done:  # lost the lease: another worker owns the job now, and its result will stand
                return None
            outcome = checks.finish_job_check(conn, check_id=job.check_id, facts=facts,
                                              metadata=payload.get("metadata") or {}, policy=self.policy,
                                              actor=f"worker:{self.name}")
            if payload.get("callback_url"):
                callbacks.queue_callback(conn, client_id=payload["client_id"], check_id=job.check_id,
                                         url=payload["callback_url"], body=outcome.as_dict())
        _discard(path)
        return outcome

    def _fail(self, job: jobs.ClaimedJob, message: str) -> bool:
        """Fail the job and its check, only while this worker still owns the job; False when the lease was lost
        (another worker owns it and may have completed the check: nothing is written, its spool is left alone)."""
        with self.engine.begin() as conn:
            failed = conn.execute(update(jobs.J).where(jobs.owned(job.id, self.name)).values(
                status="failed", finished_at=utcnow(), last_error=message, lease_until=None)).rowcount
            if failed:
                conn.execute(update(SC).where(SC.c.check_id == job.check_id).values(
                    status="failed", error=message, updated_at=utcnow()))
                if job.payload.get("callback_url"):  # the store waits for an answer: tell it there is none
                    callbacks.queue_callback(conn, client_id=job.payload["client_id"], check_id=job.check_id,
                                             url=job.payload["callback_url"], body={
                                                 "event": callbacks.FAILED_EVENT, "check_id": job.check_id,
                                                 "status": "failed",
                                                 "error": {"code": "check_failed", "message": message}})
        if not failed:
            LOGGER.warning("lost the lease; the job's new owner decides it",
                           extra={"fields": {"job_id": job.id, "check_id": job.check_id}})
            return False
        _discard(job.payload.get("path"))
        return True


def _discard(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
