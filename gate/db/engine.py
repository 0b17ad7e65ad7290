"""Opening the database: engine per URL, SQLite pragmas, bounded waits on PostgreSQL, and the schema-version gate.

The gate refuses to run on a schema older (or newer) than its migrations: a half-migrated database would make
decisions on missing columns. The message says exactly what to run.

Every wait on PostgreSQL is bounded, because a database that stops answering (packets dropped, a stuck proxy) must
turn into ``503 database_unavailable`` within seconds, not hang every thread for as long as TCP takes to give up:
1. connecting: ``connect_timeout`` (the whole start-up, not only the TCP handshake);
2. a checked-out connection's liveness probe (``pool_pre_ping``): ``PING_SECONDS``;
3. a statement: ``statement_timeout`` on the server (a slow query ends there with an error), and on our side the
   session watchdog (gate.db.watchdog) cuts a session whose server has not answered ``WATCHDOG_GRACE_SECONDS``
   after that: a server or relay that accepts bytes but never answers (TCP stays healthy, so no kernel timer fires);
4. a dead network path: client TCP keepalives and ``tcp_user_timeout`` (unacknowledged data), and the same on the
   server's side of the session (``-c tcp_keepalives_*``), so a session whose client is gone ends on the server and
   its advisory locks (gate.sync.locks) are released with it;
5. waiting for a pooled connection: ``POOL_TIMEOUT_SECONDS``.
Settings already in the URL's query (``?connect_timeout=10``, ``options=...``) win over these defaults.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gate.db.errors import DatabaseUnavailable, SchemaOutdated, _first_line
from gate.errors import ConfigError

CONNECT_TIMEOUT_SECONDS = 3  # libpq connect_timeout: the whole connection start-up
PING_SECONDS = 2.0  # the pool's liveness probe of a connection it hands out
STATEMENT_TIMEOUT_MS = 60_000  # server-side statement_timeout (migrations run without it; a URL option overrides)
MIGRATION_STATEMENT_SECONDS = 6 * 3600.0  # the watchdog's deadline for one statement of a migration
WATCHDOG_GRACE_SECONDS = 5.0  # after statement_timeout, the server's error should have arrived: cut the session
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000  # a session stuck inside a transaction releases its row locks
POOL_TIMEOUT_SECONDS = 5.0  # waiting for a free pooled connection
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
             "tcp_user_timeout": 9000}  # client side: a dead path is noticed in ~9 s
SERVER_KEEPALIVE = ("-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 "
                    "-c tcp_user_timeout=9000")  # server side: a session whose client vanished ends in ~11 s


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the only PostgreSQL driver we install)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def database_url(url: str) -> URL:
    """``url`` parsed; a URL that names no database the gate runs on is a setting to fix (``config_invalid``)."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(f"GATE_DATABASE_URL {url!r} is not a database URL the gate runs on: use "
                          "sqlite:///path/to/gate.db or postgresql://user:password@host:5432/dbname")
    return parsed


def sqlite_file_missing(parsed: URL) -> str | None:
    """The path of a SQLite database file that does not exist yet (connecting would create it empty)."""
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:") \
            or parsed.database.startswith("file:"):
        return None
    return None if os.path.exists(parsed.database) else parsed.database


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets readers (checks) run while an import writes; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def postgres_connect_args(query: dict, *, statement_timeout_ms: int | None) -> dict:
    """libpq parameters bounding every wait (module docstring, 1 and 3-4), under what the URL already says."""
    args: dict[str, int | str] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **KEEPALIVE}
    args = {k: v for k, v in args.items() if k not in query}
    options = SERVER_KEEPALIVE + f" -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    given = query.get("options")
    # Ours first: a later -c in the URL's own options overrides the same setting.
    args["options"] = f"{options} {given}" if isinstance(given, str) else options
    return args


def make_engine(url: str, *, statement_timeout_ms: int | None = STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; nothing is connected yet. ``statement_timeout_ms=None`` for long schema migrations."""
    parsed = database_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    options: dict = {}
    if postgres:
        options = {"pool_timeout": POOL_TIMEOUT_SECONDS,
                   "connect_args": postgres_connect_args(dict(parsed.query),
                                                         statement_timeout_ms=statement_timeout_ms)}
    try:
        engine = create_engine(parsed, future=True, pool_pre_ping=parsed.get_backend_name() != "sqlite", **options)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable(f"cannot use database {parsed.render_as_string()}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if postgres:
        from gate.db.watchdog import watch_engine

        # Without a statement_timeout (schema migrations) a statement may run for many minutes (a backfill or an
        # index build at 6 M rows): the watchdog then waits MIGRATION_STATEMENT_SECONDS, not the service's 65 s,
        # which cut `gate db upgrade` of migration 0750 mid-backfill.
        grace = (WATCHDOG_GRACE_SECONDS + statement_timeout_ms / 1000 if statement_timeout_ms
                 else MIGRATION_STATEMENT_SECONDS)
        watch_engine(engine, statement_seconds=grace, ping_seconds=PING_SECONDS)
    return engine


def open_database(url: str) -> Engine:
    """Connect and verify the schema is at the migrations' head; raise DatabaseUnavailable or SchemaOutdated."""
    from gate.db.migrate import current_revision, head_revision  # alembic: only for a process that opens a database

    absent = sqlite_file_missing(database_url(url))
    if absent is not None:  # never leave an empty gate.db behind a command that then fails
        raise SchemaOutdated(f"the database file {absent} does not exist; this gate needs revision {head_revision()}: "
                             "run `gate db upgrade` (or set GATE_DATABASE_URL to the gate's database)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot reach the database ({_first_line(exc)})") from None
    head = head_revision()
    if current != head:
        engine.dispose()
        state = "has no gate schema" if current is None else f"schema is at revision {current}"
        raise SchemaOutdated(f"the database {state}; this gate needs revision {head}: run `gate db upgrade`")
    return engine
