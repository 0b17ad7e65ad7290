"""Figures for the faults of callbacks, workers and outages (docs/benchmarks.md, "Callbacks, workers and outages").

    GATE_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/faults.py [callbacks] [memory] [healthz]

- callbacks: POSTs per callback (a) 20 callbacks to a store answering in 9.5 s, two `gate worker` processes;
  (b) 12 callbacks to a store answering in 2 s, worker A paused (SIGSTOP) while it holds connections, worker B
  delivering, A woken afterwards.
- memory: a `gate worker`'s peak RSS (VmHWM) after three callbacks answered with 2 bytes, then after three answered
  with 400 MiB each.
- healthz: seconds from the database path black-holing (a relay that stops forwarding) to `/healthz` answering 503
  and `/metrics` answering `gate_database_up 0`, five times.
Each runs real processes on a fresh PostgreSQL schema, with the test suite's loopback store and relay.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import tempfile
import time
import uuid
from urllib.parse import quote

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from gate.db.engine import normalise_url  # noqa: E402
from gate.services.auth import create_client  # noqa: E402
from tests.integration.http_support import prepare_database, wait_for  # noqa: E402
from tests.integration.relay_support import TcpRelay  # noqa: E402
from tests.integration.test_faults_instances import service_env, start_worker, stop_process  # noqa: E402
from tests.integration.test_faults_outages import (  # noqa: E402
    RawStore,
    delivered,
    huge_answer,
    peak_rss_mib,
    posts_per_check,
    queue_deliveries,
)
from tests.loopback_store import StoreEndpoint  # noqa: E402


class Schema:
    """A fresh PostgreSQL schema, dropped afterwards."""

    def __enter__(self) -> str:
        base = os.environ["GATE_TEST_POSTGRES_URL"]
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(normalise_url(base))
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        return f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={self.name}')}"

    def __exit__(self, *exc) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def workers(url: str, work: pathlib.Path, count: int, **extra):
    spool = work / "spool"
    spool.mkdir(exist_ok=True)
    env = service_env(url, spool, **extra)
    logs = [open(work / f"w{n}.log", "wb") for n in range(count)]
    return [start_worker(env, log) for log in logs], logs


def callbacks(work: pathlib.Path) -> None:
    with Schema() as url:
        engine = prepare_database(url, work)
        with StoreEndpoint(delay=9.5) as store:
            client = create_client(engine, name="bench-slow", role="store", callback_url=store.url)
            queue_deliveries(engine, client, store.url, 20, "slow")
            started = time.monotonic()
            procs, logs = workers(url, work, 2, GATE_CALLBACK_TIMEOUT_SECONDS="12")
            wait_for(lambda: delivered(engine) == 20, timeout=300, what="20 deliveries")
            took = time.monotonic() - started
            time.sleep(2)
            for proc in procs:
                stop_process(proc)
        posts = posts_per_check(store)
        print(f"9.5 s store, 2 workers: {len(store.received)} POSTs for 20 callbacks, at most "
              f"{max(posts.values())} per callback, all delivered in {took:.1f} s")
        engine.dispose()
    with Schema() as url:
        engine = prepare_database(url, work)
        with StoreEndpoint(delay=2) as store:
            client = create_client(engine, name="bench-pause", role="store", callback_url=store.url)
            queue_deliveries(engine, client, store.url, 12, "pause")
            [a], _ = workers(url, work, 1, GATE_CALLBACK_TIMEOUT_SECONDS="3")
            wait_for(lambda: len(store.received) >= 1, timeout=60, what="A's first POSTs")
            os.kill(a.pid, signal.SIGSTOP)
            time.sleep(0.5)
            in_flight = len(store.received)
            [b], _ = workers(url, work, 1, GATE_CALLBACK_TIMEOUT_SECONDS="3")
            wait_for(lambda: delivered(engine) == 12, timeout=300, what="B delivering")
            recorded = len(store.received)
            os.kill(a.pid, signal.SIGCONT)
            time.sleep(6)
            woken = len(store.received) - recorded
            stop_process(a)
            stop_process(b)
        posts = posts_per_check(store)
        twice = sum(1 for n in posts.values() if n > 1)
        print(f"2 s store, worker paused holding {in_flight} POSTs: {len(store.received)} POSTs for 12 callbacks, "
              f"{twice} twice (answers lost in the paused worker), {woken} sent after waking")
        engine.dispose()


def memory(work: pathlib.Path) -> None:
    with Schema() as url:
        engine = prepare_database(url, work)
        huge, small = RawStore(huge_answer), RawStore(lambda c: c.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        client = create_client(engine, name="bench-huge", role="store", callback_url=huge.url)
        [worker], _ = workers(url, work, 1)
        queue_deliveries(engine, client, small.url, 3, "small")
        wait_for(lambda: delivered(engine) == 3, timeout=60, what="small deliveries")
        before = peak_rss_mib(worker.pid)
        started = time.monotonic()
        queue_deliveries(engine, client, huge.url, 3, "huge")
        wait_for(lambda: delivered(engine) == 6, timeout=120, what="huge deliveries")
        took = time.monotonic() - started
        after = peak_rss_mib(worker.pid)
        stop_process(worker)
        huge.close()
        small.close()
        print(f"worker peak RSS: {before:.0f} MiB after 3 small answers, {after:.0f} MiB after 3 x 400 MiB answers "
              f"(delivered in {took:.2f} s)")
        engine.dispose()


def healthz(work: pathlib.Path) -> None:
    import requests

    from gate.api.app import create_app
    from gate.config import Settings
    from tests.integration.http_support import serve

    with Schema() as url:
        engine = prepare_database(url, work)
        relay = TcpRelay()
        server, base = serve(create_app(Settings(database_url=relay.url(url), log_format="text")))
        health, scrape = [], []
        for _ in range(5):
            wait_for(lambda: requests.get(f"{base}/healthz", timeout=30).status_code == 200, timeout=60,
                     what="healthy")
            relay.black_hole()
            started = time.monotonic()
            while requests.get(f"{base}/healthz", timeout=30).status_code != 503:
                time.sleep(0.1)
            health.append(time.monotonic() - started)
            started = time.monotonic()
            while "gate_database_up 0.0" not in requests.get(f"{base}/metrics", timeout=30).text:
                time.sleep(0.1)
            scrape.append(time.monotonic() - started)
            relay.restore()
        server.shutdown()
        relay.close()
        engine.dispose()
    print("black hole -> /healthz 503: " + ", ".join(f"{s:.2f}" for s in health) + " s; "
          "-> gate_database_up 0 (after that): " + ", ".join(f"{s:.2f}" for s in scrape) + " s")


def main() -> None:
    chosen = sys.argv[1:] or ["callbacks", "memory", "healthz"]
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix="gate-bench-faults-") as work:
            {"callbacks": callbacks, "memory": memory, "healthz": healthz}[name](pathlib.Path(work))


if __name__ == "__main__":
    main()
