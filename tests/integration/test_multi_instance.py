"""A production-shaped deployment on one PostgreSQL schema: two `gate serve` (gunicorn, gthread), two `gate worker`
and two `gate scheduler` processes at once, the way compose.yaml runs them (docs/deploy.md).

test_faults_instances.py takes each fault alone (racing servers, a stalled worker, a killed scheduler); here they
happen in one deployment: uploads are spread over both servers, a worker is SIGKILLed in the middle of a check and
the other takes its job over when the lease ends, and the scheduler holding the report lock is SIGKILLed while it
delivers and the standby delivers within one interval. What must hold at the end: every check done and decided
once, one callback per check, one report per period at the regulator.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import requests
from sqlalchemy import select, text

from gate.services.auth import create_client
from gate.sync.jobs import REPORT_LOCK
from gate.sync.locks import advisory_key
from tests.integration.http_support import prepare_database, wait_for
from tests.integration.sync_support import gate_env, start_sandbox, stop_process
from tests.integration.test_faults_instances import (
    AE,
    SC,
    J,
    scalar,
    service_env,
    signed_upload,
    start_server,
    with_app_name,
)
from tests.loopback_store import StoreEndpoint

UPLOADS = 12
LEASE_SECONDS = 5
INTERVAL_MINUTES = 0.05  # 3 s between scheduler runs
REGULATOR_LATENCY = 4.0  # every regulator answer takes this long: the kill lands mid-delivery


def spawn(args: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gate.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=log)


def lock_holder(engine, key: int) -> str | None:
    """application_name of the session holding the advisory lock ``key`` (pg_locks splits the 64-bit key)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"),
            {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).scalar()


def kill_a_worker_mid_check(engine, worker: subprocess.Popen, name: str) -> str:
    """SIGSTOP the worker while it holds a running job (then it cannot finish it), check it still does, SIGKILL it.
    Returns the check id of the job it held."""
    running = select(J.c.check_id).where(J.c.status == "running", J.c.worker.like(f"{name}:%"))  # --name + random
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if scalar(engine, running) is None:
            time.sleep(0.005)
            continue
        worker.send_signal(signal.SIGSTOP)
        held = scalar(engine, running)  # stopped now: still running means it is stopped in the middle of it
        if held is not None:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            return held
        worker.send_signal(signal.SIGCONT)  # it finished that job between the two reads: try the next one
    raise AssertionError("the worker was never seen holding a job")


def test_two_servers_two_workers_two_schedulers_survive_kills_and_do_everything_once(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    sandbox = start_sandbox("--latency", str(REGULATOR_LATENCY))
    procs: list[subprocess.Popen] = []
    log = open(tmp_path / "processes.log", "wb")
    with StoreEndpoint() as store:
        client = create_client(engine, name="store-multi", role="store", callback_url=store.url)
        env = service_env(postgres_url, spool, **{
            k: v for k, v in gate_env(postgres_url, sandbox).items() if k.startswith("GATE_")
            and k not in ("GATE_DATABASE_URL", "GATE_LOG_FORMAT")},
            GATE_JOB_LEASE_SECONDS=str(LEASE_SECONDS), GATE_SYNC_INTERVAL_MINUTES=str(INTERVAL_MINUTES))
        try:
            servers = [start_server(env, serve_args=("--workers", "1", "--threads", "4"), log=log) for _ in range(2)]
            procs += [p for p, _ in servers]
            # Uploads spread over both servers while no worker runs yet: all queued (202).
            answers = [signed_upload(servers[n % 2][1], client, {"store_app_id": f"multi-{n}"})
                       for n in range(UPLOADS)]
            assert [r.status_code for r in answers] == [202] * UPLOADS, [r.text for r in answers]
            check_ids = [r.json()["check_id"] for r in answers]
            assert len(set(check_ids)) == UPLOADS
            for r, (_, url) in zip(answers[:2], servers):  # each server answers for checks the other queued
                other = servers[1][1] if url == servers[0][1] else servers[0][1]
                polled = requests.get(f"{other}{r.json()['status_url']}", timeout=30,
                                      headers={"Authorization": f"Bearer {client.api_key}"})
                assert polled.status_code == 200 and polled.json()["check_id"] == r.json()["check_id"]

            schedulers = {name: spawn(["scheduler"], {**env, "GATE_DATABASE_URL": with_app_name(postgres_url, name)},
                                      log) for name in ("scheduler-a", "scheduler-b")}
            procs += schedulers.values()
            worker_a = spawn(["worker", "--poll", "0.05", "--name", "worker-a"], env, log)
            procs.append(worker_a)
            taken_over = kill_a_worker_mid_check(engine, worker_a, "worker-a")
            killed_at = time.monotonic()
            procs.append(spawn(["worker", "--poll", "0.05", "--name", "worker-b"], env, log))

            # The scheduler holding the report lock is killed in the middle of its delivery.
            with engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            key = advisory_key(schema, REPORT_LOCK)
            holder = wait_for(lambda: scalar(engine, text("SELECT count(*) FROM report_outbox WHERE attempts > 0"))
                              and lock_holder(engine, key), timeout=60, what="a scheduler delivering the report")
            schedulers[holder].send_signal(signal.SIGKILL)
            schedulers[holder].wait()
            report_killed_at = time.monotonic()
            assert scalar(engine, text("SELECT status FROM report_outbox")) == "pending"

            wait_for(lambda: scalar(engine, select(text("count(*)")).select_from(SC).where(SC.c.status == "done"))
                     == UPLOADS, timeout=90, what="every check done")
            # The killed worker's job went back to the queue only when its lease ran out.
            assert time.monotonic() - killed_at >= LEASE_SECONDS - 1
            wait_for(lambda: scalar(engine, text("SELECT count(*) FROM report_outbox WHERE status <> 'delivered'"))
                     == 0, timeout=60, what="the standby scheduler delivering the report")
            report_waited = time.monotonic() - report_killed_at
            wait_for(lambda: len(store.received) >= UPLOADS, timeout=60, what="the callbacks")
            time.sleep(1)  # a second callback per check, if one were owed, would arrive now
        finally:
            for proc in procs:
                stop_process(proc)
            log.close()
        notified = Counter(json.loads(body)["check_id"] for _, body in store.received)
    assert notified == Counter(dict.fromkeys(check_ids, 1)), "a store got no callback or two for one check"
    with engine.connect() as conn:
        job = conn.execute(select(J.c.worker, J.c.attempts, J.c.status).where(J.c.check_id == taken_over)).one()
        decided = conn.execute(select(AE.c.subject).where(AE.c.action == "check", AE.c.actor.like("worker:%"))).all()
        periods = conn.execute(text("SELECT idempotency_key, status FROM report_outbox")).all()
    assert job.status == "done" and job.worker.startswith("worker-b:") and job.attempts == 2, job
    assert len(decided) == UPLOADS, "a check was decided twice (or not at all)"
    # One interval for the standby's next run, the regulator's latency for its answer, and some slack.
    assert report_waited <= INTERVAL_MINUTES * 60 + REGULATOR_LATENCY + 6, report_waited
    keys = [r["idempotency_key"] for r in sandbox.reports(items=False)["reports"]]
    stop_process(sandbox.proc)
    assert len(periods) == 1 and periods[0].status == "delivered" and keys == [periods[0].idempotency_key]
    engine.dispose()
