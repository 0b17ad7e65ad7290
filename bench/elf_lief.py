"""The native-library string scan's section reader: the hand-written ELF reader vs lief, on the bench APK's libraries.

    python bench/elf_lief.py [--apk bench/work/large.apk] [--repeat 20]

For every ``lib/*.so`` of the APK: best-of-N time of ``regions.elf_read_only_data`` (section headers by struct) and
of lief (``lief.ELF.parse`` from memory, then the same section choice), and whether both choose the same byte ranges.
Prints one line per library and the totals; figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from gate.extract.container import ApkContainer  # noqa: E402
from gate.extract.network import regions  # noqa: E402


def lief_regions(data: bytes) -> list[tuple[int, int]]:
    import lief

    binary = lief.ELF.parse(io.BytesIO(data))
    out = []
    for section in binary.sections:
        if section.type != lief.ELF.Section.TYPE.PROGBITS or section.has(lief.ELF.Section.FLAGS.EXECINSTR):
            continue
        name = section.name
        if (name.startswith((".rodata", ".data", ".lrodata")) or name in (".const", "")) and section.size:
            out.append((section.offset, section.offset + section.size))
    return out


def best(function, data: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(data)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apk", default="bench/work/large.apk")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import lief

    lief.logging.disable()
    start = time.perf_counter()
    lief.ELF.parse(io.BytesIO(b"\x7fELF" + bytes(60)))
    print(f"lief {lief.__version__}: first call (import already done) {1000 * (time.perf_counter() - start):.2f} ms")
    totals = [0.0, 0.0]
    with ApkContainer.open(args.apk) as container:
        for entry in container.entries:
            if not entry.name.endswith(".so"):
                continue
            data = container.read(entry)
            hand = [(r.start, r.end) for r in regions.elf_read_only_data(data) or ()]
            by_lief = lief_regions(data)
            t_hand, t_lief = best(regions.elf_read_only_data, data, args.repeat), best(lief_regions, data, args.repeat)
            totals[0] += t_hand
            totals[1] += t_lief
            print(f"{entry.name}: {len(data)} bytes, hand-written {1000 * t_hand:.3f} ms, lief {1000 * t_lief:.3f} ms, "
                  f"same sections: {sorted(hand) == sorted(by_lief)} ({len(hand)} regions)")
    print(f"total: hand-written {1000 * totals[0]:.3f} ms, lief {1000 * totals[1]:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
