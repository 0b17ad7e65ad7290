"""``gate db``: schema migrations for the configured database (GATE_DATABASE_URL)."""

from __future__ import annotations

import click


@click.group("db")
def db() -> None:
    """Database schema: upgrade to this gate's migrations, or show the current revision."""


@db.command("upgrade")
def upgrade() -> int:
    """Apply every pending migration (safe to run on several instances at once on PostgreSQL)."""
    from gate.config import load_settings
    from gate.db.audit import record_event
    from gate.db.engine import make_engine
    from gate.db.migrate import upgrade as run_upgrade

    engine = make_engine(load_settings().database_url, statement_timeout_ms=None)  # index builds take their time
    try:
        before, after = run_upgrade(engine)
        if before != after:
            with engine.begin() as conn:
                record_event(conn, actor="cli", action="db.upgrade", subject=after,
                             details={"from": before, "to": after})
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database schema already at {after}")
    else:
        click.echo(f"database schema upgraded from {before or 'empty'} to {after}")
    return 0


@db.command("current")
def current() -> int:
    """Print the database's schema revision and the one this gate needs."""
    from sqlalchemy.exc import SQLAlchemyError

    from gate.config import load_settings
    from gate.db.engine import DatabaseUnavailable, database_url, make_engine, sqlite_file_missing
    from gate.db.migrate import current_revision, head_revision

    url = load_settings().database_url
    if sqlite_file_missing(database_url(url)) is not None:  # reading must not create an empty database file
        click.echo(f"current: none (no database file yet)\nneeded:  {head_revision()}")
        return 0
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rev = current_revision(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot reach the database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    click.echo(f"current: {rev or 'none'}\nneeded:  {head_revision()}")
    return 0


@db.command("wait")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait before giving up (exit 1).")
def wait(timeout: float) -> int:
    """Wait until the database is reachable and at the schema this gate needs (another process runs `gate db
    upgrade`), then exit 0. Services start with it, so they wait for the migration instead of crash-looping."""
    import time

    from gate.config import load_settings
    from gate.db.engine import DatabaseUnavailable, SchemaOutdated, open_database

    url = load_settings().database_url
    deadline = time.monotonic() + timeout
    said = None
    while True:
        try:
            open_database(url).dispose()
            return 0
        except (DatabaseUnavailable, SchemaOutdated) as exc:
            if time.monotonic() >= deadline:
                raise
            if exc.code != said:  # one line per state, not one per attempt
                click.echo(f"waiting for the database: [{exc.code}] {exc.message}", err=True)
                said = exc.code
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
