"""Shared pieces of the regulator sync tests (no tests here): a migrated database with the fixture filings and a
store client with listings, the sandbox regulator as a separate process, and `gate` subprocesses."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import requests

from tests.integration.http_support import FILINGS, HELLO_LICENCE, HELLO_PACKAGE, LEGACY_PACKAGE, prepare_database

SECRET = "sync-test-secret"
PLATFORM = "store-001"
CST = dt.timezone(dt.timedelta(hours=8))
UNFILED_PACKAGE = "com.example.unfiled"


@dataclass
class Sandbox:
    url: str
    proc: subprocess.Popen

    def reports(self, items: bool = True) -> dict:
        return requests.get(f"{self.url}/_sandbox/reports", params={"items": "1" if items else "0"},
                            timeout=30).json()

    def append_feed(self, records) -> dict:
        response = requests.post(f"{self.url}/_sandbox/feed", json=records, timeout=10)
        response.raise_for_status()
        return response.json()


def start_sandbox(*options: str) -> Sandbox:
    """`gate sandbox regulator --port 0 ...` as a process; its first stdout line is its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "gate.cli", "sandbox", "regulator", "--port", "0",
                             "--secret", SECRET, *options], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://"), f"sandbox did not print its URL (got {url!r})"
    return Sandbox(url, proc)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def gate_env(database_url: str, sandbox: Sandbox | None, **extra: str) -> dict:
    env = {**os.environ, "GATE_DATABASE_URL": database_url, "GATE_REGULATOR_SECRET": SECRET,
           "GATE_PLATFORM_ID": PLATFORM, "GATE_LOG_FORMAT": "text"}
    if sandbox is not None:
        env["GATE_REGULATOR_URL"] = sandbox.url
    env.update(extra)
    return env


def gate(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gate.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def spawn_gate(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gate.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ago(**delta) -> str:
    """An ISO instant (China Standard Time) this long before now."""
    return (dt.datetime.now(CST) - dt.timedelta(**delta)).replace(microsecond=0).isoformat()


def backdate_arrivals(engine, **delta) -> None:
    """Make every listing event look as if it had arrived this long ago (reports leave out the last minute's
    arrivals, see gate.sync.reports SETTLE)."""
    from sqlalchemy import update

    from gate.db.service_tables import ListingEvent

    E = ListingEvent.__table__
    with engine.begin() as conn:
        conn.execute(update(E).values(received_at=E.c.received_at - dt.timedelta(**delta)))


def seed_listings(database_url: str, tmp_path, *, callback_url: str | None = None):
    """Filings (HELLO active, LEGACY cancelled), one store client, and listing events three days ago that arrived
    five minutes ago.

    Returns (engine, issued store client)."""
    from gate.services.auth import create_client
    from gate.services.listings import parse_events, record_events

    engine = prepare_database(database_url, tmp_path)
    store = create_client(engine, name="store-a", role="store", callback_url=callback_url)
    events = parse_events({"events": [
        {"package": HELLO_PACKAGE, "version_code": 1, "action": "listed", "at": ago(days=3, hours=2)},
        {"package": LEGACY_PACKAGE, "version_code": 3, "action": "listed", "at": ago(days=3, hours=1)},
        {"package": UNFILED_PACKAGE, "version_code": 7, "action": "listed", "at": ago(days=3)},
    ]})
    record_events(engine, store.id, events)
    backdate_arrivals(engine, minutes=5)
    return engine, store


def change_filing(engine, tmp_path, **changes):
    """Import a new version of the HELLO filing and queue its re-evaluation, as a feed page would."""
    from sqlalchemy import select

    from gate.db.filings import import_into_database
    from gate.db.sync_tables import FilingReevaluation
    from gate.db.tables import Filing

    record = {**copy.deepcopy(FILINGS[0]), **changes}
    path = tmp_path / "changed.json"
    path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])
    F, R = Filing.__table__, FilingReevaluation.__table__
    with engine.begin() as conn:
        version = conn.execute(select(F.c.current_version_id).where(
            F.c.service_licence == record["service_licence"])).scalar_one()
        conn.execute(R.insert(), {"service_licence": record["service_licence"], "version_id": version,
                                  "status": "pending"})


__all__ = ["HELLO_LICENCE", "HELLO_PACKAGE", "LEGACY_PACKAGE"]
