"""The session watchdog: a PostgreSQL session whose server stopped answering is cut from our side.

psycopg waits for a server's answer without a time limit, and when the path to the server still acknowledges our
bytes (a relay or proxy that stopped forwarding, a server stuck on I/O) no TCP timer ever fires: the thread waits
for as long as the outage lasts. So every statement, and the pool's liveness probe, is registered here with a
deadline; one thread per process shuts down the socket of any session still waiting past it. libpq then reads
end-of-file, psycopg raises ``OperationalError`` and SQLAlchemy discards the connection (a disconnect), which the
service answers as ``503 database_unavailable``. A session cut this way ends on our side at once; the server ends
its side when its own keepalives find no client (gate.db.engine), releasing the session's advisory locks.

A statement may ask for a shorter deadline with ``execution_options(deadline_seconds=...)`` (the health probe does).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

LOGGER = logging.getLogger("gate.database")
TICK_SECONDS = 0.25


class SessionWatchdog:
    """Deadlines of sessions waiting for their server, and the thread that enforces them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waits: dict[int, tuple[float, int]] = {}  # id(dbapi connection) -> (deadline, socket fd)
        self._thread: threading.Thread | None = None
        self.cuts = 0

    def arm(self, dbapi_connection, seconds: float) -> None:
        fd = _socket_of(dbapi_connection)
        if fd is None:
            return
        with self._lock:
            self._waits[id(dbapi_connection)] = (time.monotonic() + seconds, fd)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gate-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_connection) -> None:
        with self._lock:
            self._waits.pop(id(dbapi_connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:  # held while cutting: a session cannot finish and free its fd meanwhile
                for key, (deadline, fd) in list(self._waits.items()):
                    if deadline <= now:
                        del self._waits[key]
                        _cut(fd)
                        self.cuts += 1
                        LOGGER.warning("database session cut: no answer before its deadline",
                                       extra={"fields": {"fd": fd}})


def _socket_of(dbapi_connection) -> int | None:
    try:
        fd = dbapi_connection.fileno()  # psycopg 3: the libpq socket
    except Exception:  # noqa: BLE001 - a closed or broken connection has no socket to watch
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


def _cut(fd: int) -> None:
    """Shut the session's socket down (through a duplicate of its descriptor: libpq keeps and closes its own)."""
    try:
        dup = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()


WATCHDOG = SessionWatchdog()


def watch_engine(engine: Engine, *, statement_seconds: float, ping_seconds: float) -> None:
    """Register every statement and liveness probe of ``engine`` with the process's watchdog."""

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn, cursor, statement, parameters, context, executemany):
        options = context.execution_options if context is not None else conn.get_execution_options()
        seconds = options.get("deadline_seconds", statement_seconds)
        WATCHDOG.arm(conn.connection.dbapi_connection, seconds)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn, cursor, statement, parameters, context, executemany):
        WATCHDOG.disarm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context):
        try:
            WATCHDOG.disarm(context.connection.connection.dbapi_connection)
        except Exception:  # noqa: BLE001 - no connection (a failed connect) or already invalidated: nothing armed
            pass

    dialect = engine.dialect
    ping = dialect.do_ping

    def bounded_ping(dbapi_connection):  # pool_pre_ping runs below the engine's events
        WATCHDOG.arm(dbapi_connection, ping_seconds)
        try:
            return ping(dbapi_connection)
        finally:
            WATCHDOG.disarm(dbapi_connection)

    # Patching one engine's dialect instance is the only hook below pool_pre_ping; mypy forbids assigning methods.
    dialect.do_ping = bounded_ping  # type: ignore[method-assign]
