"""``gate worker``: take check jobs from the database, decide them, and deliver the callbacks they owe.

One job at a time per process; run more processes (on PostgreSQL) for more throughput. Callbacks are delivered
beside the jobs by their own thread and a bounded pool (GATE_CALLBACK_CONCURRENCY). The decision, the check
row, the job's completion and the callback's outbox row are written in one transaction, guarded by the job's
owner; the spooled package is deleted after that commit.

Identity: each process start is ``host:pid:random`` (callbacks.process_identity), so two containers that both run
as PID 1 under one host name never pass each other's ownership guards.

Callbacks are sent by gate.services.callback_sender on their own thread: a slow store never delays checks.

A job that fails while the database is away cannot be released at once: the release is retried until the database
answers again (within the job's lease), so a short blip delays the check by the blip, not by a whole lease.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gate.config import Settings
from gate.db.service_tables import ServiceCheck
from gate.db.tables import table_of, utcnow
from gate.errors import GateError
from gate.services import callbacks, checks, jobs, metrics
from gate.services.decisions import CheckRequest
from gate.services.uploads import UploadError

LOGGER = logging.getLogger("gate.worker")
SC = table_of(ServiceCheck)
CALLBACK_ROUND = 4  # `gate worker --once`: deliveries claimed per round per sending slot
RELEASE_RETRY_MAX_SECONDS = 2.0  # between attempts to release a failed job while the database is away
RETRIED_DOWNLOAD_CODES = ("package_url_unreachable", "spool_full")  # may work on a later attempt


def worker_name() -> str:
    return callbacks.process_identity()


class Worker:
    def __init__(self, engine: Engine, settings: Settings, *, name: str | None = None) -> None:
        from gate.services.fetch import policy_from_settings

        self.engine, self.settings = engine, settings
        self.name = name or worker_name()
        self.policy = settings.decision_policy()
        self.fetch_policy = policy_from_settings(settings)
        self._next_sweep = 0.0  # monotonic time of the next orphaned-spool sweep (at once on the first round)

    def sweep_spool(self) -> None:
        """Delete orphaned spool files at start-up and every SWEEP_INTERVAL_SECONDS (gate...spool_sweep)."""
        if time.monotonic() < self._next_sweep:
            return
        from gate.services.spool_sweep import SWEEP_INTERVAL_SECONDS, sweep_orphans

        self._next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
        sweep_orphans(self.engine, self.settings.spool_dir, age_seconds=self.settings.spool_orphan_seconds)

    def run_once(self) -> bool:
        """Process at most one job; True when there was one."""
        self.sweep_spool()
        job = jobs.claim(self.engine, self.name, lease_seconds=self.settings.job_lease_seconds)
        if job is not None:
            self.process(job)
        return job is not None

    def deliver_callbacks(self, pool: Executor | None = None) -> int:
        """One round of due callbacks (on ``pool`` side by side when given); how many were delivered."""
        return callbacks.deliver_due(self.engine, policy=self.fetch_policy, pool=pool, owner=self.name,
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
        from gate.services.callback_sender import CallbackSender

        CallbackSender(self.engine, self.settings, owner=self.name, policy=self.fetch_policy).run(poll_seconds, stop)

    def _loop(self, step: Callable[[], object], poll_seconds: float, stop: threading.Event) -> None:
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
            error = f"{exc.code}: {exc.message}" if isinstance(exc, GateError) else f"{type(exc).__name__}: {exc}"
            released = self._when_database_answers(job, lambda: jobs.release_for_retry(
                self.engine, job, self.name, error))
            if released == "final":
                released = self._when_database_answers(job, lambda: "failed" if self._fail(
                    job, "the check could not be completed; see the worker log") else "lost")
            LOGGER.info("job released", extra={"fields": {"job_id": job.id, "outcome": released}})
            return
        LOGGER.info("job done", extra={"fields": {
            "job_id": job.id, "check_id": job.check_id, "verdict": outcome.decision["verdict"] if outcome and outcome.decision else None,
            "seconds": round(time.perf_counter() - started, 3), "attempt": job.attempts}})

    def _when_database_answers(self, job: jobs.ClaimedJob, step: Callable[[], str]) -> str:
        """Run ``step`` (a guarded write about ``job``), retrying while the database does not answer, until the
        job's lease would have passed; then ``expired``: the lease lets another claim retake the job."""
        give_up = time.monotonic() + self.settings.job_lease_seconds
        delay = 0.25
        while True:
            try:
                return step()
            except SQLAlchemyError as exc:
                if time.monotonic() + delay > give_up:
                    LOGGER.error("database away for the whole lease; the job is retaken when it expires",
                                 extra={"fields": {"job_id": job.id, "error_type": type(exc).__name__}})
                    return "expired"
                LOGGER.warning("database unavailable; retrying the job's release",
                               extra={"fields": {"job_id": job.id, "error_type": type(exc).__name__}})
                time.sleep(delay)
                delay = min(delay * 2, RELEASE_RETRY_MAX_SECONDS)

    def _download(self, job: jobs.ClaimedJob) -> str | None:
        """A package_url job's package, downloaded and digest-checked into the spool; None when the job failed.
        A download that may work later (the store's server unreachable, our spool full) is retried like any failed
        job; a refusal that will not change (forbidden address, digest mismatch, too large) fails the check."""
        from gate.services.fetch import fetch_package

        payload = job.payload
        try:
            spooled = fetch_package(payload["package_url"], expected_sha256=payload["sha256"],
                                    policy=self.fetch_policy, directory=self.settings.spool_dir)
        except UploadError as exc:
            if exc.code in RETRIED_DOWNLOAD_CODES and job.attempts < jobs.MAX_JOB_ATTEMPTS:
                raise
            self._fail(job, f"{exc.code}: {exc.message}")
            return None
        metrics.UPLOAD_BYTES.inc(spooled.size)
        return spooled.path

    def _check(self, job: jobs.ClaimedJob) -> checks.Outcome | None:
        payload = job.payload
        by_url = bool(payload.get("package_url"))
        path = self._download(job) if by_url else payload["path"]
        if path is None:
            return None
        if not os.path.exists(path):
            self._fail(job, "the spooled package is missing (was GATE_SPOOL_DIR shared with the worker?)")
            return None
        unpacked = payload.get("unpacked")
        if unpacked is not None and not os.path.exists(unpacked["path"]):
            if by_url:
                _discard(path)
            self._fail(job, "the spooled unpacked build is missing (was GATE_SPOOL_DIR shared with the worker?)")
            return None
        try:
            return self._decide(job, path, by_url=by_url)
        except BaseException:
            if by_url:  # our own download: the next attempt downloads again
                _discard(path)
            raise

    def _decide(self, job: jobs.ClaimedJob, path: str, *, by_url: bool) -> checks.Outcome | None:
        payload = job.payload
        facts = checks.extract(path, payload.get("filename") or "package.apk", trust=self.settings.trust_roots,
                               unpacked=payload.get("unpacked"))
        with self.engine.begin() as conn:
            done = conn.execute(update(jobs.J).where(jobs.owned(job.id, self.name))
                                .values(status="done", finished_at=utcnow(), lease_until=None)).rowcount
            if not done:  # lost the lease: another worker owns the job now, and its result will stand
                if by_url:
                    _discard(path)
                return None
            if by_url:
                conn.execute(update(SC).where(SC.c.check_id == job.check_id).values(size=os.path.getsize(path)))
            outcome = checks.finish_job_check(conn, check_id=job.required_check_id(), facts=facts,
                                              request=CheckRequest.declared(payload.get("metadata"),
                                                                            source=f"worker:{self.name}"),
                                              policy=self.policy)
            if payload.get("callback_url"):
                callbacks.queue_callback(conn, client_id=payload["client_id"], check_id=job.required_check_id(),
                                         url=payload["callback_url"], body=outcome.as_dict())
        _discard(path)
        _discard((payload.get("unpacked") or {}).get("path"))
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
                    callbacks.queue_callback(conn, client_id=job.payload["client_id"], check_id=job.required_check_id(),
                                             url=job.payload["callback_url"], body={
                                                 "event": callbacks.FAILED_EVENT, "check_id": job.check_id,
                                                 "status": "failed",
                                                 "error": {"code": "check_failed", "message": message}})
        if not failed:
            LOGGER.warning("lost the lease; the job's new owner decides it",
                           extra={"fields": {"job_id": job.id, "check_id": job.check_id}})
            return False
        _discard(job.payload.get("path"))
        _discard((job.payload.get("unpacked") or {}).get("path"))
        return True


def _discard(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
