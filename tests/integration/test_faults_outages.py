"""Callbacks, workers, outages and disks (docs/faults.md 17-26), reproduced the way they were found: real `gate
worker` and `gate serve` processes on PostgreSQL, a worker paused with SIGSTOP, store endpoints on loopback that are
slow, huge or trickling, a relay that black-holes or cuts the database, a tmpfs spool that fills up, a server
SIGKILLed in the middle of an upload, and PID namespaces in which two workers both run as PID 1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from sqlalchemy import select, text

from gate.db.service_tables import CallbackDelivery, Job, ServiceCheck
from gate.services.auth import create_client
from gate.services.callbacks import queue_callback
from tests.integration.http_support import HELLO, multipart, prepare_database, wait_for
from tests.integration.relay_support import TcpRelay
from tests.integration.test_faults_instances import (
    scalar,
    service_env,
    signed_upload,
    start_server,
    start_worker,
    stop_process,
)
from tests.loopback_store import StoreEndpoint

CB, J, SC = CallbackDelivery.__table__, Job.__table__, ServiceCheck.__table__


def queue_deliveries(engine, client, url: str, count: int, prefix: str) -> list[str]:
    ids = [f"chk_{prefix}{n:04d}" for n in range(count)]
    with engine.begin() as conn:
        for check_id in ids:
            queue_callback(conn, client_id=client.id, check_id=check_id, url=url, body={"check_id": check_id})
    return ids


def posts_per_check(store: StoreEndpoint) -> Counter:
    return Counter(json.loads(body)["check_id"] for _, body in store.received)


def delivered(engine) -> int:
    return scalar(engine, select(text("count(*)")).select_from(CB).where(CB.c.status == "delivered"))


# --- 17 (5): a slow store and a paused worker: one POST per callback ---------------------------------------------

def test_a_store_answering_in_9_5_s_gets_each_callback_once_from_two_workers(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    with StoreEndpoint(delay=9.5) as store:
        client = create_client(engine, name="store-9s", role="store", callback_url=store.url)
        ids = queue_deliveries(engine, client, store.url, 20, "slow")
        env = service_env(postgres_url, spool, GATE_CALLBACK_TIMEOUT_SECONDS="12")
        logs = [open(tmp_path / f"w{n}.log", "wb") for n in range(2)]
        workers = [start_worker(env, log) for log in logs]
        try:
            wait_for(lambda: delivered(engine) == 20, timeout=240, what="20 deliveries")
            time.sleep(2)  # anything still in flight would arrive now
        finally:
            for worker, log in zip(workers, logs):
                stop_process(worker)
                log.close()
    posts = posts_per_check(store)
    assert set(posts) == set(ids) and set(posts.values()) == {1}, posts  # was 24 POSTs for 20 callbacks
    with engine.connect() as conn:
        assert set(conn.execute(select(CB.c.attempts)).scalars()) == {1}
    engine.dispose()


def settle(count, quiet: float = 1.5, limit: float = 15.0) -> None:
    """Wait until ``count()`` has not moved for ``quiet`` seconds (at most ``limit``): requests already on the wire
    when a process was paused are still being read by the receiving threads, later on a loaded machine."""
    deadline, last, since = time.monotonic() + limit, count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.1)
        now = count()
        if now != last:
            last, since = now, time.monotonic()


def test_a_worker_paused_past_its_claims_sends_nothing_after_it_wakes(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    timeout = 3.0  # the claim's lease: 2 x 3 s + 30 s of DNS allowance
    with StoreEndpoint(delay=2) as store:
        client = create_client(engine, name="store-pause", role="store", callback_url=store.url)
        ids = queue_deliveries(engine, client, store.url, 12, "pause")
        env = service_env(postgres_url, spool, GATE_CALLBACK_TIMEOUT_SECONDS=str(timeout))
        log_a, log_b = open(tmp_path / "a.log", "wb"), open(tmp_path / "b.log", "wb")
        worker_a = start_worker(env, log_a)
        worker_b = None
        try:
            wait_for(lambda: len(store.received) >= 1, timeout=60, what="worker A's first POSTs")
            os.kill(worker_a.pid, signal.SIGSTOP)  # A holds connections to the store and claims in the database
            settle(lambda: len(store.received))  # what A had already written reaches the store (slow under load)
            paused_with = posts_per_check(store)
            worker_b = start_worker(env, log_b)
            wait_for(lambda: delivered(engine) == 12, timeout=180, what="worker B delivering everything")
            recorded = len(store.received)
            os.kill(worker_a.pid, signal.SIGCONT)
            time.sleep(6)  # A wakes with its claims taken over: it must send nothing more
            after_wake = len(store.received)
        finally:
            os.kill(worker_a.pid, signal.SIGCONT)
            stop_process(worker_a)
            if worker_b is not None:
                stop_process(worker_b)
            log_a.close()
            log_b.close()
    posts = posts_per_check(store)
    assert set(posts) == set(ids)
    # Twice only where A's POST reached the store and A (paused) never recorded the answer: an answer was lost.
    twice = {check_id for check_id, n in posts.items() if n > 1}
    assert twice <= set(paused_with) and max(posts.values()) <= 2, (posts, paused_with)
    assert after_wake == recorded, "the woken worker sent callbacks that were already delivered"
    engine.dispose()


# --- 18 (6): a store answering 400 MiB, a trickling store, and the others meanwhile --------------------------------

class RawStore:
    """A store endpoint that answers every request with ``respond(socket)``."""

    def __init__(self, respond) -> None:
        self.requests = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.recv(65536)
                outer.requests += 1
                try:
                    respond(self.request)
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


HUGE = 400 << 20


def huge_answer(conn) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % HUGE)
    chunk = b"\0" * (1 << 20)
    for _ in range(HUGE >> 20):
        conn.sendall(chunk)


def trickled_answer(conn) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":  # one byte every 2 s: never a read timeout
        conn.sendall(bytes([byte]))
        time.sleep(2)


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_400_mib_answer_leaves_the_worker_flat(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    store, small = RawStore(huge_answer), RawStore(lambda conn: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    client = create_client(engine, name="store-huge", role="store", callback_url=store.url)
    env = service_env(postgres_url, spool)
    with open(tmp_path / "w.log", "wb") as log:
        worker = start_worker(env, log)
        try:
            queue_deliveries(engine, client, small.url, 3, "small")  # warm: the same code paths, a tiny answer
            wait_for(lambda: delivered(engine) == 3, timeout=60, what="three small deliveries")
            before = peak_rss_mib(worker.pid)
            queue_deliveries(engine, client, store.url, 3, "huge")
            wait_for(lambda: delivered(engine) == 6, timeout=60, what="three huge deliveries")
            after = peak_rss_mib(worker.pid)
        finally:
            stop_process(worker)
            store.close()
            small.close()
    # The status line is all the gate reads: the peak does not move with the answer (it went 51 -> 868 MB).
    assert after - before < 20, (before, after)
    engine.dispose()


def test_a_trickling_store_is_cut_at_the_deadline_and_holds_no_one_elses_callbacks(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    trickling = RawStore(trickled_answer)
    with StoreEndpoint() as good:
        slow_client = create_client(engine, name="store-trickle", role="store", callback_url=trickling.url)
        good_client = create_client(engine, name="store-good", role="store", callback_url=good.url)
        queue_deliveries(engine, slow_client, trickling.url, 4, "trickle")
        env = service_env(postgres_url, spool, GATE_CALLBACK_TIMEOUT_SECONDS="3", GATE_CALLBACK_CONCURRENCY="2",
                          GATE_CALLBACK_BACKOFF_SECONDS="60")
        with open(tmp_path / "w.log", "wb") as log:
            worker = start_worker(env, log)
            try:
                wait_for(lambda: trickling.requests >= 1, timeout=60, what="the trickling store's first POST")
                started = time.monotonic()
                queue_deliveries(engine, good_client, good.url, 6, "good")
                wait_for(lambda: len(good.received) == 6, timeout=60, what="the good store's callbacks")
                good_took = time.monotonic() - started
                wait_for(lambda: scalar(engine, select(text("count(*)")).select_from(CB).where(
                    CB.c.last_error.like("DeliveryTooSlow%"))) >= 1, timeout=30, what="a cut delivery")
            finally:
                stop_process(worker)
                trickling.close()
    # The trickling store holds at most one of two slots, each for at most 3 s (it held everyone for 70 s).
    assert good_took < 10, good_took
    engine.dispose()


# --- 19 (7): a short database blip while a job fails ----------------------------------------------------------------

def test_a_job_failing_during_a_database_blip_is_retried_when_the_database_returns(postgres_url, tmp_path):
    engine = prepare_database(postgres_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    relay = TcpRelay()
    with StoreEndpoint() as store:
        client = create_client(engine, name="store-blip", role="store", callback_url=store.url)
    env = service_env(postgres_url, spool)
    server, url = start_server(env)
    log = open(tmp_path / "w.log", "wb")
    worker = None
    try:
        check_id = signed_upload(url, client, {"store_app_id": "blip"}).json()["check_id"]
        [name] = os.listdir(spool)
        package = (spool / name).read_bytes()
        (spool / name).unlink()
        os.mkfifo(spool / name)  # the worker blocks reading it: provably inside the job when the database goes
        worker = start_worker(service_env(relay.url(postgres_url), spool), log)
        wait_for(lambda: scalar(engine, select(J.c.status)) == "running", timeout=60, what="the job running")
        relay.cut()
        try:  # the job now fails (not a package) while the database is away
            with open(spool / name, "wb") as fifo:
                fifo.write(b"not a package")
        except BrokenPipeError:  # the reader saw enough and closed its end first
            pass
        wait_for(lambda: b"database unavailable; retrying the job's release" in (tmp_path / "w.log").read_bytes(),
                 timeout=30, what="the release failing")
        (spool / name).unlink()
        (spool / name).write_bytes(package)  # what the next attempt reads
        time.sleep(2)
        relay.restore()
        restored = time.monotonic()
        wait_for(lambda: scalar(engine, select(SC.c.status).where(SC.c.check_id == check_id)) == "done",
                 timeout=60, what="the check done after the blip")
        took = time.monotonic() - restored
    finally:
        if worker is not None:
            stop_process(worker)
        stop_process(server)
        log.close()
        relay.close()
    assert took < 20, took  # released when the database returned, retried 5 s later: not after the 120 s lease
    assert scalar(engine, select(J.c.attempts)) == 2
    engine.dispose()


# --- 20 (8): a database that black-holes ------------------------------------------------------------------------------

def test_a_black_holed_database_turns_health_and_metrics_503_within_5_s(postgres_url, tmp_path):
    from gate.api.app import create_app
    from gate.config import Settings
    from tests.integration.http_support import serve

    engine = prepare_database(postgres_url, tmp_path)
    client = create_client(engine, name="dev-hole", role="developer")
    relay = TcpRelay()
    server, url = serve(create_app(Settings(database_url=relay.url(postgres_url), log_format="text")))
    headers = {"Authorization": f"Bearer {client.api_key}"}
    try:
        assert requests.get(f"{url}/healthz", timeout=30).status_code == 200
        assert requests.get(f"{url}/api/v1/checks/chk_none", headers=headers, timeout=30).status_code == 404
        relay.black_hole()
        holed = time.monotonic()
        health = requests.get(f"{url}/healthz", timeout=30)
        health_took = time.monotonic() - holed
        started = time.monotonic()
        scrape = requests.get(f"{url}/metrics", timeout=30)
        scrape_took = time.monotonic() - started
        started = time.monotonic()
        api = requests.get(f"{url}/api/v1/checks/chk_none", headers=headers, timeout=60)
        api_took = time.monotonic() - started
        relay.restore()
        wait_for(lambda: requests.get(f"{url}/healthz", timeout=30).status_code == 200, timeout=30,
                 what="recovery")
    finally:
        server.shutdown()
        relay.close()
    assert health.status_code == 503 and health.json()["database"]["code"] == "database_unavailable"
    assert health_took <= 5, health_took  # it hung for as long as TCP took (40 s, minutes in real outages)
    assert scrape.status_code == 200 and "gate_database_up 0.0" in scrape.text and scrape_took <= 5, scrape_took
    assert api.status_code == 503 and api.headers["Retry-After"], api.text
    assert api_took <= 15, api_took  # the pool's probe (2 s) and a new connection's start-up (3 s)
    engine.dispose()


def test_a_lock_holder_cut_off_by_a_black_hole_stops_within_seconds(postgres_url):
    from gate.db.engine import make_engine
    from gate.sync.locks import LockLost, job_lock

    relay = TcpRelay()
    engine = make_engine(relay.url(postgres_url))
    try:
        with job_lock(engine, "report") as held:
            assert held
            with engine.connect() as conn:  # the server ends a session whose client is gone, with its locks
                assert conn.execute(text("SHOW tcp_keepalives_idle")).scalar() == "5"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "1min"
            relay.black_hole()
            started = time.monotonic()
            with pytest.raises(LockLost):
                held.ensure()
            took = time.monotonic() - started
    finally:
        relay.close()
        engine.dispose()
    assert took <= 7, took  # LOCK_PROBE_SECONDS (5) and the watchdog's tick


class PacketDrop:
    """Drops every packet of one loopback TCP connection (nftables, in a table of its own): a real black hole,
    in which neither end hears from the other and only timers can tell."""

    def __init__(self, port: int) -> None:
        self.table = f"gate_test_{uuid.uuid4().hex[:8]}"
        script = (f"add table inet {self.table}\n"
                  f"add chain inet {self.table} out {{ type filter hook output priority 0 ; }}\n"
                  f"add rule inet {self.table} out tcp sport {port} drop\n"
                  f"add rule inet {self.table} out tcp dport {port} drop\n")
        ran = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
        if ran.returncode != 0:
            pytest.skip(f"cannot drop packets with nftables here: {ran.stderr.strip()}")

    def lift(self) -> None:
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True)


def test_a_scheduler_whose_packets_are_dropped_loses_its_lock_on_both_ends(postgres_url):
    from gate.db.engine import make_engine
    from gate.sync.locks import LockLost, job_lock
    from tests.integration.test_faults_instances import with_app_name

    if shutil.which("nft") is None:
        pytest.skip("nftables (nft) is not installed")
    name = f"lock-{uuid.uuid4().hex[:8]}"
    engine = make_engine(with_app_name(postgres_url, name))
    admin = make_engine(postgres_url)
    holders = text("SELECT a.pid, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                   "WHERE l.locktype = 'advisory' AND a.application_name = :n")
    drop = None
    try:
        with job_lock(engine, "report") as held:
            assert held
            with admin.connect() as conn:
                [(pid, port)] = conn.execute(holders, {"n": name}).all()
            drop = PacketDrop(port)
            started = time.monotonic()
            with pytest.raises(LockLost):
                held.ensure()
            gate_side = time.monotonic() - started

            def released():
                with admin.connect() as conn:
                    return not conn.execute(holders, {"n": name}).all()
            wait_for(released, timeout=60, what="the server ending the session and its lock")
            server_side = time.monotonic() - started
    finally:
        if drop is not None:
            drop.lift()
        engine.dispose()
        admin.dispose()
    assert gate_side <= 7, gate_side  # the instance stops at its next step (LOCK_PROBE_SECONDS)
    assert server_side <= 30, server_side  # the server's keepalives (5 s idle, 3 probes 2 s apart): another may run


# --- 21 (9): a full spool -----------------------------------------------------------------------------------------

def test_a_full_spool_answers_507_spool_full_everywhere(tmp_path, tiny_spool, database_url):
    from tests.integration.http_support import run_queued, start_gate

    g, server = start_gate(tmp_path, database_url, spool_dir=str(tiny_spool), fetch_allow_http=True,
                           fetch_allow_networks="127.0.0.0/8")
    files = RawStore(lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                               % HELLO.stat().st_size + HELLO.read_bytes()))
    try:
        upload = g.upload()
        assert upload.status_code == 507 and upload.json()["error"]["code"] == "spool_full", upload.text
        assert upload.headers["Retry-After"] == "60"  # was 500 internal_error
        body, content_type = multipart(HELLO)
        page = requests.post(f"{g.url}/precheck", data=body, headers={"Content-Type": content_type}, timeout=30)
        assert page.status_code == 507 and "服务器暂存空间已满" in page.text and page.headers["Retry-After"] == "60"
        english = requests.post(f"{g.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type},
                                timeout=30)
        assert english.status_code == 507 and "spool disk is full" in english.text
        import hashlib

        from gate.services.signatures import HEADER, sign

        announced = json.dumps({"package_url": files.url, "sha256": hashlib.sha256(HELLO.read_bytes()).hexdigest()})
        r = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=announced.encode(), timeout=30, headers={
            **g.headers("store"), "Content-Type": "application/json",
            HEADER: sign(announced.encode(), g.clients["store"].webhook_secret)})
        answer, job = run_queued(g, r)  # was 400 package_url_unreachable ("the download broke off")
        assert answer["status"] == "queued" and job["status"] == "queued", (answer, job)
        assert job["last_error"].startswith("spool_full:"), job  # retried once there is room
        assert os.listdir(tiny_spool) == []
    finally:
        server.shutdown()
        files.close()
        g.engine.dispose()


# --- 22 (10): a server killed in the middle of an upload ----------------------------------------------------------

def test_a_partial_upload_left_by_a_killed_server_is_swept_and_a_live_one_is_not(tmp_path, sqlite_url):
    from gate.services.spool_sweep import sweep_orphans

    engine = prepare_database(sqlite_url, tmp_path)
    client = create_client(engine, name="store-crash", role="store")
    spool = tmp_path / "spool"
    spool.mkdir()
    env = service_env(sqlite_url, spool, GATE_SPOOL_ORPHAN_SECONDS="1")
    server, url = start_server(env)
    port = int(url.rsplit(":", 1)[1])
    body, content_type = multipart(HELLO)
    head, _, _ = body.partition(HELLO.read_bytes()[:64])
    sender = socket.create_connection(("127.0.0.1", port))
    try:
        sender.sendall(f"POST /api/v1/hooks/store/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Authorization: Bearer {client.api_key}\r\nX-Gate-Signature: t={int(time.time())},v1={'0' * 64}"
                       f"\r\nContent-Type: {content_type}\r\nContent-Length: {10 << 20}\r\n\r\n".encode() + head)
        for _ in range(3):
            sender.sendall(b"\x01" * (1 << 20))  # 3 of the announced 10 MB
        wait_for(lambda: [p for p in spool.iterdir() if p.stat().st_size >= 2 << 20], timeout=30,
                 what="a partial spool file")
        time.sleep(1.5)
        kept = sweep_orphans(engine, str(spool), age_seconds=0)  # the upload is alive: its server holds the lock
        assert kept.deleted == 0 and len(list(spool.iterdir())) == 1
        server.send_signal(signal.SIGKILL)
        server.wait()
        [left] = list(spool.iterdir())  # was: a 9.8 MB partial file stayed after the restart
        time.sleep(1.5)
        server, url = start_server(env)  # the start-up sweep
        assert not left.exists() and list(spool.iterdir()) == []
    finally:
        sender.close()
        stop_process(server)
        engine.dispose()


# --- 23 (11): a saturated server says so ------------------------------------------------------------------------

def test_a_server_with_every_thread_busy_answers_healthz_overloaded(tmp_path, sqlite_url):
    import sqlite3

    engine = prepare_database(sqlite_url, tmp_path)
    client = create_client(engine, name="dev-busy", role="developer")
    spool = tmp_path / "spool"
    spool.mkdir()
    env = service_env(sqlite_url, spool)
    server, url = start_server(env, serve_args=("--workers", "1", "--threads", "3"))
    body, content_type = multipart(HELLO)
    headers = {"Authorization": f"Bearer {client.api_key}", "Content-Type": content_type}
    # Slow bodies no longer take request threads (they are received first: fault 33); what holds them is slow work.
    # Here the database's write lock, taken by another program: two checks wait on it (SQLite's busy timeout, 5 s)
    # inside the app, each on a request thread, while /healthz answers on a thread of its own.
    lock = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
    answers = []
    uploads = [threading.Thread(target=lambda: answers.append(requests.post(
        f"{url}/api/v1/checks", data=body, headers=headers, timeout=30).status_code)) for _ in range(2)]
    try:
        assert requests.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
        lock.execute("BEGIN EXCLUSIVE")
        for upload in uploads:
            upload.start()
        busy = wait_for(lambda: (r := requests.get(f"{url}/healthz", timeout=10)).status_code == 503 and [r],
                        timeout=4.5, what="healthz saying overloaded")[0]  # (a 503 Response is falsy)
        assert busy.json()["status"] == "overloaded" and busy.json()["error"]["code"] == "overloaded"
        assert busy.headers["Retry-After"]
        lock.execute("ROLLBACK")
        for upload in uploads:
            upload.join(30)
        wait_for(lambda: requests.get(f"{url}/healthz", timeout=10).status_code == 200, timeout=30,
                 what="healthy again")
        assert len(answers) == 2
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
        stop_process(server)
        engine.dispose()


# --- 24 (16): two workers that both run as PID 1 on one host name --------------------------------------------------

def test_two_workers_running_as_pid_1_have_different_identities():
    probe = [sys.executable, "-c", "import os; from gate.services.worker import worker_name; "
                                   "print(os.getpid(), worker_name())"]
    names = []
    for _ in range(2):  # each in its own PID namespace, as a container is
        ran = subprocess.run(["unshare", "--pid", "--fork", *probe], capture_output=True, text=True)
        if ran.returncode != 0:
            pytest.skip(f"cannot make a PID namespace here: {ran.stderr.strip()}")
        pid, name = ran.stdout.split()
        assert pid == "1"
        names.append(name)
    host = socket.gethostname()
    assert all(n.startswith(f"{host}:1:") for n in names) and names[0] != names[1], names


def test_the_sweep_keeps_young_files_files_of_live_jobs_and_what_it_did_not_write(tmp_path, sqlite_url):
    from gate.services.spool_sweep import sweep_orphans

    engine = prepare_database(sqlite_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    old = time.time() - 3600
    named = {n: spool / f"gate-upload-{n}.pkg" for n in ("orphan", "queued", "young", "done")}
    for path in named.values():
        path.write_bytes(b"x" * 100)
    for n in ("orphan", "queued", "done"):
        os.utime(named[n], (old, old))
    os.mkfifo(spool / "gate-upload-fifo.pkg")  # not a file the gate writes: never opened, never deleted
    (spool / "gate-upload-link.pkg").symlink_to(tmp_path / "gate.db")
    (spool / "unrelated.bin").write_bytes(b"y")
    os.utime(spool / "unrelated.bin", (old, old))
    with engine.begin() as conn:
        for status, n in (("queued", "queued"), ("done", "done")):
            conn.execute(J.insert(), {"kind": "check", "check_id": f"chk_{n}", "status": status, "attempts": 0,
                                      "payload": json.dumps({"path": str(named[n])})})
    result = sweep_orphans(engine, str(spool), age_seconds=600)
    assert (result.deleted, result.freed_bytes) == (2, 200)  # the orphan, and the file of a finished job
    assert sorted(p.name for p in spool.iterdir()) == ["gate-upload-fifo.pkg", "gate-upload-link.pkg",
                                                       "gate-upload-queued.pkg", "gate-upload-young.pkg",
                                                       "unrelated.bin"]
    engine.dispose()
