"""Faults between instances, reproduced the way they were found: real `gate serve`, `gate worker`, `gate sync` and
`gate scheduler` processes on one PostgreSQL schema, SIGKILL/SIGSTOP, and pg_terminate_backend.

Each test ends with what must hold whatever happened in between: every check decided once, every delist notice
queued and sent once per notice id, every report period delivered (by the standby, within one scheduler interval).
docs/faults.md lists the scenarios.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import requests
from sqlalchemy import select, text

from gate.db.service_tables import CallbackDelivery, Job, ServiceCheck
from gate.db.tables import AuditEvent
from gate.services.auth import create_client
from tests.integration.http_support import FILINGS, HELLO, multipart, prepare_database, wait_for
from tests.integration.relay_support import TcpRelay
from tests.integration.sync_support import gate_env, spawn_gate, start_sandbox, stop_process
from tests.loopback_store import StoreEndpoint

LOOPBACK = "127.0.0.0/8"
J, SC, CB, AE = Job.__table__, ServiceCheck.__table__, CallbackDelivery.__table__, AuditEvent.__table__


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(url: str, spool, **extra) -> dict:
    env = {**os.environ, "GATE_DATABASE_URL": url, "GATE_SPOOL_DIR": str(spool), "GATE_LOG_FORMAT": "json",
           "GATE_FETCH_ALLOW_HTTP": "1", "GATE_FETCH_ALLOW_NETWORKS": LOOPBACK,
           "GATE_CALLBACK_BACKOFF_SECONDS": "0.2", "GATE_CALLBACK_TIMEOUT_SECONDS": "10"}
    env.update(extra)
    return env


def start_server(env: dict, *, serve_args=("--dev",), log=None) -> tuple[subprocess.Popen, str]:
    """`gate serve` on a free loopback port (werkzeug by default; gunicorn with e.g. ``("--workers", "1")``)."""
    port = free_port()
    own_log = log is None
    if own_log:
        log = open(os.path.join(env["GATE_SPOOL_DIR"], "..", f"serve-{port}.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", *serve_args, "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log)
    if own_log:
        log.close()
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            assert proc.poll() is None, "gate serve exited"
            return False
    wait_for(up, timeout=90, what="gate serve")
    return proc, url


def start_worker(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gate.cli", "worker", "--poll", "0.1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def signed_upload(url: str, client, metadata: dict, query: str = "?async=1") -> requests.Response:
    from gate.services.signatures import HEADER, sign

    body, content_type = multipart(HELLO, metadata)
    return requests.post(f"{url}/api/v1/hooks/store/upload{query}", data=body, timeout=60, headers={
        "Authorization": f"Bearer {client.api_key}", "Content-Type": content_type,
        HEADER: sign(body, client.webhook_secret)})


def scalar(engine, statement):
    with engine.connect() as conn:
        return conn.execute(statement).scalar()


def with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def terminate_backends(engine, application_name: str) -> int:
    with engine.begin() as conn:
        return len(conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE application_name = :n"), {"n": application_name}).all())


# --- 1: the same uploads sent to two servers at once ------------------------------------------------------------

def test_two_servers_racing_on_the_same_uploads_queue_and_decide_each_check_once(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    with StoreEndpoint() as store:
        client = create_client(engine, name="store-race", role="store", callback_url=store.url)
        env = service_env(postgres_url, spool)
        servers = [start_server(env) for _ in range(2)]
        uploads = 20
        try:
            answers: list = []
            for n in range(uploads):  # each upload sent to both servers at the same instant
                barrier = threading.Barrier(2)

                def send(url, n=n, barrier=barrier):
                    barrier.wait()
                    answers.append(signed_upload(url, client, {"store_app_id": f"race-{n}"}))
                threads = [threading.Thread(target=send, args=(url,)) for _, url in servers]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            assert all(r.status_code == 202 for r in answers), [r.text for r in answers if r.status_code != 202]
            per_check = Counter(r.json()["check_id"] for r in answers)
            assert len(per_check) == uploads and set(per_check.values()) == {2}
            with engine.connect() as conn:
                jobs = Counter(conn.execute(select(J.c.check_id)).scalars())
            assert jobs == Counter(dict.fromkeys(per_check, 1)), "a check got more than one job"
            with open(tmp_path / "workers.log", "wb") as log:
                workers = [start_worker(env, log) for _ in range(2)]
            try:
                wait_for(lambda: scalar(engine, select(text("count(*)")).select_from(SC)
                                        .where(SC.c.status == "done")) == uploads, timeout=90, what="all checks")
                wait_for(lambda: len(store.received) >= uploads, timeout=60, what="the callbacks")
                time.sleep(1)  # a second callback per check, if one were owed, would arrive now
            finally:
                for w in workers:
                    stop_process(w)
        finally:
            for proc, _ in servers:
                stop_process(proc)
        with engine.connect() as conn:
            decided = conn.execute(select(text("count(*)")).select_from(AE).where(
                AE.c.action == "check", AE.c.actor.like("worker:%"))).scalar()
        assert decided == uploads, "a check was decided twice"
        notified = Counter(json.loads(body)["check_id"] for _, body in store.received)
        assert notified == Counter(dict.fromkeys(per_check, 1)), "a store got two callbacks for one check"
    engine.dispose()


# --- 2: a worker stalled past its lease comes back -------------------------------------------------------------

def test_stalled_worker_coming_back_never_overwrites_the_new_owners_result(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    client = create_client(engine, name="store-stall", role="store")
    env = service_env(postgres_url, spool, GATE_JOB_LEASE_SECONDS="5")
    server, url = start_server(env)
    log_a, log_b = open(tmp_path / "a.log", "wb"), open(tmp_path / "b.log", "wb")
    worker_a = worker_b = None
    try:
        check_id = signed_upload(url, client, {"store_app_id": "stall"}).json()["check_id"]
        with engine.begin() as conn:  # the job is on its last attempt (earlier workers died on it)
            conn.execute(J.update().values(attempts=4))
        holder = engine.connect()
        holder.begin()
        # Hold the check row: worker A claims, extracts and then waits inside its completing transaction.
        holder.execute(select(SC.c.check_id).where(SC.c.check_id == check_id).with_for_update())
        worker_a = start_worker(service_env(with_app_name(postgres_url, "worker_a"), spool,
                                            GATE_JOB_LEASE_SECONDS="5"), log_a)
        wait_for(lambda: scalar(engine, text("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                             "'worker_a' AND wait_event_type = 'Lock'")), timeout=60,
                 what="worker A waiting inside its job")
        os.kill(worker_a.pid, signal.SIGSTOP)  # the machine stalls
        assert terminate_backends(engine, "worker_a")  # ... and its database sessions are gone
        holder.rollback()
        holder.close()
        worker_b = start_worker(env, log_b)  # takes the job once A's lease has passed, and completes it
        wait_for(lambda: scalar(engine, select(SC.c.status).where(SC.c.check_id == check_id)) == "done",
                 timeout=60, what="worker B completing the check")
        stop_process(worker_b)
        os.kill(worker_a.pid, signal.SIGCONT)  # A wakes up after its lease, with a dead connection
        wait_for(lambda: b"job failed" in (tmp_path / "a.log").read_bytes(), timeout=30,
                 what="worker A noticing its failure")
        time.sleep(1)  # what it does about it
        with engine.connect() as conn:
            check = conn.execute(select(SC).where(SC.c.check_id == check_id)).one()
            job = conn.execute(select(J)).one()
            decisions = conn.execute(select(text("count(*)")).select_from(AE).where(AE.c.action == "check",
                                     AE.c.actor.like("worker:%"))).scalar()
        assert (check.status, check.verdict, check.error) == ("done", "allow", None)
        assert job.status == "done" and job.worker.startswith(f"{socket.gethostname()}:{worker_b.pid}:")
        assert decisions == 1
        assert b'"outcome": "lost"' in (tmp_path / "a.log").read_bytes()
    finally:
        for proc in (worker_a, worker_b):
            if proc is not None:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGCONT)
                stop_process(proc)
        stop_process(server)
        log_a.close()
        log_b.close()
        engine.dispose()


# --- 3: the filings-sync lock's connection is lost while a sync runs ---------------------------------------------

CANCELLATIONS = 300


def _many_filings(n: int) -> list[dict]:
    base = FILINGS[0]
    out = []
    for i in range(n):
        record = copy.deepcopy(base)
        record["service_licence"] = f"京ICP备2025{i:06d}号-1A"
        record["main_licence"] = f"京ICP备2025{i:06d}号"
        record["platforms"] = [{"platform": "android", "identifier": f"cn.faults.app{i}",
                                "signature_md5": base["platforms"][0]["signature_md5"]}]
        record["domains"] = []
        out.append(record)
    return out


def test_sync_that_lost_its_lock_stops_and_every_notice_goes_out_once(postgres_url, tmp_path):
    from gate.db.filings import import_into_database
    from gate.services.listings import parse_events, record_events

    engine = prepare_database(postgres_url, tmp_path)
    filings = _many_filings(CANCELLATIONS)
    path = tmp_path / "many.json"
    path.write_text(json.dumps(filings, ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])
    sandbox = start_sandbox()
    with StoreEndpoint() as store:
        client = create_client(engine, name="store-sync", role="store", callback_url=store.url)
        record_events(engine, client.id, parse_events({"events": [
            {"package": f"cn.faults.app{i}", "version_code": 1, "action": "listed",
             "at": "2025-01-01T10:00:00+08:00"} for i in range(CANCELLATIONS)]}))
        cancelled = [dict(f, status="cancelled") for f in filings]
        sandbox.append_feed(cancelled)
        env = gate_env(with_app_name(postgres_url, "sync_a"), sandbox, GATE_FETCH_ALLOW_HTTP="1",
                       GATE_FETCH_ALLOW_NETWORKS=LOOPBACK)
        first = spawn_gate("sync", "filings", env=env)
        try:
            R = text("SELECT count(*) FROM filing_reevaluation WHERE status = 'done'")
            wait_for(lambda: scalar(engine, R) >= 10, timeout=120, what="the first sync's re-evaluations")
            # The lock's session dies (a proxy cut it, the backend was terminated): the server releases the lock.
            with engine.begin() as conn:
                killed = conn.execute(text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'sync_a'")).all()
            assert killed, "the first sync holds no advisory lock"
            second = spawn_gate("sync", "filings", env=gate_env(postgres_url, sandbox, GATE_FETCH_ALLOW_HTTP="1",
                                                                GATE_FETCH_ALLOW_NETWORKS=LOOPBACK))
            out2, err2 = second.communicate(timeout=180)
            out1, err1 = first.communicate(timeout=180)
        finally:
            stop_process(first)
        assert second.returncode == 0, err2
        assert "job_lock_lost" in err1 + out1, (out1, err1)  # the first run stopped instead of running on
        with engine.connect() as conn:
            queued = Counter(conn.execute(select(CB.c.check_id)).scalars())
            audited = Counter(json.loads(d)["notice_id"] for d in conn.execute(
                select(AE.c.details).where(AE.c.action == "listing.delist_notice")).scalars())
            pending = scalar(engine, text("SELECT count(*) FROM filing_reevaluation WHERE status = 'pending'"))
        assert pending == 0
        assert len(queued) == CANCELLATIONS and set(queued.values()) == {1}, "a notice was queued twice"
        assert audited == queued
        with open(tmp_path / "w.log", "wb") as log:  # the sync tries the first notices; a worker sends the rest
            worker = start_worker(service_env(postgres_url, tmp_path), log)
        try:
            wait_for(lambda: len(store.received) >= CANCELLATIONS, timeout=90, what="the notices")
            time.sleep(1)
        finally:
            stop_process(worker)
        sent = Counter(json.loads(body)["notice_id"] for _, body in store.received)
        assert sent == queued, "a notice was sent twice"
    stop_process(sandbox.proc)
    engine.dispose()


# --- 4: a scheduler killed while delivering a report -----------------------------------------------------------

INTERVAL_MINUTES = 0.05  # 3 s: a rehearsal's scheduler interval


def test_report_left_pending_by_a_killed_scheduler_is_sent_by_the_standby_within_one_interval(postgres_url,
                                                                                                tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    latency = 6.0
    sandbox = start_sandbox("--latency", str(latency))  # every regulator answer takes this long
    env = gate_env(postgres_url, sandbox, GATE_SYNC_INTERVAL_MINUTES=str(INTERVAL_MINUTES))
    active = spawn_gate("scheduler", env=env)
    standby = None
    standby_log = tmp_path / "standby.log"
    try:
        attempted = text("SELECT count(*) FROM report_outbox WHERE attempts > 0")
        wait_for(lambda: scalar(engine, attempted), timeout=60, what="the active scheduler sending the report")
        with open(standby_log, "wb") as log:  # its start-up run finds the report job locked and skips
            standby = subprocess.Popen([sys.executable, "-m", "gate.cli", "scheduler"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=log)
        wait_for(lambda: b"job report-catch-up" in standby_log.read_bytes() or b"skipped" in
                 standby_log.read_bytes(), timeout=60, what="the standby's start-up run")
        assert scalar(engine, text("SELECT status FROM report_outbox")) == "pending"
        active.send_signal(signal.SIGKILL)  # mid-delivery: the outbox row stays pending
        active.wait()
        killed_at = time.monotonic()
        assert scalar(engine, text("SELECT status FROM report_outbox")) == "pending"
        wait_for(lambda: scalar(engine, text("SELECT count(*) FROM report_outbox WHERE status <> 'delivered'"))
                 == 0, timeout=60, what="the standby delivering the report")
        waited = time.monotonic() - killed_at
    finally:
        stop_process(active)
        if standby is not None:
            stop_process(standby)
    # One interval for the standby's next run, the regulator's latency for its answer, and some slack.
    assert waited <= INTERVAL_MINUTES * 60 + latency + 4, waited
    reports = sandbox.reports(items=False)
    stop_process(sandbox.proc)
    with engine.connect() as conn:
        periods = conn.execute(text("SELECT idempotency_key, status FROM report_outbox")).all()
    keys = [r["idempotency_key"] for r in reports["reports"]]
    assert {k for k, _ in periods} == set(keys) and len(set(keys)) == len(periods) == 1
    engine.dispose()


# --- 5: a slow store endpoint and a callback whose answer was never recorded ---------------------------------------

def test_a_slow_store_delays_only_its_callbacks_not_the_queued_checks(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    checks = 6
    with StoreEndpoint(delay=5) as store:  # each callback takes the store 5 s to answer
        client = create_client(engine, name="store-slow", role="store", callback_url=store.url)
        env = service_env(postgres_url, spool, GATE_CALLBACK_CONCURRENCY="1")
        server, url = start_server(env)
        try:
            for n in range(checks):
                assert signed_upload(url, client, {"store_app_id": f"slow-{n}"}).status_code == 202
            with open(tmp_path / "w.log", "wb") as log:
                worker = start_worker(env, log)
            try:
                wait_for(lambda: scalar(engine, select(text("count(*)")).select_from(SC)
                                        .where(SC.c.status == "done")) == checks, timeout=60, what="all checks")
                received_when_done = len(store.received)
            finally:
                stop_process(worker)
        finally:
            stop_process(server)
    # In the job loop each callback came before the next check: five had arrived when the sixth was decided.
    assert received_when_done <= 3, received_when_done
    engine.dispose()


def test_a_callback_delivered_but_not_recorded_is_sent_again_and_counted(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    with StoreEndpoint(delay=4) as store:
        client = create_client(engine, name="store-lost-ack", role="store", callback_url=store.url)
        env = service_env(postgres_url, spool)
        server, url = start_server(env)
        log = open(tmp_path / "w.log", "wb")
        try:
            check_id = signed_upload(url, client, {"store_app_id": "ack"}).json()["check_id"]
            worker = start_worker(env, log)
            wait_for(lambda: len(store.received) == 1, timeout=60, what="the first delivery")
            worker.send_signal(signal.SIGKILL)  # the store has the callback; its answer is never recorded
            worker.wait()
            # The claim pushed the retry three timeouts ahead; let it be due now.
            with engine.begin() as conn:
                attempts = conn.execute(select(CB.c.attempts)).scalar_one()
                conn.execute(CB.update().values(next_attempt_at=text("now() AT TIME ZONE 'utc'")))
            worker = start_worker(env, log)
            wait_for(lambda: scalar(engine, select(CB.c.status)) == "delivered", timeout=60, what="redelivery")
            stop_process(worker)
        finally:
            stop_process(server)
            log.close()
    assert attempts == 1  # counted before the POST, though the worker died before it could record anything
    with engine.connect() as conn:
        assert conn.execute(select(CB.c.attempts)).scalar_one() == 2
    bodies = [json.loads(b) for _, b in store.received]
    events = {(h["X-Gate-Event"], b["check_id"]) for (h, _), b in zip(store.received, bodies)}
    assert len(bodies) == 2 and events == {("check.completed", check_id)}  # what the store de-duplicates on
    engine.dispose()


# --- 6: the database goes away under a running server -----------------------------------------------------------

def test_database_outage_answers_503_and_metrics_keep_answering(postgres_url, tmp_path):
    from dataclasses import replace

    from gate.api.app import create_app
    from gate.config import Settings
    from tests.integration.http_support import serve

    engine = prepare_database(postgres_url, tmp_path)
    client = create_client(engine, name="dev-outage", role="developer")
    relay = TcpRelay()
    relayed = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}") + "&connect_timeout=3"
    server, url = serve(create_app(replace(Settings(database_url=relayed, log_format="text"))))
    headers = {"Authorization": f"Bearer {client.api_key}"}
    try:
        assert requests.get(f"{url}/api/v1/checks/chk_none", headers=headers, timeout=30).status_code == 404
        relay.cut()
        during = requests.get(f"{url}/api/v1/checks/chk_none", headers=headers, timeout=30)
        assert during.status_code == 503, during.text
        assert during.json()["error"]["code"] == "database_unavailable" and during.headers["Retry-After"]
        scrape = requests.get(f"{url}/metrics", timeout=30)
        assert scrape.status_code == 200 and "gate_database_up 0.0" in scrape.text
        assert 'status="503"' in scrape.text  # the outage is counted
        relay.restore()
        after = wait_for(lambda: requests.get(f"{url}/api/v1/checks/chk_none", headers=headers, timeout=30)
                         .status_code == 404, what="recovery")
        assert after and "gate_database_up 1.0" in requests.get(f"{url}/metrics", timeout=30).text
    finally:
        server.shutdown()
        relay.close()
        engine.dispose()
