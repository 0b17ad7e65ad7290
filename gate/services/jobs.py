"""The job queue, held in the database so no accepted upload is lost when a process dies.

Claiming: one statement moves a job from ``queued`` (or ``running`` with an expired lease — its worker stopped
heartbeating, e.g. it was killed) to ``running`` under this worker's name. On PostgreSQL the candidate is selected
``FOR UPDATE SKIP LOCKED``, so several workers never wait on or take the same row; on SQLite the database's single
writer makes the UPDATE ... WHERE status='queued' claim atomic, and one worker is the supported setup.

While a job runs, a heartbeat thread extends its lease. Completing is guarded by the owner: if the lease was lost
(the worker stalled past it and another took the job), the completion writes nothing and the other worker's result
stands. The spooled package is deleted only after the completing transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from gate.db.service_tables import Job
from gate.db.tables import table_of, utcnow

J = table_of(Job)
LOGGER = logging.getLogger("gate.worker")
MAX_JOB_ATTEMPTS = 5  # a job that keeps killing its worker (or failing) stops being retried
RETRY_DELAY_SECONDS = 5.0


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    check_id: str | None
    payload: dict[str, Any]
    attempts: int

    def required_check_id(self) -> str:
        """The check a check job writes; the column is nullable for other kinds of job, so a check job without one
        is a corrupt row: it fails (and is retried, then failed) rather than write a result nowhere."""
        if self.check_id is None:
            raise ValueError(f"job {self.id} ({self.kind}) names no check")
        return self.check_id


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    return or_(and_(J.c.status == "queued", J.c.available_at <= now),
               and_(J.c.status == "running", J.c.lease_until < now))


def claim(engine: Engine, worker: str, *, lease_seconds: int) -> ClaimedJob | None:
    now = utcnow()
    candidate = select(J.c.id).where(_claimable(now)).order_by(J.c.id).limit(1)
    if engine.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    statement = (update(J).where(J.c.id == candidate.scalar_subquery(), _claimable(now))
                 .values(status="running", worker=worker, lease_until=now + dt.timedelta(seconds=lease_seconds),
                         attempts=J.c.attempts + 1)
                 .returning(J.c.id, J.c.kind, J.c.check_id, J.c.payload, J.c.attempts))
    with engine.begin() as conn:
        row = conn.execute(statement).first()
    if row is None:
        return None
    return ClaimedJob(row.id, row.kind, row.check_id, json.loads(row.payload), row.attempts)


def owned(job_id: int, worker: str) -> ColumnElement[bool]:
    """The WHERE clause of every write a worker makes to its job: still running, still its own."""
    return and_(J.c.id == job_id, J.c.worker == worker, J.c.status == "running")


class Heartbeat:
    """Extends a job's lease every third of the lease while the job runs (a context manager)."""

    def __init__(self, engine: Engine, job_id: int, worker: str, lease_seconds: int) -> None:
        self.engine, self.job_id, self.worker, self.lease = engine, job_id, worker, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(J).where(owned(self.job_id, self.worker)).values(
                        lease_until=utcnow() + dt.timedelta(seconds=self.lease)))
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the next one retries
                LOGGER.warning("heartbeat failed", extra={"fields": {"job_id": self.job_id}})

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def release_for_retry(engine: Engine, job: ClaimedJob, worker: str, error: str) -> str:
    """After an unexpected failure: queue again after a delay. Returns what happened: ``queued``; ``final`` (the
    attempts are spent and nothing was written: the caller fails job and check together, guarded); or ``lost``
    (the lease had passed and another worker owns the job: nothing was written, its result will stand)."""
    if job.attempts >= MAX_JOB_ATTEMPTS:
        return "final"
    with engine.begin() as conn:
        released = conn.execute(update(J).where(owned(job.id, worker)).values(
            status="queued", available_at=utcnow() + dt.timedelta(seconds=RETRY_DELAY_SECONDS * job.attempts),
            last_error=error[:2000], lease_until=None)).rowcount
    return "queued" if released else "lost"
