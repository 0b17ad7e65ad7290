"""Time `gate preinstall scan` on a build-sized dynamic-partition image: ≥ 2 GB, ≥ 300 APKs.

    python bench/preinstall_images.py [--apks 330] [--repeat 2] [--jobs N] [--keep]

Builds, under bench/work/preinstall/, an unpacked tree of copies of the real-world corpus (fixtures/corpus.py:
framework-res, the UiAutomator2 server, API Demos, Appium Settings, a test APK) and the fixture APKs spread over
system (ext4, with an APEX), product (EROFS), vendor (ext4) and odm (ext4), then a super.img (liblp format,
fixtures/images.py) and its sparse form as a build produces it (img2simg). It times the scan of the sparse
super.img with --previous (the release engineer's command), best of --repeat, prints the machine, the load and
the figures, and removes everything it built unless --keep.

Beside the scan it computes the limit issue #28 sets: (reading the image once + the sum of each placed APK's
extraction) ÷ cores, from the same machine in the same run — the image read once sequentially, and
`extract_features` CPU seconds of each distinct source package, in process, times the copies placed — and prints
the scan's ratio to it, in wall time and in CPU seconds (the scan's process tree against the limit's work), so a
figure taken under load still says how far the scan is from what the cores allow.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fixtures import corpus  # noqa: E402
from fixtures import images as build  # noqa: E402

WORK = ROOT / "bench" / "work" / "preinstall"
# (corpus name, share of the APK count): large real packages first, so the image passes 2 GB.
MIX = (("framework-res.apk", 0.04), ("appium-uiautomator2-server-v10.6.6.apk", 0.15), ("ApiDemos-debug.apk", 0.25),
       ("settings_apk-debug.apk", 0.25), ("appium-uiautomator2-server-debug-androidTest.apk", 0.1))
FIXTURES = ("hello_zh.apk", "legacy_v1.apk", "multidex_native.apk", "two_signers.apk", "v1_v2_v3.apk",
            "rotated_v3.apk", "not_a_zip.apk", "unsigned.apk")
SLOTS = (("system", "app"), ("system", "priv-app"), ("product", "app"), ("product", "overlay"), ("vendor", "app"),
         ("odm", "app"))


def copy_apk(source: pathlib.Path, target: pathlib.Path) -> None:
    # A copy, not a hard link: mkfs.ext4 -d keeps hard links, and the image would hold each APK once.
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def make_tree(tree: pathlib.Path, count: int) -> list[pathlib.Path]:
    sources = []
    for name, share in MIX:
        sources += [corpus.path(name)] * max(1, int(count * share))
    fixtures = itertools.cycle(ROOT / "fixtures" / "apks" / f for f in FIXTURES)
    while len(sources) < count:
        sources.append(next(fixtures))
    apex_tree = tree.parent / "apex-tree"
    for i, source in enumerate(sources):
        if i % 50 == 7:  # some apps live inside an APEX module
            copy_apk(source, apex_tree / "app" / f"A{i}" / f"A{i}.apk")
            continue
        partition, directory = SLOTS[i % len(SLOTS)]
        copy_apk(source, tree / partition / directory / f"App{i:04d}" / f"App{i:04d}.apk")
    (tree / "system" / "apex").mkdir(parents=True, exist_ok=True)
    build.apex(build.ext4(apex_tree, tree.parent / "apex_payload.img"),
               tree / "system" / "apex" / "com.example.bench.apex", "com.example.bench")
    return sources


def read_seconds(path: pathlib.Path) -> float:
    """Reading the image once, sequentially (what no scan can avoid)."""
    started = time.perf_counter()
    with path.open("rb") as fh:
        while fh.read(1 << 20):
            pass
    return time.perf_counter() - started


def extraction_cpu_seconds(sources: list[pathlib.Path]) -> float:
    """Σ over placed APKs of extract_features' CPU seconds (all threads), each distinct source measured once."""
    from collections import Counter

    from gate.extract.pipeline import extract_features

    total = 0.0
    for source, copies in Counter(sources).items():
        started = time.process_time()
        extract_features(str(source))
        total += (time.process_time() - started) * copies
    return total


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, the forkserver's check workers included (they are not children of the scan,
    so getrusage(RUSAGE_CHILDREN) never sees their CPU)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            for task in pathlib.Path(f"/proc/{parent}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                found += kids
                queue += kids
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_measured(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run the scan; (result, wall seconds, CPU seconds of its whole process tree, sampled every 0.2 s: a process
    that ends between samples loses at most its last 0.2 s)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu: dict[int, float] = {}
    out: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out.append(process.communicate()), daemon=True)
    reader.start()
    while reader.is_alive():
        for pid in [process.pid] + _descendants(process.pid):
            value = _cpu_seconds(pid)
            if value is not None:
                cpu[pid] = max(cpu.get(pid, 0.0), value)
        reader.join(0.2)
    wall = time.perf_counter() - started
    stdout, stderr = out[0]
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), wall, sum(cpu.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apks", type=int, default=330)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep bench/work/preinstall afterwards")
    args = parser.parse_args()
    corpus.fetch()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        started = time.perf_counter()
        sources = make_tree(WORK / "tree", args.apks)
        apks = len(sources)
        tree = WORK / "tree"
        parts = [("system", build.ext4(tree / "system", WORK / "system.img")),
                 ("product", build.erofs(tree / "product", WORK / "product.img")),
                 ("vendor", build.ext4(tree / "vendor", WORK / "vendor.img")),
                 ("odm", build.ext4(tree / "odm", WORK / "odm.img"))]
        raw = build.super_image(parts, WORK / "super_raw.img", split=("vendor",))
        for _, image in parts:
            image.unlink()
        sparse = build.sparse(raw, WORK / "super.img")
        raw.unlink()
        shutil.rmtree(tree)
        built = time.perf_counter() - started
        filings = WORK / "filings.json"
        from tests.integration.http_support import FILINGS
        filings.write_text(json.dumps(FILINGS, ensure_ascii=False), encoding="utf-8")
        command = [sys.executable, "-m", "gate.cli", "preinstall", "scan", str(sparse), "--filings", str(filings),
                   "--out", str(WORK / "out")] + (["--jobs", str(args.jobs)] if args.jobs else [])
        times, cpu = [], []
        for run in range(args.repeat):
            extra = ["--previous", str(WORK / "out" / "preinstall-report.json")] if run else []
            load = os.getloadavg()
            result, wall, cpu_s = run_measured(command + extra)
            times.append(wall)
            cpu.append(cpu_s)
            if result.returncode not in (0, 3, 4):
                print(result.stderr, file=sys.stderr)
                return 1
            print(f"run {run + 1}: {times[-1]:.1f} s (load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
        report = json.loads((WORK / "out" / "preinstall-report.json").read_text())
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        print(f"image: {sparse.stat().st_size / 1e9:.2f} GB sparse super.img "
              f"({os.path.getsize(sparse) / 2**30:.2f} GiB), {apks} APKs placed, "
              f"{report['summary']['total']} checked, partitions "
              + ", ".join(f"{p['name']} {p['format']} {p['total']}" for p in report["partitions"]))
        print(f"built in {built:.0f} s; scan best of {len(times)}: {min(times):.1f} s; uptime: "
              + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
        print(result.stdout.splitlines()[-2] if report.get("changes") else "")
        cores = len(os.sched_getaffinity(0)) if args.jobs is None else min(args.jobs, os.cpu_count() or 1)
        read_s, extract_s = read_seconds(sparse), extraction_cpu_seconds(sources)
        limit = (read_s + extract_s) / cores
        print(json.dumps({
            "scan_best_s": round(min(times), 1), "scan_cpu_s": [round(c, 1) for c in cpu],
            "image_read_s": round(read_s, 2), "extraction_cpu_s_sum": round(extract_s, 1), "cores": cores,
            "limit_s": round(limit, 1), "goal_s (1.3 x limit)": round(1.3 * limit, 1),
            "scan_over_limit": round(min(times) / limit, 2),
            "scan_cpu_over_limit_work": round(min(cpu) / (read_s + extract_s), 2),
            "load_average_after": [round(x, 1) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
