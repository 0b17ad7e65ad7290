"""What the filing-number finder costs inside extraction: its search over the entries it reads, best of N.

    python bench/filing_number.py [bench/work/large.apk] [--repeat 5]

The entries are inflated once beforehand (the pipeline inflates them anyway for the signature check and the network
scan), so the figure is the finder's own cost: ``bytes.find`` for four spellings of "ICP" plus the windows around hits.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gate.extract.container import ApkContainer  # noqa: E402
from gate.extract.filing_number import FilingNumberFinder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("apk", nargs="?", default="bench/work/large.apk")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with ApkContainer.open(args.apk) as container:
        wanted = [(e.name, container.read(e)) for e in container.entries
                  if not e.is_directory and FilingNumberFinder.wants(e.name)]
    size = sum(len(d) for _, d in wanted)
    best = float("inf")
    for _ in range(args.repeat):
        finder = FilingNumberFinder()
        start = time.perf_counter()
        for name, data in wanted:
            finder.feed(name, data)
        best = min(best, time.perf_counter() - start)
    print(f"{len(wanted)} entries, {size / 2**20:.1f} MiB searched, best of {args.repeat}: {best * 1000:.1f} ms "
          f"({size / 2**20 / best:.0f} MiB/s); numbers found: {len(finder.facts())}")


if __name__ == "__main__":
    main()
