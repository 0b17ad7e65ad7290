"""Ctrl-C on `make run` / `gate serve`: the terminal sends SIGINT to the whole process group — gunicorn's master and
its workers at once. The master's child-exit hook then marks each dead worker in prometheus_client's multiprocess
files; it imported prometheus_client there, and a second signal arriving during that first import left the module
half-initialised (``ImportError: cannot import name 'Gauge' from partially initialized module``, 1 in 9 stops in
the review). Repeated here with one and with two quick interrupts, as people press Ctrl-C. Each stop also removes
the metrics directory the server made for its workers: one per start had piled up in /tmp."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from tests.integration.http_support import free_port, prepare_database


def _serve(tmp_path, url: str, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {**os.environ, "GATE_DATABASE_URL": url, "GATE_LOG_FORMAT": "text", "TMPDIR": str(temp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("gate serve did not start")


def test_ctrl_c_stops_gate_serve_cleanly_every_time(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    for attempt in range(6):
        log_path = tmp_path / f"serve-{attempt}.log"
        with open(log_path, "wb") as log:
            proc, base = _serve(tmp_path, sqlite_url, log)
        requests.get(f"{base}/metrics", timeout=10)  # the workers have metrics files to mark dead
        os.killpg(proc.pid, signal.SIGINT)
        if attempt % 2:
            time.sleep(0.05)
            try:
                os.killpg(proc.pid, signal.SIGINT)  # pressed twice
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        text = log_path.read_text(errors="replace")
        assert "ImportError" not in text and "Traceback" not in text, text[-3000:]
        assert proc.returncode in (0, 1, -signal.SIGINT), (proc.returncode, text[-3000:])
        assert not list((tmp_path / "tmp").glob("gate-metrics-*"))


def test_a_stopped_server_leaves_no_metrics_directory(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    with open(tmp_path / "serve.log", "wb") as log:
        proc, base = _serve(tmp_path, sqlite_url, log)
    requests.get(f"{base}/metrics", timeout=10)
    assert len(list((tmp_path / "tmp").glob("gate-metrics-*"))) == 1  # made by this server, for its two workers
    proc.send_signal(signal.SIGTERM)  # what systemd and docker stop send to the master
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    assert not list((tmp_path / "tmp").glob("gate-metrics-*"))
