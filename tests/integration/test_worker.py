"""Async checks with the real worker process: queued uploads are decided by `gate worker`, callbacks are signed and
retried until the store acknowledges them, and a worker killed mid-job (SIGKILL) loses nothing: its job is finished
by another worker once the lease runs out."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
import requests

from gate.services.signatures import HEADER, verify
from tests.integration.http_support import count, spool_files, start_gate, wait_for
from tests.loopback_store import StoreEndpoint

LOOPBACK = "127.0.0.0/8"


def worker_env(g, **extra) -> dict:
    env = {**os.environ, "GATE_DATABASE_URL": g.settings.database_url, "GATE_SPOOL_DIR": g.settings.spool_dir,
           "GATE_FETCH_ALLOW_HTTP": "1", "GATE_FETCH_ALLOW_NETWORKS": LOOPBACK, "GATE_LOG_FORMAT": "json",
           "GATE_CALLBACK_BACKOFF_SECONDS": "0.2", "GATE_CALLBACK_TIMEOUT_SECONDS": "5"}
    env.update(extra)
    return env


def start_worker(g, *args, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gate.cli", "worker", "--poll", "0.1", *args],
                            env=worker_env(g, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace") if err is not None else ""


@pytest.fixture
def store_endpoint():
    with StoreEndpoint(fail_first=2) as endpoint:  # the store fails the first two deliveries
        yield endpoint


@pytest.fixture
def async_gate(tmp_path):
    g, server = start_gate(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}", fetch_allow_http=True,
                           fetch_allow_networks=LOOPBACK)
    yield g
    server.shutdown()
    g.engine.dispose()


def test_queued_check_is_decided_and_callback_retried_until_acknowledged(async_gate, store_endpoint):
    g = async_gate
    r = g.upload(query="?async=1", metadata={"callback_url": store_endpoint.url, "store_app_id": "S-1"})
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status_url"] == f"/api/v1/checks/{queued['check_id']}"
    assert len(spool_files(g)) == 1  # kept for the worker
    again = g.upload(query="?async=1", metadata={"callback_url": store_endpoint.url, "store_app_id": "S-1"})
    assert again.status_code == 202 and again.json()["check_id"] == queued["check_id"]
    assert count(g.engine, "job") == 1  # the repeat joined the queued check

    worker = start_worker(g)
    try:
        wait_for(lambda: len(store_endpoint.received) >= 3, what="three callback attempts")
        status = requests.get(g.url + queued["status_url"], headers=g.headers("store")).json()
    finally:
        log = stop(worker)
    assert status["status"] == "done" and status["verdict"] == "allow", log
    headers, body = store_endpoint.received[-1]
    verify(headers[HEADER], body, g.clients["store"].webhook_secret)  # signed with the store's secret
    sent = json.loads(body)
    assert sent["check_id"] == queued["check_id"] and sent["verdict"] == "allow"
    assert [json.loads(b) for _, b in store_endpoint.received] == [sent] * 3  # same body every attempt
    with g.engine.connect() as conn:
        from sqlalchemy import text

        row = conn.execute(text("SELECT status, attempts, last_status FROM callback_delivery")).one()
    assert tuple(row) == ("delivered", 3, 204)
    assert spool_files(g) == []  # deleted once the job completed


def test_callback_url_must_pass_ssrf_rules(tmp_path):
    g, server = start_gate(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}")  # no loopback allowlist
    try:
        r = g.upload(query="?async=1", metadata={"callback_url": "http://127.0.0.1:9/x"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "callback_url_forbidden"
        r = g.upload(query="?async=1", metadata={"callback_url": "https://169.254.169.254/latest"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "callback_url_forbidden"
        assert count(g.engine, "job") == 0 and spool_files(g) == []
    finally:
        server.shutdown()


def test_killed_worker_job_is_finished_by_another(async_gate):
    g = async_gate
    queued = g.upload(query="?async=1").json()
    [spool] = [pathlib.Path(g.settings.spool_dir) / name for name in spool_files(g)]
    # Make the package a FIFO: the first worker blocks reading it, i.e. it is provably mid-job when killed.
    content = spool.read_bytes()
    spool.unlink()
    os.mkfifo(spool)
    first = start_worker(g, "--name", "doomed", GATE_JOB_LEASE_SECONDS="5")
    try:
        from sqlalchemy import text

        def running():
            with g.engine.connect() as conn:
                status, worker = conn.execute(text("SELECT status, worker FROM job")).one()
                return status == "running" and worker.startswith("doomed:")  # --name + this process's random

        wait_for(running, what="the first worker to take the job")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    spool.unlink()
    spool.write_bytes(content)
    second = start_worker(g, "--name", "rescuer", GATE_JOB_LEASE_SECONDS="5")
    try:
        def finished():
            with g.engine.connect() as conn:
                return conn.execute(text("SELECT status, worker, attempts FROM job")).one()
        row = wait_for(lambda: (r := finished()) and r[0] == "done" and r, timeout=40, what="the job to finish")
    finally:
        log = stop(second)
    assert (row[0], row[1].split(":")[0], row[2]) == ("done", "rescuer", 2), log
    status = requests.get(g.url + queued["status_url"], headers=g.headers("store")).json()
    assert status["status"] == "done" and status["verdict"] == "allow"
    assert count(g.engine, "gate_check") == 1  # decided once, by the survivor
    assert spool_files(g) == []


def test_claims_never_share_a_job_and_expired_leases_are_retaken(tmp_path, database_url):
    """On SQLite and PostgreSQL (SKIP LOCKED): each claim takes a different job; a lapsed lease frees a job."""
    import datetime as dt

    from sqlalchemy import update

    from gate.services import checks, jobs
    from gate.services.auth import create_client
    from gate.services.decisions import CheckRequest
    from tests.integration.http_support import prepare_database

    engine = prepare_database(database_url, tmp_path)
    try:
        client = create_client(engine, name="s", role="store")
        for i in range(2):
            checks.enqueue(engine, check_id=f"chk_{i}", client_id=client.id, path=f"/nowhere/{i}", size=1,
                           sha256=f"{i:064x}", filename="a.apk", request=CheckRequest(), callback_url=None)
        first = jobs.claim(engine, "w1", lease_seconds=60)
        second = jobs.claim(engine, "w2", lease_seconds=60)
        assert {first.check_id, second.check_id} == {"chk_0", "chk_1"}
        assert jobs.claim(engine, "w3", lease_seconds=60) is None
        with engine.begin() as conn:  # w1 stopped heartbeating long ago
            conn.execute(update(jobs.J).where(jobs.J.c.id == first.id).values(
                lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        retaken = jobs.claim(engine, "w3", lease_seconds=60)
        assert retaken.id == first.id and retaken.attempts == 2
        with engine.begin() as conn:  # the old owner can no longer complete it
            assert conn.execute(update(jobs.J).where(jobs.owned(first.id, "w1")).values(status="done")).rowcount == 0
    finally:
        engine.dispose()


def test_worker_survives_a_database_failure_and_goes_on(async_gate):
    # The job table disappears under the running worker (as during a failover or a bad migration) and comes back:
    # the worker logs the failed rounds and then finishes the queued check instead of exiting.
    from sqlalchemy import text

    g = async_gate
    queued = g.upload(query="?async=1").json()
    with g.engine.begin() as conn:
        conn.execute(text("ALTER TABLE job RENAME TO job_away"))
    log_path = pathlib.Path(g.settings.spool_dir).parent / "worker.log"
    with open(log_path, "wb") as log_file:
        worker = subprocess.Popen([sys.executable, "-m", "gate.cli", "worker", "--poll", "0.1"], env=worker_env(g),
                                  stdout=subprocess.DEVNULL, stderr=log_file)
    try:  # several polling rounds fail while the table is gone (however long the worker takes to start)
        wait_for(lambda: log_path.read_text().count("worker round failed") >= 2, what="failed worker rounds")
        assert worker.poll() is None, "the worker exited on a database error"
        with g.engine.begin() as conn:
            conn.execute(text("ALTER TABLE job_away RENAME TO job"))
        status_url = g.url + queued["status_url"]
        done = wait_for(lambda: requests.get(status_url, headers=g.headers("store")).json()["status"] == "done",
                        what="the queued check after the table came back")
    finally:
        stop(worker)
    assert done


def test_a_queued_check_the_worker_cannot_complete_is_called_back_as_failed(async_gate):
    g = async_gate
    with StoreEndpoint() as endpoint:
        r = g.upload(query="?async=1", metadata={"callback_url": endpoint.url, "store_app_id": "S-lost"})
        assert r.status_code == 202, r.text
        check_id = r.json()["check_id"]
        for name in spool_files(g):  # the spool was not shared with the worker, or was cleaned under it
            os.unlink(pathlib.Path(g.settings.spool_dir) / name)
        worker = start_worker(g)
        try:
            wait_for(lambda: endpoint.received, what="the failure callback")
        finally:
            log = stop(worker)
        headers, body = endpoint.received[0]
        verify(headers[HEADER], body, g.clients["store"].webhook_secret)
        sent = json.loads(body)
        assert headers["X-Gate-Event"] == "check.failed", log
        assert (sent["check_id"], sent["status"], sent["error"]["code"]) == (check_id, "failed", "check_failed")
        status = requests.get(f"{g.url}/api/v1/checks/{check_id}", headers=g.headers("store")).json()
        assert status["status"] == "failed" and "verdict" not in status
