"""Migration 0750_console_6m on a database that already holds checks (SQLite and PostgreSQL): service_check takes
its decision's package and reason codes in batches (ids chosen to span several batches of 200,000), and
decision_day is the count of gate_check by Beijing day, verdict and reason codes. Expected values are the rows
written below, in raw SQL at revision 0740 (the models describe 0750)."""

from __future__ import annotations

from sqlalchemy import text

from gate.db.engine import make_engine
from gate.db.migrate import upgrade

# gate_check id -> (created_at UTC, package, verdict, reason codes); 2026-03-01 16:30 UTC is 03-02 in Beijing.
CHECKS = {1: ("2026-03-01 15:59:00", "cn.alpha", "review", "domain_not_filed"),
          150_000: ("2026-03-01 16:30:00", "cn.alpha", "review", "domain_not_filed"),
          250_001: ("2026-03-01 16:31:00", "cn.beta", "block", "unfiled key_mismatch"),
          650_002: ("2026-03-02 01:00:00", None, "allow", "")}


def test_the_upgrade_backfills_service_checks_and_the_day_counts(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0740_check_facts_schema")  # the revision before 0750
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO api_client (id, name, role, key_id, key_sha256, webhook_secret, disabled, "
                          "created_at) VALUES (1, 'store', 'store', 'k1', 'x', 'y', false, '2026-01-01 00:00:00')"))
        for gid, (at, package, verdict, codes) in CHECKS.items():
            conn.execute(text(
                "INSERT INTO gate_check (id, created_at, path, package, platform, verdict, reason_codes, facts, "
                "facts_sha256, policy, decision, gate_version) VALUES (:id, :at, 'p', :pkg, 'android', :v, :codes, "
                "'{}', 'f', '{}', '{}', 't')"), {"id": gid, "at": at, "pkg": package, "v": verdict, "codes": codes})
            conn.execute(text(
                "INSERT INTO service_check (check_id, client_id, package_sha256, size, filename, status, "
                "gate_check_id, verdict, metadata_json, created_at, updated_at) VALUES (:cid, 1, 's', 1, 'f.apk', "
                "'done', :id, :v, '{}', :at, :at)"), {"cid": f"chk_{gid}", "id": gid, "v": verdict, "at": at})
        conn.execute(text("INSERT INTO service_check (check_id, client_id, package_sha256, size, filename, status, "
                          "metadata_json, created_at, updated_at) VALUES ('chk_queued', 1, 's', 1, 'q.apk', "
                          "'queued', '{}', '2026-03-02 02:00:00', '2026-03-02 02:00:00')"))
    upgrade(engine)
    with engine.connect() as conn:
        kept = {r.check_id: (r.package, r.reason_codes) for r in conn.execute(text(
            "SELECT check_id, package, reason_codes FROM service_check"))}
        days = {(r.day, r.verdict, r.reason_codes): r.checks for r in conn.execute(text(
            "SELECT day, verdict, reason_codes, checks FROM decision_day"))}
    engine.dispose()
    assert kept == {"chk_1": ("cn.alpha", "domain_not_filed"), "chk_150000": ("cn.alpha", "domain_not_filed"),
                    "chk_250001": ("cn.beta", "unfiled key_mismatch"), "chk_650002": ("", ""),
                    "chk_queued": ("", "")}
    assert days == {("2026-03-01", "review", "domain_not_filed"): 1, ("2026-03-02", "review", "domain_not_filed"): 1,
                    ("2026-03-02", "block", "unfiled key_mismatch"): 1, ("2026-03-02", "allow", ""): 1}


def test_a_migration_statement_is_not_cut_at_the_services_deadline(postgres_url, monkeypatch):
    """`gate db upgrade` runs without statement_timeout; the session watchdog cut its statements anyway after the
    service's deadline (65 s), which stopped 0750's backfill at 6 M rows. Shrunk here: a 1 s service deadline."""
    from sqlalchemy import text as sql

    from gate.db import engine as engines

    monkeypatch.setattr(engines, "STATEMENT_TIMEOUT_MS", 500)
    monkeypatch.setattr(engines, "WATCHDOG_GRACE_SECONDS", 0.5)
    migrations = engines.make_engine(postgres_url, statement_timeout_ms=None)
    with migrations.connect() as conn:
        assert conn.execute(sql("SELECT 1 FROM pg_sleep(2.5)")).scalar_one() == 1
    migrations.dispose()
