"""`gate features --json APK` of two source trees, alternating in one run: a change's cost on a shared machine.

    git worktree add --detach /tmp/before <commit>; git worktree add --detach /tmp/after <commit>
    python bench/compare_trees.py /tmp/before /tmp/after [--apk bench/work/large.apk] [--repeat 9]

Each run is a fresh process with ``PYTHONPATH`` set to its tree (checked: the child imports that tree's ``gate``),
so the two see the same load, page cache and interpreter. Prints best and median wall time of each, the best CPU
time (user + system of the child, less bound to the machine's load) and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--apk", default=str(ROOT / "bench/work/large.apk"))
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    for name, tree in trees.items():  # the child must import this tree's gate, not an installed one
        where = subprocess.run([sys.executable, "-c", "import gate; print(gate.__file__)"], cwd=tree, text=True,
                               env={**os.environ, "PYTHONPATH": tree}, capture_output=True, check=True).stdout
        assert where.startswith(tree), (name, where)
    times: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}  # user + system CPU of the child: less load-bound
    for _ in range(args.repeat):
        for name, tree in trees.items():
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gate.cli", "features", "--json", args.apk], cwd=tree,
                           env={**os.environ, "PYTHONPATH": tree}, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
            now = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
    before, after = times["before"], times["after"]
    print(json.dumps({"apk": os.path.basename(args.apk), "repeat": args.repeat,
                      "before_best_s": round(min(before), 3), "before_median_s": round(statistics.median(before), 3),
                      "after_best_s": round(min(after), 3), "after_median_s": round(statistics.median(after), 3),
                      "ratio_best": round(min(after) / min(before), 3),
                      "ratio_median": round(statistics.median(after) / statistics.median(before), 3),
                      "before_cpu_best_s": round(min(cpu["before"]), 3), "after_cpu_best_s": round(min(cpu["after"]), 3),
                      "cpu_ratio_best": round(min(cpu["after"]) / min(cpu["before"]), 3),
                      "load_1min": round(os.getloadavg()[0], 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
