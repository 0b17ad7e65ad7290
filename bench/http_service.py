"""HTTP service benchmark: store webhook throughput and latency with a small APK, and a 10,000-item preinstall list.

Runs the real `gate serve` (gunicorn) on loopback against a fresh SQLite database with the demo filing.

    .venv/bin/python bench/http_service.py [--uploads 300] [--concurrency 4] [--workers 2] [--items 10000]
    .venv/bin/python bench/http_service.py --uploads 5000 --rss-at 1000,5000   # per-worker memory over time

Each upload carries a distinct store_app_id, so every request is a fresh check (extract + decide + store), not an
idempotent repeat. Figures go to docs/benchmarks.md under "HTTP service".
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HELLO = ROOT / "fixtures" / "apks" / "hello_zh.apk"


def _gate(args, env):
    return subprocess.run([sys.executable, "-m", "gate.cli", *args], env=env, capture_output=True, text=True,
                          check=True)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, *serve_args: str, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """`gate serve` on a free loopback port, answered /healthz; (process, url). Shared by the HTTP benchmarks."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                               *serve_args], env=env, stdout=stdout, stderr=stderr)
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthz", timeout=10).ok:
                return server, url
        except requests.RequestException:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    raise SystemExit(f"gate serve did not come up on {url}")


def _pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--rss-at", default="", help="comma-separated upload counts at which to read each gunicorn "
                    "worker's resident size (e.g. 1000,5000)")
    opts = ap.parse_args()
    checkpoints = sorted({int(x) for x in opts.rss_at.split(",") if x.strip()} | {opts.uploads})

    from gate.services.signatures import HEADER, sign
    from tests.integration.http_support import multipart

    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-bench-"))
    env = {**os.environ, "GATE_DATABASE_URL": f"sqlite:///{work / 'gate.db'}", "GATE_LOG_FORMAT": "json",
           "GATE_SPOOL_DIR": str(work), "GATE_RATE_LIMIT_CLIENT": "off"}  # a load test, not an abuser
    creds = {c["role"]: c for c in map(json.loads, _gate(["demo"], env).stdout.splitlines())}
    server, url = start_server(env, "--workers", str(opts.workers))
    try:
        store = creds["store"]
        session_local = {}

        def upload(i: int) -> float:
            body, ctype = multipart(HELLO, {"store_app_id": f"bench-{i}"})
            s = session_local.setdefault(os.getpid(), requests.Session())
            started = time.perf_counter()
            r = s.post(f"{url}/api/v1/hooks/store/upload", data=body, timeout=60, headers={
                "Authorization": f"Bearer {store['api_key']}", "Content-Type": ctype,
                HEADER: sign(body, store["webhook_secret"])})
            elapsed = time.perf_counter() - started
            assert r.status_code == 200 and r.json()["verdict"] == "allow", r.text
            return elapsed

        for i in range(10):  # warm-up (imports, first connections)
            upload(-1 - i)
        started, cpu0 = time.perf_counter(), _tree_cpu(server.pid)
        latencies, rss, done = [], {}, 0
        with concurrent.futures.ThreadPoolExecutor(opts.concurrency) as pool:
            for checkpoint in checkpoints:
                latencies += pool.map(upload, range(done, checkpoint))
                done = checkpoint
                rss[checkpoint] = _worker_rss_mb(server.pid)
        wall = time.perf_counter() - started
        server_cpu = _tree_cpu(server.pid) - cpu0

        items = [{"package": f"com.bench.app{i}", "cert_md5": f"{i:032x}"} for i in range(opts.items - 1)]
        items.append({"package": "cn.filinggate.hello", "cert_md5": "0176d8d0130a8b0d3729e7833d7cb8cc"})
        t0 = time.perf_counter()
        r = requests.post(f"{url}/api/v1/preinstall/checks", json=items, timeout=300,
                          headers={"Authorization": f"Bearer {creds['oem']['api_key']}"})
        preinstall_seconds = time.perf_counter() - t0
        assert r.ok and r.json()["summary"]["allow"] == 1, r.text[:300]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}, SQLite",
        "date": time.strftime("%Y-%m-%d"),
        "command": " ".join([os.path.relpath(sys.executable, ROOT), "bench/http_service.py", *sys.argv[1:]]),
        "gunicorn_workers": opts.workers, "concurrency": opts.concurrency, "apk_bytes": HELLO.stat().st_size,
        "uploads": opts.uploads, "uploads_per_second": round(opts.uploads / wall, 1),
        "upload_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "upload_p99_ms": round(_pct(latencies, 99) * 1000, 1),
        "preinstall_items": opts.items, "preinstall_seconds": round(preinstall_seconds, 2),
        "preinstall_response_bytes": len(r.content),
        # CPU seconds the server's processes spent per check: comparable on a machine shared with other work
        "server_cpu_ms_per_upload": round(server_cpu * 1000 / opts.uploads, 2),
        "worker_rss_mb_after_uploads": {str(k): v for k, v in rss.items() if k in checkpoints and opts.rss_at},
        "load_average": round(os.getloadavg()[0], 1),
    }, indent=1))


def _children(pid: int) -> list[int]:
    out = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return sorted(out)


def _worker_rss_mb(server_pid: int) -> list[float]:
    """Resident size of each gunicorn worker (children of the master), MB."""
    sizes = []
    for pid in _children(server_pid):
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


if __name__ == "__main__":
    main()
