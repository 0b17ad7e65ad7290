"""Opening the database: engine per URL, SQLite pragmas, and the schema-version gate.

The gate refuses to run on a schema older (or newer) than its migrations: a half-migrated database would make
decisions on missing columns. The message says exactly what to run.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gate.errors import ConfigError, GateError


class DatabaseUnavailable(GateError):
    """The database cannot be reached or opened."""

    code = "database_unavailable"


class SchemaOutdated(GateError):
    """The database schema is not the one this gate version needs."""

    code = "schema_outdated"


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


def make_engine(url: str) -> Engine:
    """An engine for ``url``; nothing is connected yet."""
    parsed = database_url(url)
    try:
        engine = create_engine(parsed, future=True, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable(f"cannot use database {parsed.render_as_string()}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_database(url: str) -> Engine:
    """Connect and verify the schema is at the migrations' head; raise DatabaseUnavailable or SchemaOutdated."""
    from gate.store.migrate import current_revision, head_revision

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


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
