"""Scheduler and locks: two `gate scheduler` processes → one sender; the job locks exclude each other across
connections (PostgreSQL advisory lock) and file descriptors (flock next to the SQLite file)."""

from __future__ import annotations

import time

from gate.db.engine import make_engine
from gate.sync.locks import job_lock
from tests.integration.http_support import wait_for
from tests.integration.sync_support import gate_env, seed_listings, spawn_gate, start_sandbox, stop_process


def test_job_lock_is_exclusive_and_released(database_url, tmp_path):
    seed_listings(database_url, tmp_path)
    one, two = make_engine(database_url), make_engine(database_url)
    try:
        with job_lock(one, "report") as held:
            assert held
            with job_lock(two, "report") as other:
                assert not other
            with job_lock(two, "filings-sync") as different_job:
                assert different_job
        with job_lock(two, "report") as after:
            assert after
    finally:
        one.dispose()
        two.dispose()


def test_two_schedulers_send_one_report(database_url, tmp_path):
    seed_listings(database_url, tmp_path)
    sandbox = start_sandbox("--latency", "1")
    env = gate_env(database_url, sandbox, GATE_SYNC_INTERVAL_MINUTES="60")
    schedulers = [spawn_gate("scheduler", env=env) for _ in range(2)]
    try:
        wait_for(lambda: sandbox.reports(items=False)["reports"], timeout=60, what="a report")
        time.sleep(2.5)  # time for a second sender to show itself, if there were one
        seen = sandbox.reports(items=False)
    finally:
        for proc in schedulers:
            stop_process(proc)
        stop_process(sandbox.proc)
    assert len(seen["reports"]) == 1 and (seen["replays"], seen["overlaps"], seen["gaps"]) == (0, 0, 0)
    assert all(proc.returncode == 0 for proc in schedulers)


def test_audit_purge_keeps_at_least_sixty_days(database_url, tmp_path):
    import datetime as dt

    from sqlalchemy import insert, select

    from gate.config import Settings
    from gate.db.tables import AuditEvent, utcnow
    from gate.sync.jobs import purge_audit

    engine, _ = seed_listings(database_url, tmp_path)
    A = AuditEvent.__table__
    now = utcnow()
    with engine.begin() as conn:
        for days in (59, 61):
            conn.execute(insert(A), {"at": now - dt.timedelta(days=days), "actor": "t", "action": f"old.{days}",
                                     "details": "{}"})
    # Settings cannot go below 60 (load_settings refuses); a hand-built one is clamped by the job itself.
    result = purge_audit(engine, Settings(audit_retention_days=1), now=now)
    with engine.connect() as conn:
        left = set(conn.execute(select(A.c.action)).scalars())
    assert result["retention_days"] == 60 and result["audit_events_deleted"] == 1
    assert "old.59" in left and "old.61" not in left
