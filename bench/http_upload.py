"""Large uploads over HTTP: upload throughput and time to decision for a ~100 MB package, against `gate features`.

Runs the real `gate serve` (gunicorn gthread) on loopback against a fresh SQLite database and sends a ~100 MB APK
(built by bench/make_large_apk.py with --media-mb 86, cached in bench/work/) to the signed store webhook as a
streamed multipart body. GATE_SYNC_THRESHOLD_BYTES is raised above the package's size, so the answer carries the
decision and the HTTP time is upload + extraction + decision + storage.

    .venv/bin/python bench/http_upload.py [--runs 3] [--apk bench/work/large_100mb.apk]

Figures (--runs pairs, each a `gate features` run followed by an upload, so both see the same machine load; each
upload a fresh check under its own store_app_id):
- upload MB/s: package bytes / time until the client wrote the last byte of the body (loopback, same machine);
- HTTP decision seconds: request start to decision received;
- `gate features` seconds: the CLI on the same file (process start, imports, extraction, printing);
- server check seconds: decision minus upload (extraction, decision, storage in the server);
- overhead: HTTP decision / `gate features` - 1, best against best and the median of the pairs (target ≤ 30 %).
Figures go to docs/benchmarks.md under "Large uploads over HTTP".
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_APK = ROOT / "bench" / "work" / "large_100mb.apk"
CHUNK = 1 << 20


def _gate(args, env):
    return subprocess.run([sys.executable, "-m", "gate.cli", *args], env=env, capture_output=True, text=True,
                          check=True)


class MultipartFile:
    """A multipart body (metadata + package part) streamed from disk; ``sent_at`` is when its last byte went out."""

    def __init__(self, apk: pathlib.Path, metadata: dict) -> None:
        self.boundary = "gatebenchboundary"
        self.apk = apk
        self.head = (f'--{self.boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
                     f"{json.dumps(metadata)}\r\n--{self.boundary}\r\n"
                     f'Content-Disposition: form-data; name="package"; filename="{apk.name}"\r\n'
                     f"Content-Type: application/vnd.android.package-archive\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.length = len(self.head) + apk.stat().st_size + len(self.tail)
        self.sent_at: float | None = None

    def __len__(self) -> int:  # requests sends a Content-Length for an iterable with a length (else chunked)
        return self.length

    def __iter__(self):
        return self.chunks()

    def chunks(self):
        yield self.head
        with self.apk.open("rb") as stream:
            while block := stream.read(CHUNK):
                yield block
        yield self.tail
        self.sent_at = time.perf_counter()

    def signature(self, secret: str) -> str:
        t = int(time.time())
        mac = hmac.new(secret.encode(), f"{t}.".encode(), hashlib.sha256)
        for block in self.chunks():
            mac.update(block)
        return f"t={t},v1={mac.hexdigest()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apk", type=pathlib.Path, default=DEFAULT_APK)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    opts = ap.parse_args()
    if not opts.apk.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_large_apk.py"), "--out", str(opts.apk),
                        "--media-mb", "86"], check=True)
    size = opts.apk.stat().st_size

    from bench.http_service import start_server
    from gate.services.signatures import HEADER

    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-bench-"))
    env = {**os.environ, "GATE_DATABASE_URL": f"sqlite:///{work / 'gate.db'}", "GATE_LOG_FORMAT": "json",
           "GATE_SPOOL_DIR": str(work), "GATE_SYNC_THRESHOLD_BYTES": str(size * 2),
           "GATE_RATE_LIMIT_CLIENT": "off"}
    creds = {c["role"]: c for c in map(json.loads, _gate(["demo"], env).stdout.splitlines())}
    store = creds["store"]

    server, url = start_server(env, "--workers", str(opts.workers), "--threads", str(opts.threads))
    uploads, decisions, features = [], [], []
    try:
        for run in range(opts.runs):  # alternating with the CLI, so both see the same load
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gate.cli", "features", "--json", str(opts.apk)], env=env,
                           stdout=subprocess.DEVNULL, check=False)
            features.append(time.perf_counter() - started)
            body = MultipartFile(opts.apk, {"store_app_id": f"bench-large-{run}-{time.time_ns()}"})
            headers = {"Authorization": f"Bearer {store['api_key']}", HEADER: body.signature(store["webhook_secret"]),
                       "Content-Type": f"multipart/form-data; boundary={body.boundary}"}
            started = time.perf_counter()
            r = requests.post(f"{url}/api/v1/hooks/store/upload", data=body, headers=headers, timeout=600)
            decided = time.perf_counter()
            assert r.status_code == 200 and r.json()["status"] == "done", r.text[:500]
            uploads.append(body.sent_at - started)
            decisions.append(decided - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
    best_http, best_cli = min(decisions), min(features)
    median_ratio = statistics.median(h / c for h, c in zip(decisions, features))
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}, SQLite",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "command": " ".join([os.path.relpath(sys.executable, ROOT), "bench/http_upload.py", *sys.argv[1:]]),
        "gunicorn": f"{opts.workers} gthread workers x {opts.threads} threads",
        "apk_bytes": size, "runs": opts.runs,
        "upload_mb_per_s_best": round(size / 1e6 / min(uploads), 1),
        "upload_seconds": [round(x, 2) for x in uploads],
        "http_decision_seconds": [round(x, 2) for x in decisions],
        "gate_features_seconds": [round(x, 2) for x in features],
        "server_check_seconds": [round(d - u, 2) for d, u in zip(decisions, uploads)],
        "http_overhead_best_against_best": f"{(best_http / best_cli - 1) * 100:+.0f} %",
        "http_overhead_median_of_pairs": f"{(median_ratio - 1) * 100:+.0f} %",
    }, indent=1))


if __name__ == "__main__":
    main()
