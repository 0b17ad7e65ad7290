"""Bounded load run: locust (headless) against a real `gate serve` + `gate worker` on loopback and PostgreSQL.

    .venv/bin/python bench/load.py [--minutes 3] [--users 8] [--database-url postgresql+psycopg://…]

- a fresh PostgreSQL schema (GATE_TEST_POSTGRES_URL's server by default), migrated, with the demo filing and clients;
- `gate serve` (2 gunicorn gthread workers x 8 threads) and one `gate worker`, both on 127.0.0.1;
- bench/locustfile.py: store uploads with the small fixture APK (200) and the real-size corpus APK ApiDemos-debug.apk
  (6.4 MB, above GATE_SYNC_THRESHOLD_BYTES=1 MiB here, so queued: 202), listing events, 100-item preinstall lists;
- half-way through, the worker is killed (SIGKILL, mid-check if it has one) and started again a few seconds later;
  its job is retaken after GATE_JOB_LEASE_SECONDS (10 s here);
- afterwards every accepted (202) check id must reach `done`, read back through GET /api/v1/checks/<id>.

Per-client rate limiting is off for the run (GATE_RATE_LIMIT_CLIENT=off): one client sends everything. locust is
installed into this interpreter's environment when missing (bench only; the tests never need it).
Prints one JSON object (throughput, p50/p99 per endpoint, failures, load average); figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import pathlib
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import quote

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_service import _gate, start_server  # noqa: E402

LOCUST = "locust>=2.20,<3"
LARGE = "ApiDemos-debug.apk"


def _ensure_locust() -> None:
    # find_spec, not import: locust monkey-patches the standard library (gevent) when imported
    if importlib.util.find_spec("locust") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", LOCUST], check=True)


def _schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    from gate.db.engine import normalise_url

    schema = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema


def _drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    from gate.db.engine import normalise_url

    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _start_worker(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gate.cli", "worker", "--poll", "0.2"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--database-url", default=os.environ.get(
        "GATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--keep", action="store_true", help="keep the schema and the work directory")
    opts = ap.parse_args()
    _ensure_locust()
    from fixtures import corpus

    if corpus.missing():
        corpus.fetch([LARGE])
    large = corpus.path(LARGE)
    small = ROOT / "fixtures" / "apks" / "hello_zh.apk"

    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-load-"))
    url_db, schema = _schema_url(opts.database_url)
    env = {**os.environ, "GATE_DATABASE_URL": url_db, "GATE_SPOOL_DIR": str(work), "GATE_LOG_FORMAT": "json",
           "GATE_RATE_LIMIT_CLIENT": "off", "GATE_SYNC_THRESHOLD_BYTES": str(1024 * 1024),
           "GATE_JOB_LEASE_SECONDS": "10", "PYTHONPATH": str(ROOT)}
    _gate(["db", "upgrade"], env)
    creds = {c["role"]: c for c in map(json.loads, _gate(["demo"], env).stdout.splitlines())}
    accepted = work / "accepted.txt"
    logs = (work / "server.log").open("w"), (work / "worker.log").open("w")
    server, url = start_server(env, "--workers", "2", "--threads", "8", stdout=logs[0], stderr=subprocess.STDOUT)
    worker = _start_worker(env, logs[1])
    kills: list[dict] = []
    seconds = int(opts.minutes * 60)
    try:

        def kill_worker_midway() -> None:
            nonlocal worker
            time.sleep(seconds / 2)
            running = _running_jobs(url_db)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills.append({"at_second": seconds // 2, "jobs_running_when_killed": running})
            time.sleep(3)
            worker = _start_worker(env, logs[1])

        killer = threading.Thread(target=kill_worker_midway, daemon=True)
        killer.start()
        load_before = os.getloadavg()
        started = time.time()
        locust_env = {**env, "GATE_LOAD_STORE_KEY": creds["store"]["api_key"],
                      "GATE_LOAD_STORE_SECRET": creds["store"]["webhook_secret"],
                      "GATE_LOAD_OEM_KEY": creds["oem"]["api_key"], "GATE_LOAD_SMALL_APK": str(small),
                      "GATE_LOAD_LARGE_APK": str(large), "GATE_LOAD_ACCEPTED": str(accepted)}
        subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                        "-u", str(opts.users), "-r", str(opts.users), "-t", f"{seconds}s", "--host", url,
                        "--csv", str(work / "locust"), "--only-summary", "--stop-timeout", "60",
                        "--loglevel", "WARNING"], env=locust_env, check=False)
        wall = time.time() - started
        load_during = os.getloadavg()
        killer.join()
        ids = accepted.read_text().split() if accepted.exists() else []
        drained_in, states = _wait_done(url, creds["store"]["api_key"], ids)
    finally:
        for proc in (worker, server):
            proc.terminate()
        for proc in (worker, server):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not opts.keep:
            _drop_schema(opts.database_url, schema)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   "PostgreSQL on loopback, shared with other work",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([os.path.relpath(sys.executable, ROOT), "bench/load.py", *sys.argv[1:]]),
        "seconds": round(wall), "users": opts.users, "server": "gate serve --workers 2 --threads 8, one gate worker",
        "large_apk": f"{LARGE} ({large.stat().st_size} bytes)",
        "endpoints": _stats(work / "locust_stats.csv"),
        "worker_killed": kills,
        "accepted_202": len(ids), "accepted_done": states.get("done", 0), "accepted_states": states,
        "queue_drained_seconds_after_run": drained_in,
        "load_average_1m_before_after": [round(load_before[0], 1), round(load_during[0], 1)],
        "work_dir": str(work) if opts.keep else None,
    }, indent=1, ensure_ascii=False))
    if states.get("done", 0) != len(ids):
        sys.exit("some accepted checks did not reach done")


def _running_jobs(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    from gate.db.engine import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM job WHERE status = 'running'")).scalar_one()
    except Exception:  # noqa: BLE001 - a figure for the report, not a condition of the run
        return -1
    finally:
        engine.dispose()


def _wait_done(url: str, key: str, ids: list[str], timeout: float = 900) -> tuple[float, dict]:
    """Poll every accepted check until none is queued/running; (seconds waited, count per final status)."""
    started = time.time()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    pending, states = list(ids), {}
    while pending and time.time() - started < timeout:
        still = []
        for check_id in pending:
            status = session.get(f"{url}/api/v1/checks/{check_id}", timeout=30).json().get("status")
            if status in ("queued", "running"):
                still.append(check_id)
            else:
                states[status] = states.get(status, 0) + 1
        pending = still
        if pending:
            time.sleep(1)
    if pending:
        states["still_pending"] = len(pending)
    return round(time.time() - started, 1), states


def _stats(path: pathlib.Path) -> dict:
    out = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            out[row["Name"]] = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                "per_second": round(float(row["Requests/s"]), 2),
                                "p50_ms": row["50%"], "p99_ms": row["99%"], "max_ms": round(float(
                                    row["Max Response Time"]))}
    return out


if __name__ == "__main__":
    main()
