"""Deleting spool files nobody will ever use: what a server killed in the middle of an upload left behind.

A spool file (``gate-upload-*.pkg`` in ``GATE_SPOOL_DIR``) is in use while any of these holds, and is then kept:
1. a process holds a ``flock`` on it (a request is writing it: gate.services.uploads.HashingSpool);
2. it was modified less than ``GATE_SPOOL_ORPHAN_SECONDS`` (default 600) ago (a finished upload on its way into the job table, a
   synchronous check extracting it);
3. a live job (queued or running) names it: the worker still has to read it.
Anything else is an orphan: its request died before a job took it. ``gate serve`` and ``gate worker`` sweep at
start-up and the worker every ``SWEEP_INTERVAL_SECONDS``. Locks are per host (``flock``): a spool directory shared
between hosts relies on 2 and 3, which is why the age is generous.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat as stat_module
import tempfile
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from gate.db.service_tables import Job
from gate.db.tables import table_of
from gate.services.uploads import SPOOL_PREFIX, SPOOL_SUFFIX

LOGGER = logging.getLogger("gate.spool")
J = table_of(Job)
ORPHAN_AGE_SECONDS = 600.0
SWEEP_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class SweepResult:
    deleted: int
    freed_bytes: int
    kept_in_use: int


def _live_job_paths(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        payloads = conn.execute(select(J.c.payload).where(J.c.status.in_(("queued", "running")))).scalars()
        paths = set()
        for payload in payloads:
            job = json.loads(payload or "{}")
            # the package's spool and, for a packed package checked with its unpacked build, that build's
            for path in (job.get("path"), (job.get("unpacked") or {}).get("path")):
                if path:
                    paths.add(os.path.realpath(path))
    return paths


def _unlocked(path: str) -> bool:
    """True when no process holds a lock on ``path`` (and nothing could take one while we looked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops our own lock
    return True


def sweep_orphans(engine: Engine, directory: str | None, *, age_seconds: float = ORPHAN_AGE_SECONDS,
                  now: float | None = None) -> SweepResult:
    """Delete orphaned spool files in ``directory`` (the system temp dir when None); see the module docstring."""
    directory = directory or tempfile.gettempdir()
    now = time.time() if now is None else now
    try:
        names = [n for n in os.listdir(directory) if n.startswith(SPOOL_PREFIX) and n.endswith(SPOOL_SUFFIX)]
    except OSError as exc:
        LOGGER.warning("cannot list the spool directory", extra={"fields": {"dir": directory, "error": str(exc)}})
        return SweepResult(0, 0, 0)
    if not names:
        return SweepResult(0, 0, 0)
    live = _live_job_paths(engine)
    deleted = freed = kept = 0
    for name in names:
        path = os.path.join(directory, name)
        try:
            stat = os.lstat(path)
        except OSError:
            continue
        if not stat_module.S_ISREG(stat.st_mode):  # the gate writes regular files only; leave anything else alone
            continue
        if now - stat.st_mtime < age_seconds or os.path.realpath(path) in live or not _unlocked(path):
            kept += 1
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        deleted += 1
        freed += stat.st_size
    if deleted:
        LOGGER.warning("orphaned spool files deleted", extra={"fields": {
            "dir": directory, "files": deleted, "bytes": freed}})
    return SweepResult(deleted, freed, kept)
