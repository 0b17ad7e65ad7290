"""Opening the database: engine per URL, SQLite pragmas, and the schema-version gate.

The gate refuses to run on a schema older (or newer) than its migrations: a half-migrated database would make
decisions on missing columns. The message says exactly what to run.
"""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gate.errors import GateError


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
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"GATE_DATABASE_URL {url!r} is not a database URL ({exc})") from None
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
