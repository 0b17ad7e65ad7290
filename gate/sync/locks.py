"""Single-instance job locks: a scheduled job runs on exactly one gate instance at a time (docs/deploy.md "Scaling").

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection for the job's duration. The
server releases it when that session ends, so a SIGKILLed instance cannot leave a stale lock behind. The key is
derived from the job name *and the current schema*, so separate gate databases sharing one server (test schemas)
do not exclude each other.

SQLite: ``fcntl.flock`` on a file next to the database file (``gate.db.report.lock``); the kernel drops it when
the process dies, for the same reason. An in-memory database has no neighbour: its locks live in the temp dir.

Locks are tried, never waited for: an instance that finds a job locked skips it (another one is doing the work).

A held lock is a ``HeldLock``: a job calls ``ensure()`` before each step that writes. On PostgreSQL the lock lives
only as long as its connection: if that connection is lost (the server restarted, the backend was terminated, a
proxy cut it) the server has released the lock and another instance may already be running the job, so
``ensure()`` raises ``LockLost`` and the job stops instead of running on unlocked. A server that does not answer the
probe within ``LOCK_PROBE_SECONDS`` counts as lost too (the session watchdog cuts the session: gate.db.watchdog):
an instance cut off from the database stops at its next step, and the server ends the orphaned session, releasing
the lock, when its keepalives find no client (gate.db.engine). Between two checks a step may
still overlap with the new holder: every step is therefore also guarded in its own transaction (a conditional
update whose row count says whether this instance won), so an overlap costs time, never a second effect.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pathlib
import tempfile
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gate.errors import GateError

LOCK_PROBE_SECONDS = 5.0


class LockUnavailable(GateError):
    """The lock mechanism itself failed (database unreachable, lock file not writable)."""

    code = "job_lock_failed"


class LockLost(GateError):
    """The lock's connection went away while the job ran: another instance may hold the lock now."""

    code = "job_lock_lost"


class HeldLock:
    """The outcome of trying a lock: true when held; ``ensure()`` raises LockLost once it is no longer held."""

    def __init__(self, name: str, held: bool, probe=None) -> None:
        self.name, self.held, self._probe = name, held, probe

    def __bool__(self) -> bool:
        return self.held

    def ensure(self) -> None:
        if self.held and self._probe is not None:
            self._probe()


def advisory_key(schema: str, name: str) -> int:
    """A signed 64-bit key (what pg_try_advisory_lock takes) for a job in a schema."""
    digest = hashlib.sha256(f"filing-gate:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_path(engine: Engine, name: str) -> pathlib.Path:
    database = engine.url.database
    if not database or database == ":memory:":
        return pathlib.Path(tempfile.gettempdir()) / f"filing-gate-{os.getuid()}.{name}.lock"
    return pathlib.Path(f"{os.path.abspath(database)}.{name}.lock")


@contextlib.contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[HeldLock]:
    """``with job_lock(engine, "report") as held:`` — ``held`` is false when another instance holds it."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with _advisory_lock(engine, name) as held:
            yield held
    elif dialect == "sqlite":
        with _file_lock(lock_path(engine, name)) as held:
            yield held
    else:
        raise LockUnavailable(f"no single-instance lock for the {dialect} database", code="job_lock_unsupported")


@contextlib.contextmanager
def _advisory_lock(engine: Engine, name: str) -> Iterator[HeldLock]:
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise LockUnavailable(f"cannot reach the database to take the {name} lock: {exc}") from None
    try:
        with conn.begin():
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        key = advisory_key(schema, name)
        with conn.begin():  # the lock is per session; the transaction only wraps the statement
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
        def probe() -> None:
            try:
                with conn.begin():
                    conn.execute(text("SELECT 1"), execution_options={"deadline_seconds": LOCK_PROBE_SECONDS})
            except SQLAlchemyError:
                conn.invalidate()  # never back into the pool: this session may still hold the lock on the server
                raise LockLost(f"the connection holding the {name} lock was lost; another instance may run the "
                               "job now, so this run stops") from None

        try:
            yield HeldLock(name, held, probe)
        finally:
            if held:
                try:
                    with conn.begin():
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except SQLAlchemyError:
                    # A pooled session must never keep the lock: drop it, the server then releases the lock.
                    conn.invalidate()
    finally:
        conn.close()


@contextlib.contextmanager
def _file_lock(path: pathlib.Path) -> Iterator[HeldLock]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LockUnavailable(f"cannot open lock file {path}: {exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield HeldLock(path.name, False)
            return
        try:
            yield HeldLock(path.name, True)  # the kernel keeps it while this process lives: nothing to lose
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
