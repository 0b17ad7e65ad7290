"""The network scanner's compiled core against its Python path and an earlier revision, with zipfile beside them.

    python bench/scanner_core.py bench/work/large.apk --revision main --repeat 9

Each run is a fresh process that times its first ``extract_features`` (what ``gate features`` pays: the lookup
caches start empty), wall and CPU (``time.process_time``, both threads), or reads every entry with ``zipfile``.
The kinds alternate run by run so all see the same load on a shared machine:

  zipfile      a process reading every entry with zipfile (the cost of inflating the package)
  REVISION     the revision's ``gate/`` (``git archive``; no compiled core there), bytecode compiled beforehand
  python       this tree with ``core.select("python")`` (the oracle path)
  compiled     this tree with its compiled core (``_hostcore``, built by ``pip install -e .``)

With ``--scan-only`` each process inflates the entries the scanner wants first (not timed) and times only
``NetworkScanner.feed`` over them and ``facts()``: the scanner's own cost, without the verifier thread.

The allocator keeps freed memory in the heap in every child (as bench/features.py does), so zipfile's figure is
repeatable and at its fastest. Prints best and median of each, and each ratio to zipfile's.
"""

from __future__ import annotations

import argparse
import compileall
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
EXTRACT = ("import sys, time\nfrom gate.extract.pipeline import extract_features\n{select}"
           "w, c = time.perf_counter(), time.process_time()\nextract_features(sys.argv[1])\n"
           "print(time.perf_counter() - w, time.process_time() - c)")
SELECT = "from gate.extract.network import core\ncore.select({kind!r})\n"
SCAN = ("import sys, time, zipfile\nfrom gate.extract.network import NetworkScanner\n{select}"
        "scanner = NetworkScanner()\nwith zipfile.ZipFile(sys.argv[1]) as z:\n"
        "    entries = [(i.filename, z.read(i)) for i in z.infolist() if scanner.wants(i.filename)]\n"
        "w, c = time.perf_counter(), time.process_time()\nfor name, data in entries:\n    scanner.feed(name, data)\n"
        "scanner.facts()\nprint(time.perf_counter() - w, time.process_time() - c)")
ZIPFILE = ("import sys, time, zipfile\nw, c = time.perf_counter(), time.process_time()\n"
           "with zipfile.ZipFile(sys.argv[1]) as z:\n    for info in z.infolist():\n        z.read(info)\n"
           "print(time.perf_counter() - w, time.process_time() - c)")


def run(code: str, root: pathlib.Path | None, apk: pathlib.Path) -> tuple[float, float]:
    env = {**os.environ, **ALLOCATOR}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    out = subprocess.run([sys.executable, "-c", code, str(apk)], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True).stdout
    wall, cpu = out.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", type=pathlib.Path)
    parser.add_argument("--revision", default="main")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--scan-only", action="store_true", help="time the network scan alone")
    args = parser.parse_args()
    work = SCAN if args.scan_only else EXTRACT
    apk = args.apk.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        earlier = pathlib.Path(tmp)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.revision, "gate"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(earlier)], input=archive, check=True)
        for tree in (earlier, ROOT):  # as installed: no process recompiles the sources (PYTHONDONTWRITEBYTECODE)
            compileall.compile_dir(str(tree / "gate"), quiet=1)
        kinds = {"zipfile": (ZIPFILE, None), args.revision: (work.format(select=""), earlier),
                 "python": (work.format(select=SELECT.format(kind="python")), ROOT),
                 "compiled": (work.format(select=SELECT.format(kind="compiled")), ROOT)}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
        for _ in range(args.repeat):
            for name, (code, root) in kinds.items():
                times[name].append(run(code, root, apk))
    load = os.getloadavg()
    print(f"{apk.name}: {args.repeat} interleaved runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    zip_wall = min(w for w, _ in times["zipfile"])
    zip_cpu = min(c for _, c in times["zipfile"])
    for name, pairs in times.items():
        walls, cpus = [w for w, _ in pairs], [c for _, c in pairs]
        print(f"{name:>10}: wall best {min(walls):.3f} s median {statistics.median(walls):.3f} s "
              f"({min(walls) / zip_wall:.2f}x zipfile); CPU best {min(cpus):.3f} s "
              f"median {statistics.median(cpus):.3f} s ({min(cpus) / zip_cpu:.2f}x)")


if __name__ == "__main__":
    main()
