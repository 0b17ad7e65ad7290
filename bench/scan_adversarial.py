"""Worst case of the network scanner per MB: entries made of one repeated anchor.

    python bench/scan_adversarial.py [--sizes 1,2,4] [--repeat 3] [--no-budget] [--core compiled|python]

Each input is an entry of N MB built from one unit repeated (``:``, ``://``, ``1.1.1.1 ``, ``1.``, ``.cn``, ``@``,
``%`` …), fed to a fresh ``NetworkScanner`` as a text asset and as a native library (no ELF header: scanned whole as
NUL-terminated strings). It prints the best time of ``--repeat`` runs, the time per MB (linear scanning keeps it
flat as N grows) and whether the package's scanning budget (``MAX_SCAN_ANCHORS``) stopped the scan. With
``--no-budget`` the budget is lifted, to see the raw cost per MB. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gate.extract.network import NetworkScanner  # noqa: E402
from gate.extract.network.finder import MAX_SCAN_ANCHORS  # noqa: E402

UNITS = {
    "colon": b":", "scheme": b"://", "http-scheme": b"http://", "dotted-quads": b"1.1.1.1 ", "digit-dot": b"1.",
    "ip-port": b"10.0.0.1:80 ", "ipv6": b"1::", "dot-tld": b".cn", "host-run": b"a.cn.", "at": b"@",
    "percent": b"%", "dot": b".", "urls": b"https://a.cn/ ",
}
ENTRIES = ("assets/adversarial.txt", "lib/arm64-v8a/libadversarial.so")


def scan_once(name: str, data: bytes, budget: int) -> tuple[float, bool]:
    scanner = NetworkScanner(budget=budget)
    started = time.perf_counter()
    scanner.feed(name, data)
    scanner.facts()
    return time.perf_counter() - started, bool(scanner.problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,4", help="entry sizes in MB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-budget", action="store_true", help="lift the per-package scanning budget")
    parser.add_argument("--core", choices=("compiled", "python"), help="the scanner's core (default: as built)")
    args = parser.parse_args()
    if args.core:
        from gate.extract.network import core

        core.select(args.core)
    budget = 1 << 62 if args.no_budget else MAX_SCAN_ANCHORS
    sizes = [float(s) for s in args.sizes.split(",")]
    print(f"budget: {'none' if args.no_budget else MAX_SCAN_ANCHORS} anchors per package")
    print(f"{'unit':<13} {'entry':<34} " + " ".join(f"{s:>4g} MB (s/MB)   " for s in sizes) + " stopped")
    for label, unit in UNITS.items():
        for name in ENTRIES:
            cells, stopped = [], False
            for size in sizes:
                length = int(size * (1 << 20))
                data = (unit * (length // len(unit) + 1))[:length]
                best = min(scan_once(name, data, budget) for _ in range(args.repeat))
                cells.append(f"{best[0]:6.3f} ({best[0] / size:5.3f})")
                stopped = stopped or best[1]
            print(f"{label:<13} {name:<34} " + " ".join(f"{c:<19}" for c in cells) + f" {'yes' if stopped else 'no'}",
                  flush=True)


if __name__ == "__main__":
    main()
