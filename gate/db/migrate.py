"""Schema migrations with alembic, run in-process from the scripts shipped in ``gate/db/migrations``.

No alembic.ini and no env.py: the gate drives alembic's EnvironmentContext itself, so the migrations travel inside
the wheel and ``gate db upgrade`` needs nothing but GATE_DATABASE_URL. On PostgreSQL the upgrade holds an advisory
lock, so several instances starting at once migrate exactly once.
"""

from __future__ import annotations

import pathlib

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from gate.db.errors import DatabaseUnavailable, _first_line

MIGRATIONS_DIR = pathlib.Path(__file__).parent / "migrations"
_ADVISORY_LOCK_KEY = 0x6761746564620001  # "gatedb" + 1: any constant shared by all gate instances


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to ``target``; returns (revision before, revision after)."""
    script = script_directory()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            before = current_revision(conn)
            with EnvironmentContext(_config(), script, fn=lambda rev, _ctx: script._upgrade_revs(target, rev),
                                    destination_rev=target) as env:
                env.configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite",
                              transaction_per_migration=False)
                with env.begin_transaction():
                    env.run_migrations()
            after = current_revision(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"migration failed ({_first_line(exc)})") from None
    return before, after or ""
