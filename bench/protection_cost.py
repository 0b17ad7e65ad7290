"""What recognising packers (加固) costs `gate features`: extract_features with the packer reader, and with it
replaced by a reader that does nothing — alternating in one process, so that both see the same (shared, loaded)
machine.

    python bench/protection_cost.py [APK ...] [--repeat 9]     (default: bench/work/large.apk, bench/make_large_apk.py)

Prints, per APK, the best and the median of --repeat runs of each, the ratio of the best times, and the reader's own
work timed alone (best of --repeat; on a loaded machine the end-to-end difference drowns in noise). The reader's
work is: one pass over the entry names, the application class against a set, and per DEX file a bisection of the
sorted string table for each stub descriptor (gate/extract/protection.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.extract import protection  # noqa: E402
from gate.extract.pipeline import extract_features  # noqa: E402


class NoPackerReader:
    """The reader with every step a no-op: the gate as it was before packers were recognised."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def feed_entry_names(self, names) -> None:
        pass

    def feed_application_class(self, class_name, source="AndroidManifest.xml") -> None:
        pass

    def feed_dex(self, name, data) -> None:
        pass

    def facts(self):
        return None


def timed(with_packers: bool, apk: str) -> float:
    real = protection.ProtectionReader
    protection.ProtectionReader = real if with_packers else NoPackerReader
    try:
        start = time.perf_counter()
        extract_features(apk)
        return time.perf_counter() - start
    finally:
        protection.ProtectionReader = real


def reader_alone(apk: str, repeat: int) -> float:
    """The reader's own work on the package (names, application class, every DEX), the DEX already inflated."""
    import zipfile

    with zipfile.ZipFile(apk) as z:
        names = z.namelist()
        dex = {n: z.read(n) for n in names if n.startswith("classes") and n.endswith(".dex")}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        reader = protection.ProtectionReader()
        reader.feed_entry_names(names)
        reader.feed_application_class("com.example.App")
        for name, data in dex.items():
            reader.feed_dex(name, data)
        reader.facts()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apks", nargs="*", default=[str(ROOT / "bench/work/large.apk")])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    for apk in args.apks:
        extract_features(apk)  # warm the page cache and the imports
        with_, without = [], []
        for _ in range(args.repeat):
            without.append(timed(False, apk))
            with_.append(timed(True, apk))
        print(json.dumps({
            "apk": os.path.basename(apk), "size_mb": round(os.path.getsize(apk) / 1e6, 1), "repeat": args.repeat,
            "without_packers_best_s": round(min(without), 3), "without_packers_median_s": round(statistics.median(without), 3),
            "with_packers_best_s": round(min(with_), 3), "with_packers_median_s": round(statistics.median(with_), 3),
            "ratio_best": round(min(with_) / min(without), 3),
            "reader_alone_best_ms": round(1000 * reader_alone(apk, args.repeat), 2),
            "load_1min": round(os.getloadavg()[0], 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
