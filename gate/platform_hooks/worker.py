"""``gate worker``: take check jobs from the database, decide them, and deliver the callbacks they owe.

One job at a time per process; run more processes (on PostgreSQL) for more throughput. The decision, the check
row, the job's completion and the callback's outbox row are written in one transaction, guarded by the job's
owner; the spooled package is deleted after that commit.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import update
from sqlalchemy.engine import Engine

from gate.config import Settings
from gate.platform_hooks import callbacks, checks, jobs
from gate.store.service_tables import ServiceCheck
from gate.store.tables import utcnow

LOGGER = logging.getLogger("gate.worker")
SC = ServiceCheck.__table__


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, engine: Engine, settings: Settings, *, name: str | None = None) -> None:
        from gate.platform_hooks.fetch import FetchPolicy, parse_networks

        self.engine, self.settings = engine, settings
        self.name = name or worker_name()
        self.policy = settings.decision_policy()
        self.fetch_policy = FetchPolicy(max_bytes=settings.max_upload_bytes, allow_http=settings.fetch_allow_http,
                                        allow_networks=parse_networks(settings.fetch_allow_networks))

    def run_once(self) -> bool:
        """Process at most one job and one round of callbacks; True when there was anything to do."""
        job = jobs.claim(self.engine, self.name, lease_seconds=self.settings.job_lease_seconds)
        if job is not None:
            self.process(job)
        sent = callbacks.deliver_due(self.engine, policy=self.fetch_policy,
                                     backoff_seconds=self.settings.callback_backoff_seconds,
                                     max_attempts=self.settings.callback_max_attempts,
                                     timeout=self.settings.callback_timeout_seconds)
        return job is not None or sent > 0

    def run(self, *, poll_seconds: float = 1.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        LOGGER.info("worker started", extra={"fields": {"worker": self.name}})
        while not stop.is_set():
            try:
                busy = self.run_once()
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
            if jobs.release_for_retry(self.engine, job, self.name, f"{type(exc).__name__}: {exc}") == "failed":
                self._fail(job, "the check could not be completed; see the worker log")
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

    def _fail(self, job: jobs.ClaimedJob, message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs.J).where(jobs.J.c.id == job.id).values(
                status="failed", finished_at=utcnow(), last_error=message, lease_until=None))
            conn.execute(update(SC).where(SC.c.check_id == job.check_id).values(
                status="failed", error=message, updated_at=utcnow()))
        _discard(job.payload.get("path"))


def _discard(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
