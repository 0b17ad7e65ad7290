"""CPU per small check of two (or more) trees, measured in interleaved batches: for a machine whose speed drifts.

    .venv/bin/python bench/http_interleaved.py --tree /tmp/main-checkout --tree . [--rounds 20] [--batch 40]

On a shared machine the CPU time of the same work drifts by ±20 % within a minute, so two runs one after the other
compare the minutes as much as the code. Here each tree runs in its own process what `bench/profile_http_check.py`
runs (a fresh SQLite database seeded by `gate demo`, the store upload webhook through Flask's test client, the
12 KB hello_zh.apk, each upload a new check), and the processes take turns: a batch of ``--batch`` uploads in one,
then the next, ``--rounds`` times. Each batch's CPU time (the process's own, `time.process_time`) is compared with
the other trees' batches of the same round, a second apart. Prints the CPU ms per upload of each tree (all rounds)
and the median over rounds of each tree's batch relative to the first tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Runs inside each tree's process (its own gate first on sys.path): set up, warm up, then one batch per line read.
WORKER = r"""
import json, os, pathlib, subprocess, sys, tempfile, time
tree = pathlib.Path(sys.argv[1]); sys.path.insert(0, str(tree))
work = pathlib.Path(tempfile.mkdtemp(prefix="gate-interleaved-"))
os.environ.update({"GATE_DATABASE_URL": f"sqlite:///{work / 'gate.db'}", "GATE_LOG_FORMAT": "json",
                   "GATE_SPOOL_DIR": str(work), "GATE_RATE_LIMIT_CLIENT": "off"})
demo = subprocess.run([sys.executable, "-m", "gate.cli", "demo"], env={**os.environ, "PYTHONPATH": str(tree)},
                      cwd=tree, capture_output=True, text=True, check=True)
store = next(c for c in map(json.loads, demo.stdout.splitlines()) if c["role"] == "store")
import logging
from gate.api.app import create_app
from gate.services.signatures import HEADER, sign
sys.path.insert(1, sys.argv[2])
from tests.integration.http_support import multipart
app = create_app()
logging.getLogger("gate").handlers[0].stream = open(os.devnull, "w")  # the request log line is written, not shown
client = app.test_client()
hello = pathlib.Path(sys.argv[2]) / "fixtures" / "apks" / "hello_zh.apk"
count = 0
def upload():
    global count
    count += 1
    body, ctype = multipart(hello, {"store_app_id": f"interleaved-{count}"})
    r = client.post("/api/v1/hooks/store/upload", data=body, headers={
        "Authorization": f"Bearer {store['api_key']}", "Content-Type": ctype, HEADER: sign(body, store["webhook_secret"])})
    assert r.status_code == 200 and r.get_json()["verdict"] == "allow", r.data[:300]
for _ in range(20):
    upload()
import gate
print("ready", gate.__file__, flush=True)
for line in sys.stdin:
    n = int(line)
    t0 = time.process_time()
    for _ in range(n):
        upload()
    print(time.process_time() - t0, flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", action="append", required=True, help="a checkout to measure (give two or more)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--batch", type=int, default=40)
    opts = ap.parse_args()
    trees = [str(pathlib.Path(t).resolve()) for t in opts.tree]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, tree, str(ROOT)], cwd=tree, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": tree}) for tree in trees]
    for tree, proc in zip(trees, procs):
        assert proc.stdout is not None
        said, _, gate_file = proc.stdout.readline().strip().partition(" ")
        if said != "ready" or not gate_file.startswith(tree + os.sep):  # each process runs its own tree's gate
            raise SystemExit(f"{tree}: the measuring process did not start on its own gate ({said} {gate_file})")
    load0 = os.getloadavg()[0]
    batches: list[list[float]] = [[] for _ in trees]
    started = time.strftime("%H:%M", time.gmtime())
    for _ in range(opts.rounds):
        for i, proc in enumerate(procs):
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"{opts.batch}\n")
            proc.stdin.flush()
            batches[i].append(float(proc.stdout.readline()))
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
    uploads = opts.rounds * opts.batch
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d ", time.gmtime()) + started + "-" + time.strftime("%H:%M UTC", time.gmtime()),
        "load_average": [round(load0, 1), round(os.getloadavg()[0], 1)], "rounds": opts.rounds, "batch": opts.batch,
        "trees": [{"tree": tree, "cpu_ms_per_upload": round(sum(b) * 1000 / uploads, 3),
                   "median_batch_vs_first": round(statistics.median(x / y for x, y in zip(b, batches[0])), 3)}
                  for tree, b in zip(trees, batches)]}, indent=1))


if __name__ == "__main__":
    main()
