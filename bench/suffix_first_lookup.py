"""A process's first public-suffix look-up: this tree against an earlier revision, interleaved fresh processes.

    python bench/suffix_first_lookup.py --revision main --runs 11 [HOST ...]

Each process imports the scanner's host rules, selects a core (compiled or python) and times its first
``registrable_domain`` calls (default: one host under ``uk``), which read the public-suffix table: what every
``gate features`` process on a package with a host pays once. The revision's ``gate/`` is unpacked with ``git
archive`` and given a compiled core as bench/startup.py does. Prints min and median microseconds per tree and core.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile

from startup import unpack_revision

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROBE = ("import sys, time\nsys.path.insert(0, sys.argv[1])\nfrom gate.extract.network import core, domains\n"
         "core.select(sys.argv[2])\nhosts = sys.argv[3:]\nstarted = time.perf_counter()\n"
         "for host in hosts:\n    domains.registrable_domain(host)\n"
         "print((time.perf_counter() - started) * 1e6)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="*", default=["api.example.co.uk"])
    parser.add_argument("--revision", default="main")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        earlier = pathlib.Path(tmp)
        unpack_revision(args.revision, earlier)
        trees = {args.revision: earlier, "this tree": ROOT}
        times: dict[tuple[str, str], list[float]] = {(core, name): [] for core in ("compiled", "python")
                                                     for name in trees}
        for _ in range(args.runs):
            for core, name in times:
                out = subprocess.run([sys.executable, "-c", PROBE, str(trees[name]), core, *args.hosts],
                                     capture_output=True, text=True, check=True, cwd=tmp).stdout
                times[(core, name)].append(float(out))
    for (core, name), values in times.items():
        print(f"{core:>8} {name:>10}: min {min(values):7.0f} µs, median {statistics.median(values):7.0f} µs")


if __name__ == "__main__":
    main()
