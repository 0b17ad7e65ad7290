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

    spent = install_phases()[0] if opts.phases else None
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
    if spent is not None:
        print(json.dumps(phases(spent, lambda: [upload(b, c) for b, c in bodies[10:]], opts.uploads), indent=1,
                         ensure_ascii=False))
        return
    from pyinstrument import Profiler

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


# The phases of one store upload, in the order they run: (label, module, attribute the caller looks up there; a
# dotted attribute is a method). Each phase is timed exclusive of the phases it calls (self time).
PHASES = [
    ("request log + in-flight count + rate limit (before_request hooks)", "gate.api.app",
     "request_log.begin_request"),
    ("authenticate (API key -> client, one SELECT)", "gate.api.store_hooks", "client_for"),
    ("receive: multipart parse, spool to disk, SHA-256", "gate.api.intake", "read_multipart_upload"),
    ("receive: signature header, HMAC compare, epilogue", "gate.api.intake", "receive_package"),
    ("check id + idempotency look-up (check by id)", "gate.services.checks", "existing"),
    ("extract facts (12 KB APK)", "gate.services.checks", "extract"),
    ("filings look-up (current versions by identifier)", "gate.db.filings", "DatabaseRegistry.filings_for"),
    ("decide (steps, reasons)", "gate.services.decisions", "decide"),
    ("audit event", "gate.db.checks", "record_event"),
    ("record the check row (facts JSON, decision)", "gate.db.checks", "record_check"),
    ("service-check row (savepoint), transaction begin/commit", "gate.services.checks", "decide_and_store"),
    ("answer_check: connection checkout, url_for, spool discard", "gate.api.intake", "answer_check"),
    ("metrics (decision, request histogram)", "gate.services.metrics", "observe_decision"),
    ("metrics (decision, request histogram)", "gate.services.metrics", "observe_request"),
    ("response: JSON body", "gate.api.intake", "flask.jsonify"),
    ("request log line (after_request)", "gate.api.request_log", "end_request"),
]


def install_phases() -> tuple[dict[str, float], list[float]]:
    """Wrap each phase's function (before the app is built: hooks are registered as function objects); the
    returned dict accumulates each phase's self CPU seconds."""
    import importlib

    spent = {label: 0.0 for label, _, _ in PHASES}
    stack: list[float] = []  # CPU seconds spent in timed children of each open phase

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            t0 = time.process_time()
            stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.process_time() - t0
                children = stack.pop()
                spent[label] += elapsed - children
                if stack:
                    stack[-1] += elapsed
        return wrapper

    for label, module, name in PHASES:
        owner = importlib.import_module(module)
        *path, attr = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, attr, timed(label, getattr(owner, attr)))
    return spent, stack


def phases(spent: dict[str, float], run, uploads: int) -> dict:
    """CPU milliseconds per upload in each phase (self time); "rest" is Flask and werkzeug (request and response
    objects, routing, the remaining hooks), the test client's WSGI round trip and the gate's glue between phases."""
    for label in spent:
        spent[label] = 0.0  # the warm-up's
    cpu0 = time.process_time()
    run()
    total = time.process_time() - cpu0
    out = {label: round(v * 1000 / uploads, 3) for label, v in spent.items()}
    out["rest: Flask/werkzeug request + response objects, routing, WSGI, glue"] = round(
        (total - sum(spent.values())) * 1000 / uploads, 3)
    out["total cpu ms per upload"] = round(total * 1000 / uploads, 3)
    out["load_average"] = round(os.getloadavg()[0], 1)
    return out

if __name__ == "__main__":
    main()
