"""Time the network scanner over every entry of an APK, next to the time it takes to inflate them.

    python bench/network_scan.py PATH.apk [--repeat 3] [--show 20]

Prints the inflate time of all entries (zipfile), the scan time of the entries the scanner wants (best of
``--repeat``), the per-kind split, peak memory of the process, and the first hosts and IPs found. The scan budget
(docs/network.md) is about 1x the inflate time; the pipeline inflates once and feeds the same bytes.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import resource
import sys
import time
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gate.extract.network import NetworkScanner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", type=pathlib.Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    with zipfile.ZipFile(args.apk) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]
    inflate = time.perf_counter() - started
    inflated = sum(len(data) for _, data in entries)

    best, per_kind, scanner = float("inf"), collections.Counter(), None
    for _ in range(args.repeat):
        scanner = NetworkScanner()
        kinds: collections.Counter[str] = collections.Counter()
        started = time.perf_counter()
        for name, data in entries:
            if scanner.wants(name):
                t0 = time.perf_counter()
                scanner.feed(name, data)
                kinds[_kind(name)] += time.perf_counter() - t0
        facts = scanner.facts()
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, per_kind = elapsed, kinds

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.apk}: {len(entries)} entries, {inflated / 1e6:.1f} MB inflated")
    print(f"inflate (zipfile): {inflate:.3f} s")
    print(f"scan (best of {args.repeat}): {best:.3f} s = {best / inflate:.2f}x inflate")
    for kind, seconds in per_kind.most_common():
        print(f"  {kind:10} {seconds:.3f} s")
    print(f"hosts: {len(facts.hosts)}  ips: {len(facts.ips)}  peak RSS: {peak_mb:.0f} MB")
    for host in facts.hosts[:args.show]:
        print(f"  {host.host}  [{host.registrable_domain}]  {','.join(host.sources)}  {host.third_party or ''}")
    for ip in facts.ips[:args.show]:
        print(f"  {ip.ip}  {','.join(ip.sources)}")


def _kind(name: str) -> str:
    if name.endswith(".dex"):
        return "dex"
    if name.endswith(".so"):
        return "native"
    if name == "resources.arsc" or name.startswith("res/"):
        return "resources"
    if name.startswith("assets/"):
        return "assets"
    return "other"


if __name__ == "__main__":
    main()
