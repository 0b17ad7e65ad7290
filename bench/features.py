"""Time `gate features` on a large APK against inflating every entry with Python's zipfile, in one run.

    python bench/features.py [APK ...]        (default: bench/work/large.apk, built by bench/make_large_apk.py)

For each APK it prints, best of --repeat runs:
  zipfile      open the archive with zipfile and read every entry (the cost of just inflating the file)
  features     gate.extract.pipeline.extract_features in-process (manifest, signatures, network scan)
  verify       signature verification alone (map the file, verify_apk_signatures with the APK's min/target SDK)
  cli          `gate features --json` as a fresh process (includes interpreter start-up and imports)
  zipfile_process  a fresh Python process that reads every entry with zipfile; cli_ratio = cli / zipfile_process
  apksigner    `apksigner verify` (Android's verifier, JVM start included), when installed
and the peak resident memory of a fresh process that runs extract_features once.

Both sides run with glibc's allocator told to keep freed memory in the heap (``mallopt``, and the same settings in
the environment of the child processes). By default the allocator hands large buffers back to the kernel at
random moments, and then zipfile's fresh buffer for every entry page-faults: its time jumped between 0.07 and
0.10 s from one run to the next. Pinned, both figures are repeatable, and zipfile's is its fastest.
Each time is the best of --repeat runs; the in-process ones also give the median.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# glibc mallopt parameters: M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3, at most 32 MiB on 64-bit systems).
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def pin_allocator() -> str:
    """Keep freed buffers in this process's heap, and in the children's (see the module docstring)."""
    os.environ.update(ALLOCATOR_ENV)
    try:
        libc = ctypes.CDLL(None)
        pinned = libc.mallopt(-3, 32 << 20) and libc.mallopt(-1, 1 << 30)
    except (OSError, AttributeError):  # not glibc
        return "default"
    return "heap kept (mallopt)" if pinned else "default"


def timings(repeat: int, fn) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def best_of(repeat: int, fn) -> float:
    return min(timings(repeat, fn))


def best_cpu_of(repeat: int, argv: list[str]) -> float:
    """Least CPU time (user + system, all threads) of ``repeat`` runs of a child process: on a shared machine the
    wall clock measures the queue for the cores, CPU time the work."""
    import resource

    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, capture_output=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times)


def inflate_all(path: str) -> int:
    total = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            total += len(z.read(info))
    return total


# Peak memory from /proc/self/status (VmHWM): getrusage's ru_maxrss survives fork+exec on Linux and would report
# this benchmark process's own peak for its children.
_HWM = "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)"


def verify_only(path: str, min_sdk: int, target_sdk: int | None) -> bool:
    from gate.extract.container import ApkContainer
    from gate.extract.signing import verify_apk_signatures

    with ApkContainer.open(path) as container:
        return verify_apk_signatures(container, min_sdk=min_sdk, target_sdk=target_sdk).verified


def peak_rss_mb(path: str) -> float:
    code = f"import sys; from gate.extract.pipeline import extract_features; extract_features(sys.argv[1]); {_HWM}"
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


ZIPFILE_PROCESS = ("import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z:\n"
                   "    for i in z.infolist(): z.read(i)\n")


def cli_peak_rss_mb(gate_cli: str, path: str) -> float:
    """Peak RSS of `gate features --json` as its own process (the gate script run under this interpreter)."""
    code = ("import runpy, sys, io, contextlib; sys.argv = ['gate', 'features', '--json', sys.argv[1]]\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    try: runpy.run_path(" + repr(gate_cli) + ", run_name='__main__')\n"
            "    except SystemExit: pass\n" + _HWM)
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def baseline_rss_mb() -> float:
    code = ("import gate.extract.pipeline, gate.extract.signing, gate.extract.network, gate.extract.manifest; "
            + _HWM)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description="gate features vs zipfile")
    parser.add_argument("apks", nargs="*", default=[str(ROOT / "bench/work/large.apk")])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # The gate's own modules as installed packages have them: compiled once. This machine sets
    # PYTHONDONTWRITEBYTECODE=1, and without .pyc files every process compiles the gate's sources (~0.06 s CPU).
    import compileall

    compileall.compile_dir(str(ROOT / "gate"), quiet=1)
    from gate.extract.pipeline import extract_features

    gate_cli = str(pathlib.Path(sys.executable).with_name("gate"))
    allocator = pin_allocator()
    print(f"# {platform.node()} · {platform.processor() or platform.machine()} · Python {platform.python_version()}"
          f" · allocator: {allocator}")
    for apk in args.apks:
        size = pathlib.Path(apk).stat().st_size
        inflated = inflate_all(apk)
        facts = extract_features(apk)
        zips, feats = [], []
        for _ in range(args.repeat):  # alternating, so that both see the same machine
            zips += timings(1, functools.partial(inflate_all, apk))
            feats += timings(1, functools.partial(extract_features, apk))
        t_zip, t_feat = min(zips), min(feats)
        t_verify = best_of(args.repeat, functools.partial(verify_only, apk, facts.min_sdk or 1, facts.target_sdk))
        t_cli = best_of(max(1, args.repeat // 2), functools.partial(
            subprocess.run, [gate_cli, "features", "--json", apk], capture_output=True, check=False))
        # Both as processes, in the same run (issue #17): a fresh interpreter that reads every entry with zipfile.
        t_zip_process = best_of(max(1, args.repeat // 2), functools.partial(
            subprocess.run, [sys.executable, "-c", ZIPFILE_PROCESS, apk], capture_output=True, check=True))
        cli_rss = cli_peak_rss_mb(gate_cli, apk)
        cpu_cli = best_cpu_of(args.repeat, [gate_cli, "features", "--json", apk])
        cpu_zip = best_cpu_of(args.repeat, [sys.executable, "-c", ZIPFILE_PROCESS, apk])
        t_apksigner = None
        if shutil.which("apksigner"):
            t_apksigner = best_of(max(1, args.repeat // 2), functools.partial(
                subprocess.run, ["apksigner", "verify", apk], capture_output=True, check=False))
        rss, base = peak_rss_mb(apk), baseline_rss_mb()
        row = {
            "apk": apk, "size_mb": round(size / 1e6, 1), "inflated_mb": round(inflated / 1e6, 1),
            "zipfile_s": round(t_zip, 3), "features_s": round(t_feat, 3), "ratio": round(t_feat / t_zip, 2),
            "zipfile_median_s": round(statistics.median(zips), 3),
            "features_median_s": round(statistics.median(feats), 3),
            "median_ratio": round(statistics.median(feats) / statistics.median(zips), 2),
            "verify_s": round(t_verify, 3),
            "cli_s": round(t_cli, 3), "apksigner_s": round(t_apksigner, 3) if t_apksigner else None,
            "zipfile_process_s": round(t_zip_process, 3), "cli_ratio": round(t_cli / t_zip_process, 2),
            "cli_peak_rss_mb": round(cli_rss, 1), "cli_cpu_s": round(cpu_cli, 3),
            "zipfile_process_cpu_s": round(cpu_zip, 3), "cli_cpu_ratio": round(cpu_cli / cpu_zip, 2),
            "peak_rss_mb": round(rss, 1), "rss_after_imports_mb": round(base, 1),
            "verified": facts.signature.verified, "hosts": len(facts.network.hosts),
            "ips": len(facts.network.ips), "problems": [p.code for p in facts.problems],
        }
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
