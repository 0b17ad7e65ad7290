"""`gate features` on one APK with this tree's code and with an earlier revision's, runs interleaved.

    python bench/features_vs_revision.py bench/work/large.apk --revision main --repeat 9

The earlier revision's ``gate/`` is taken with ``git archive`` into a temporary directory. Each run is a fresh
process of ``python -m gate.cli features --json APK`` (imports and start-up included, as a user sees it) and, in the
same process kind, ``extract_features`` alone; the two code versions alternate run by run, so both see the same load
on a shared machine. Prints best and median of each.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
IN_PROCESS = ("import sys, time; from gate.extract.pipeline import extract_features; t = time.perf_counter(); "
              "extract_features(sys.argv[1]); print(time.perf_counter() - t)")


def timed_cli(code_root: pathlib.Path, apk: pathlib.Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gate.cli", "features", "--json", str(apk)], env=env,
                   cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def timed_extract(code_root: pathlib.Path, apk: pathlib.Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(apk)], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", type=pathlib.Path)
    parser.add_argument("--revision", default="main")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    apk = args.apk.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        earlier = pathlib.Path(tmp)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.revision, "gate"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(earlier)], input=archive, check=True)
        trees = {args.revision: earlier, "this tree": ROOT}
        cli = {name: [] for name in trees}
        extract = {name: [] for name in trees}
        for _ in range(args.repeat):
            for name, root in trees.items():
                cli[name].append(timed_cli(root, apk))
                extract[name].append(timed_extract(root, apk))
    load = os.getloadavg()
    print(f"{apk.name}: {args.repeat} interleaved runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name in trees:
        print(f"{name:>10}: gate features --json best {min(cli[name]):.3f} s"
              f" median {statistics.median(cli[name]):.3f} s;"
              f" extract_features best {min(extract[name]):.3f} s median {statistics.median(extract[name]):.3f} s")


if __name__ == "__main__":
    main()
