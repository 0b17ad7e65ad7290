"""Database fixtures: every store test runs on SQLite (a temporary file) and, when GATE_TEST_POSTGRES_URL is set
(.ci/run sets it), on PostgreSQL too. Each test gets its own empty database: a fresh SQLite file, or a fresh
PostgreSQL schema selected through the connection's search_path and dropped afterwards."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from gate.db.engine import normalise_url
from gate.sync.sandbox.faults import FaultPlan
from gate.sync.sandbox.server import SandboxConfig, SandboxServer, running_sandbox
from tests import requirements
from tests.integration.http_support import start_gate
from tests.integration.sandbox_support import SECRET


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gate.db'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL schema, for behaviour only PostgreSQL has (concurrent writers)."""
    yield from _postgres_schema()


def _postgres_schema():
    base = requirements.postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_engine(database_url):
    from gate.db.engine import make_engine, open_database
    from gate.db.migrate import upgrade

    setup = make_engine(database_url)
    upgrade(setup)
    setup.dispose()
    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'gate.db'}"


@pytest.fixture
def gate(tmp_path, sqlite_url):
    """The HTTP service on loopback over a fresh SQLite database, with one client per role."""
    g, server = start_gate(tmp_path, sqlite_url)
    yield g
    server.shutdown()
    g.engine.dispose()


@pytest.fixture
def sandbox_factory(tmp_path):
    """Start sandboxes with chosen faults/feed on loopback; all are shut down after the test."""
    started = []

    def start(**faults) -> SandboxServer:
        feed = faults.pop("feed", None)
        config = SandboxConfig(secret=SECRET, db_path=str(tmp_path / f"sandbox{len(started)}.sqlite3"),
                               feed_path=feed, faults=FaultPlan(**faults))
        context = running_sandbox(config)
        server = context.__enter__()
        started.append(context)
        return server

    yield start
    for context in started:
        context.__exit__(None, None, None)


@pytest.fixture
def tiny_spool(tmp_path):
    """A 4 KiB tmpfs: smaller than any package (skipped where mounting is not allowed)."""
    import subprocess

    spool = tmp_path / "tmpfs-spool"
    spool.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(spool)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    yield spool
    subprocess.run(["umount", "-l", str(spool)], check=False)
