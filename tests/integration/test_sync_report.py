"""The distribution report end to end: the sandbox regulator as a separate process, `gate report run` as
subprocesses. What must hold whatever fails: each period reported exactly once (a replay is harmless; a second
receipt, an overlap or a gap is a defect), and the report says what the database says."""

from __future__ import annotations

import datetime as dt
import json
import signal

import pytest
from sqlalchemy import select

from gate.config import Settings
from gate.db.sync_tables import ReportOutbox
from gate.sync.jobs import run_report
from gate.sync.sandbox.server import SandboxConfig, running_sandbox
from tests.integration.http_support import wait_for
from tests.integration.sync_support import (
    CST,
    HELLO_LICENCE,
    HELLO_PACKAGE,
    LEGACY_PACKAGE,
    PLATFORM,
    SECRET,
    UNFILED_PACKAGE,
    ago,
    gate,
    gate_env,
    seed_listings,
    spawn_gate,
    start_sandbox,
    stop_process,
)

OUTBOX = ReportOutbox.__table__


@pytest.fixture
def sandbox_process(request):
    started = []

    def start(*options):
        sandbox = start_sandbox(*options)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        stop_process(sandbox.proc)


def assert_one_clean_report(sandbox) -> dict:
    seen = sandbox.reports()
    assert len(seen["reports"]) == 1, seen
    assert (seen["overlaps"], seen["gaps"]) == (0, 0)
    return seen


def test_regulator_failing_first_attempts_gets_the_report_once(database_url, tmp_path, sandbox_process):
    engine, _ = seed_listings(database_url, tmp_path)
    sandbox = sandbox_process("--fail-first", "2", "--retry-after", "0")
    done = gate("report", "run", env=gate_env(database_url, sandbox))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [d["status"] for d in result["deliveries"]] == ["delivered"]
    seen = assert_one_clean_report(sandbox)
    assert seen["attempts"] == 3 and seen["replays"] == 0  # two injected 503s, then the one that was recorded
    report = seen["reports"][0]
    assert report["receipt_id"] == result["deliveries"][0]["receipt_id"]
    # The inventory: the filed apps listed at period end, with the filing's number, name and MD5; the unfiled
    # listing cannot be reported (no service_licence) and is counted instead.
    assert sorted(i["identifier"] for i in report["inventory"]) == sorted([HELLO_PACKAGE, LEGACY_PACKAGE])
    hello = next(i for i in report["inventory"] if i["identifier"] == HELLO_PACKAGE)
    assert (hello["service_licence"], hello["service_name"], hello["platform"], hello["version_code"]) == (
        HELLO_LICENCE, "你好门禁", "android", 1)
    assert hello["listed_since"].endswith("+08:00")
    assert {e["identifier"] for e in report["events"]} == {HELLO_PACKAGE, LEGACY_PACKAGE, UNFILED_PACKAGE}
    assert result["built"]["unfiled"] == 1
    status = gate("report", "status", "--json", env=gate_env(database_url, sandbox))
    row = json.loads(status.stdout.splitlines()[0])
    assert (row["status"], row["receipt_id"], row["unfiled_listed"]) == ("delivered", report["receipt_id"], 1)
    # Nothing is due any more: running again sends nothing.
    again = json.loads(gate("report", "run", env=gate_env(database_url, sandbox)).stdout)
    assert again["built"] is None and again["deliveries"] == []
    assert len(sandbox.reports(items=False)["reports"]) == 1


def test_gate_killed_mid_delivery_delivers_once_after_restart(database_url, tmp_path, sandbox_process):
    engine, _ = seed_listings(database_url, tmp_path)
    sandbox = sandbox_process("--latency", "3")
    env = gate_env(database_url, sandbox)
    first = spawn_gate("report", "run", env=env)
    # The attempt is recorded (committed) just before the POST; the sandbox then holds the request 3 s.
    wait_for(lambda: _outbox(engine) and _outbox(engine)[0].attempts >= 1, what="first report POST")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _outbox(engine)[0].status == "pending"  # the receipt was never recorded
    restarted = gate("report", "run", env=env)
    assert restarted.returncode == 0, restarted.stderr
    result = json.loads(restarted.stdout)
    assert result["built"] is None  # the period was closed by the killed run; only re-sent
    assert [d["status"] for d in result["deliveries"]] == ["delivered"]
    seen = assert_one_clean_report(sandbox)
    assert seen["reports"][0]["receipt_id"] == result["deliveries"][0]["receipt_id"]
    assert seen["reports"][0]["idempotency_key"] == _outbox(engine)[0].idempotency_key


def test_two_gate_instances_one_sender(database_url, tmp_path, sandbox_process):
    seed_listings(database_url, tmp_path)
    sandbox = sandbox_process("--latency", "1")
    env = gate_env(database_url, sandbox)
    runs = [spawn_gate("report", "run", env=env) for _ in range(2)]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in runs]
    assert all(p.returncode == 0 for p in runs)
    senders = [o for o in outputs if "deliveries" in o and o["deliveries"]]
    skipped = [o for o in outputs if o.get("skipped") == "locked" or (o.get("built") is None and not o.get(
        "deliveries"))]
    assert len(senders) == 1 and len(skipped) == 1, outputs
    seen = assert_one_clean_report(sandbox)
    assert seen["replays"] == 0 and seen["attempts"] == 1


def test_consecutive_periods_without_overlap_gap_or_repeated_events(database_url, tmp_path):
    engine, store = seed_listings(database_url, tmp_path)
    now = dt.datetime.now(CST)
    with running_sandbox(SandboxConfig(secret=SECRET)) as sandbox:
        settings = Settings(database_url=database_url, regulator_url=sandbox.url, platform_id=PLATFORM,
                            regulator_secret=SECRET, report_time="02:00")
        first = run_report(engine, settings, now=now)
        # Delisted and a new listing after the first report was built (a late one: its time is before the first
        # period's end, it arrived after): both belong to the next report, neither to two reports.
        from gate.services.listings import parse_events, record_events

        record_events(engine, store.id, parse_events({"events": [
            {"package": HELLO_PACKAGE, "version_code": 1, "action": "delisted", "at": ago(days=2)},
            {"package": "com.example.later", "version_code": 2, "action": "listed", "at": ago(hours=1)}]}))
        # Two days of downtime: one catch-up report closes both days.
        second = run_report(engine, settings, now=now + dt.timedelta(days=2))
        seen = _sandbox_reports(sandbox.url)
    assert [r["period_end"] for r in seen["reports"]] == [first["built"]["period_end"],
                                                          second["built"]["period_end"]]
    a, b = seen["reports"]
    assert b["period_start"] == a["period_end"] and (seen["overlaps"], seen["gaps"]) == (0, 0)
    assert dt.datetime.fromisoformat(b["period_end"]) - dt.datetime.fromisoformat(b["period_start"]) == \
        dt.timedelta(days=2)
    assert len(a["events"]) == 3 and [(e["identifier"], e["action"]) for e in b["events"]] == [
        (HELLO_PACKAGE, "delisted"), ("com.example.later", "listed")]
    assert [i["identifier"] for i in b["inventory"]] == [LEGACY_PACKAGE]  # com.example.later has no filing
    assert second["built"]["unfiled"] == 2


def _outbox(engine):
    with engine.connect() as conn:
        return conn.execute(select(OUTBOX).order_by(OUTBOX.c.period_end)).all()


def _sandbox_reports(url):
    import requests

    return requests.get(f"{url}/_sandbox/reports", timeout=30).json()


def test_inventory_names_the_current_filing_version_on_every_database(database_url, tmp_path):
    # HELLO's filing gets a second version (cancelled): the listed app is reported with its number, from the
    # current version, once — not as unfiled because an old version's row sorted first (PostgreSQL sorts NULLs
    # first in a descending order, SQLite last).
    import copy

    from gate.db.filings import import_into_database
    from gate.sync.reports import body_chunks, build_report
    from tests.integration.http_support import FILINGS

    engine, _ = seed_listings(database_url, tmp_path)
    cancelled = copy.deepcopy(FILINGS[0])
    cancelled["status"] = "cancelled"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps([cancelled], ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])
    built = build_report(engine, platform_id=PLATFORM, secret=SECRET, report_time="02:00")
    body = json.loads(b"".join(body_chunks(engine, built.outbox_id)))
    hello = [i for i in body["inventory"] if i["identifier"] == HELLO_PACKAGE]
    assert [i["service_licence"] for i in hello] == [HELLO_LICENCE]
    assert built.unfiled == 1  # only com.example.unfiled


def test_a_listing_committed_after_the_build_is_carried_by_the_next_report(postgres_url, tmp_path):
    # A listing transaction still open while a report is built: PostgreSQL lets both run. (On SQLite the open write
    # transaction makes the build wait, so the case cannot arise there.)
    import datetime as dt

    from sqlalchemy import insert

    from gate.db.service_tables import ListingEvent
    from gate.sync.reports import body_chunks, build_report

    engine, store = seed_listings(postgres_url, tmp_path)
    now = dt.datetime.now(dt.UTC)
    first = build_report(engine, platform_id=PLATFORM, secret=SECRET, report_time="02:00", now=now)
    late_at = dt.datetime.fromisoformat(first.period_end) - dt.timedelta(hours=1)  # inside the first period
    with engine.connect() as listing:
        pending = listing.begin()
        listing.execute(insert(ListingEvent.__table__), {
            "client_id": store.id, "package": HELLO_PACKAGE, "version_code": 2, "action": "delisted",
            "at": late_at, "received_at": now})
        second = build_report(engine, platform_id=PLATFORM, secret=SECRET, report_time="02:00",
                              now=now + dt.timedelta(days=1))
        pending.commit()
    third = build_report(engine, platform_id=PLATFORM, secret=SECRET, report_time="02:00",
                         now=now + dt.timedelta(days=2))

    def events(built):
        body = json.loads(b"".join(body_chunks(engine, built.outbox_id)))
        return [(e["identifier"], e["action"]) for e in body["events"]]

    assert (HELLO_PACKAGE, "delisted") not in events(first) + events(second)
    assert events(third) == [(HELLO_PACKAGE, "delisted")]
