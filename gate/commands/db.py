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
    from gate.store.audit import record_event
    from gate.store.engine import make_engine
    from gate.store.migrate import upgrade as run_upgrade

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
    from gate.store.engine import DatabaseUnavailable, make_engine
    from gate.store.migrate import current_revision, head_revision

    engine = make_engine(load_settings().database_url)
    try:
        with engine.connect() as conn:
            rev = current_revision(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot reach the database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    click.echo(f"current: {rev or 'none'}\nneeded:  {head_revision()}")
    return 0
