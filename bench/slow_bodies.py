"""Requests served to other clients while slow request bodies are open (docs/benchmarks.md, "Slow request bodies").

    .venv/bin/python bench/slow_bodies.py [--seconds 20] [--model now|before|both]

For each server model — `now`: `gate serve` (uvicorn workers, bodies received before a request thread is taken);
`before`: the same app under gunicorn's gthread workers, as `gate serve` ran it until 2026-12-07 (2 processes × 8
threads) — three phases of ``--seconds`` each on a fresh SQLite database:
1. baseline: no slow connections;
2. 50 connections each announcing a 10 MB `POST /precheck` and sending one byte every 2 s;
3. 20 signed store uploads with a valid API key and a bad signature, trickled one byte every 2 s.
Meanwhile one client sends `GET /openapi.json`, `GET /healthz` and `GET /` in turn (10 s timeout each) and the
figures are: requests answered, requests that timed out, and latency p50 / max of the answered ones.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from gate.services.auth import create_client  # noqa: E402
from tests.integration.http_support import HELLO, free_port, multipart, prepare_database  # noqa: E402

TEN_MB = 10 << 20


def start(model: str, url: str, spool: str, port: int, log) -> subprocess.Popen:
    env = {**os.environ, "GATE_DATABASE_URL": url, "GATE_SPOOL_DIR": spool, "GATE_LOG_FORMAT": "text",
           "GATE_RATE_LIMIT_ADDRESS": "100000/minute", "GATE_SERVE_THREADS": "8"}
    if model == "now":
        cmd = [sys.executable, "-m", "gate.cli", "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "8", "-b",
               f"127.0.0.1:{port}", "gate.api.app:create_app()"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{model} server did not start")


class Trickler:
    """Connections that sent their headers and send one more byte of their body every ``period`` seconds."""

    def __init__(self, port: int, head: bytes, body: bytes, count: int, period: float = 2.0) -> None:
        self.socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(head + body[:1])
            self.socks.append(s)
        self.body, self.sent, self.period = body, 1, period
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            for s in self.socks:
                try:
                    s.sendall(self.body[self.sent:self.sent + 1])
                except OSError:
                    pass
            self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def measure(port: int, seconds: float) -> dict:
    answered, timed_out, took = 0, 0, []
    paths = ("/openapi.json", "/healthz", "/")
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            requests.get(f"http://127.0.0.1:{port}{paths[i % 3]}", timeout=10)
            answered += 1
            took.append(time.monotonic() - started)
        except requests.RequestException:
            timed_out += 1
        i += 1
    return {"answered": answered, "timed_out": timed_out,
            "p50_ms": round(statistics.median(took) * 1000, 1) if took else None,
            "max_ms": round(max(took) * 1000, 1) if took else None}


def run(model: str, seconds: float) -> None:
    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-bench-slow-"))
    url = f"sqlite:///{work / 'gate.db'}"
    engine = prepare_database(url, work)
    store = create_client(engine, name="store-slow", role="store")
    engine.dispose()
    (work / "spool").mkdir()
    port = free_port()
    with open(work / "serve.log", "wb") as log:
        proc = start(model, url, str(work / "spool"), port, log)
    try:
        print(f"{model} baseline: {measure(port, seconds)}", flush=True)
        head = (f"POST /precheck HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {TEN_MB}\r\n\r\n").encode()
        slow = Trickler(port, head, b"-" * TEN_MB, 50)
        print(f"{model} 50 slow 10 MB /precheck bodies: {measure(port, seconds)}", flush=True)
        slow.close()
        package, content_type = multipart(HELLO)
        head = (f"POST /api/v1/hooks/store/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                f"{store.api_key}\r\nX-Gate-Signature: t={int(time.time())},v1={'0' * 64}\r\nContent-Type: "
                f"{content_type}\r\nContent-Length: {len(package)}\r\n\r\n").encode()
        slow = Trickler(port, head, package, 20)
        print(f"{model} 20 trickled uploads, valid key, bad signature: {measure(port, seconds)}", flush=True)
        slow.close()
    finally:
        proc.terminate()
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", choices=("now", "before", "both"), default="both")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    for model in (("before", "now") if args.model == "both" else (args.model,)):
        run(model, args.seconds)
    print(f"load average at end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
