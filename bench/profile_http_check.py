"""Where a small check's milliseconds go on the server: the store upload webhook, in process, profiled.

    .venv/bin/python bench/profile_http_check.py [--uploads 300] [--html profile.html]

Builds what `bench/http_service.py` serves (a fresh SQLite database seeded by `gate demo`, the demo store client)
and sends the same signed multipart uploads through Flask's test client — the whole WSGI application, from the
request object to the stored check and its audit event, without gunicorn and the socket. Each upload has its own
store_app_id, so each is a fresh check. Prints CPU milliseconds per upload and pyinstrument's call tree (CPU
time, so the figures hold on a shared machine); needs `pip install pyinstrument` (a profiler, not a dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HELLO = ROOT / "fixtures" / "apks" / "hello_zh.apk"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=300)
    ap.add_argument("--html", default=None, help="also write pyinstrument's HTML report here")
    ap.add_argument("--show-all", action="store_true", help="pyinstrument: show library frames too")
    ap.add_argument("--phases", action="store_true", help="instead of profiling, time each phase of the request "
                    "(CPU ms per upload, no profiler overhead)")
    opts = ap.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-profile-"))
    env = {"GATE_DATABASE_URL": f"sqlite:///{work / 'gate.db'}", "GATE_LOG_FORMAT": "json",
           "GATE_SPOOL_DIR": str(work), "GATE_RATE_LIMIT_CLIENT": "off"}
    os.environ.update(env)
    demo = subprocess.run([sys.executable, "-m", "gate.cli", "demo"], env={**os.environ}, capture_output=True,
                          text=True, check=True)
    store = next(c for c in map(json.loads, demo.stdout.splitlines()) if c["role"] == "store")

    from pyinstrument import Profiler

    from gate.api.app import create_app
    from gate.services.signatures import HEADER, sign
    from tests.integration.http_support import multipart

    app = create_app()
    client = app.test_client()
    bodies = [multipart(HELLO, {"store_app_id": f"profile-{i}"}) for i in range(-10, opts.uploads)]

    def upload(body: bytes, ctype: str) -> None:
        r = client.post("/api/v1/hooks/store/upload", data=body, headers={
            "Authorization": f"Bearer {store['api_key']}", "Content-Type": ctype,
            HEADER: sign(body, store["webhook_secret"])})
        assert r.status_code == 200 and r.get_json()["verdict"] == "allow", r.data[:300]

    for body, ctype in bodies[:10]:  # warm-up: imports, first connection, caches
        upload(body, ctype)
    if opts.phases:
        print(json.dumps(phases(lambda: [upload(b, c) for b, c in bodies[10:]], opts.uploads), indent=1))
        return
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    profiler.start()
    for body, ctype in bodies[10:]:
        upload(body, ctype)
    profiler.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"uploads": opts.uploads, "cpu_ms_per_upload": round(cpu * 1000 / opts.uploads, 2),
                      "wall_ms_per_upload": round(wall * 1000 / opts.uploads, 2),
                      "load_average": round(os.getloadavg()[0], 1), "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                         time.gmtime())}))
    print(profiler.output_text(unicode=True, color=False, show_all=opts.show_all))
    if opts.html:
        pathlib.Path(opts.html).write_text(profiler.output_html(), encoding="utf-8")


# The phases of one store upload, in the order they run: (label, module, function the caller looks up there).
PHASES = [
    ("authenticate (API key)", "gate.api.store_hooks", "client_for"),
    ("receive: multipart, spool, SHA-256, HMAC", "gate.api.intake", "receive_package"),
    ("idempotency look-up", "gate.services.checks", "existing"),
    ("extract facts", "gate.services.checks", "extract"),
    ("filings look-up + decide", "gate.services.checks", "decide_facts"),
    ("store check + audit event", "gate.services.checks", "record_check"),
]


def phases(run, uploads: int) -> dict:
    """CPU milliseconds per upload in each phase; "rest" is Flask, routing, the check row, commit, JSON, logs."""
    import importlib

    spent = {label: 0.0 for label, _, _ in PHASES}

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - t0
        return wrapper

    for label, module, name in PHASES:
        mod = importlib.import_module(module)
        setattr(mod, name, timed(label, getattr(mod, name)))
    cpu0 = time.process_time()
    run()
    total = time.process_time() - cpu0
    out = {label: round(v * 1000 / uploads, 3) for label, v in spent.items()}
    out["rest: Flask, check row, commit, JSON, log, metrics"] = round((total - sum(spent.values())) * 1000 / uploads, 3)
    out["total cpu ms per upload"] = round(total * 1000 / uploads, 3)
    out["load_average"] = round(os.getloadavg()[0], 1)
    return out


if __name__ == "__main__":
    main()
