"""Measure `gate filings import` speed: generate N filing records, import them, import them again.

    .venv/bin/python bench/import_filings.py --records 1000000 [--format jsonl|csv] [--database-url URL] [--phases]

Writes the generated file and (for SQLite) the database under bench/work/ (git-ignored), prints one JSON line with
the figures, and keeps the database for bench/check_registry.py. Runs the real import path (read -> validate ->
batch insert, one transaction) in-process, the same code `gate filings import` runs.

On PostgreSQL it also reports the server's CPU for each import (the server shares the machine's cores): the import
connection's backend (``*_backend_cpu_s``, from /proc/<pid>/stat, so the server must run on this machine) and every
PostgreSQL process together (``*_server_cpu_s``: the backend plus the WAL writer, checkpointer and background
writer, and any other session running at the time). ``--phases`` also times each import's phases (``*_phases``):
the records (read, validate, write), the deferred index builds, the audit row and the commit, each with the
backend's CPU beside it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import pathlib
import platform
import resource
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))

BENCH_SCHEMA = "gate_bench"


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def reader_cpu_seconds() -> float:
    """CPU of the finished child processes: for a large file, the reader (validating in its own process)."""
    t = os.times()
    return t.children_user + t.children_system


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc (0.0 once it has gone)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat


def server_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine, those that ended since included only while alive."""
    total = 0.0
    for stat in pathlib.Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() == "postgres":
                total += process_cpu_seconds(int(stat.parent.name))
        except OSError:
            continue
    return total


class Phases:
    """Wall and backend-CPU stamps of an import's phases, taken by wrapping DatabaseSink and the audit call."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.stamps: list[tuple[str, float, float]] = []

    def stamp(self, name: str) -> None:
        cpu = process_cpu_seconds(self.pid) if self.pid else 0.0
        self.stamps.append((name, time.perf_counter(), cpu))

    def install(self) -> None:
        import gate.db.filings as filings

        phases, sink, audit = self, filings.DatabaseSink, filings.record_event
        init, build = sink.__init__, sink.build_deferred_indexes

        def timed_init(self, conn, import_id):
            if conn.dialect.name == "postgresql":
                phases.pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            phases.stamp("start")
            init(self, conn, import_id)

        def timed_build(self):
            phases.stamp("records")
            build(self)
            phases.stamp("index_builds")

        def timed_audit(*args, **kwargs):
            audit(*args, **kwargs)
            phases.stamp("audit")

        sink.__init__, sink.build_deferred_indexes, filings.record_event = timed_init, timed_build, timed_audit

    def report(self) -> dict:
        """Each phase's wall and backend CPU seconds; the last ("commit") ends when the import returns."""
        self.stamp("commit")
        out, (_, t_prev, c_prev) = {}, self.stamps[0]
        for name, t, c in self.stamps[1:]:
            out[name] = {"wall_s": round(t - t_prev, 1), "backend_cpu_s": round(c - c_prev, 1)}
            t_prev, c_prev = t, c
        self.stamps = []
        return out


def postgres_bench_url(url: str) -> str:
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{BENCH_SCHEMA}"


HEADERS = ["服务备案号", "主体备案号", "服务类型", "服务名称", "主办单位名称", "主办单位性质", "状态", "审核通过日期",
           "平台", "包名/Bundle ID", "公钥", "签名MD5", "域名"]


def synthetic(i: int) -> dict:
    """Record i: unique filing number and package; every 10th also has an iOS identity, every 50th is cancelled."""
    md5 = hashlib.md5(f"cert-{i}".encode()).hexdigest()
    platforms = [{"platform": "android", "identifier": f"cn.bench.app{i}", "signature_md5": md5}]
    if i % 10 == 0:
        platforms.append({"platform": "ios", "identifier": f"cn.bench.app{i}",
                          "signature_sha1": hashlib.sha1(f"ios-{i}".encode()).hexdigest()})
    return {"service_licence": f"京ICP备2024{i:06d}号-1A", "service_type": "app", "service_name": f"测试应用{i}",
            "unit_name": f"测试科技有限公司{i // 3}", "unit_nature": "企业",
            "status": "cancelled" if i % 50 == 0 else "active", "approved_at": "2024-03-05",
            "platforms": platforms, "domains": [f"app{i}.example.cn", f"api{i}.example.cn"]}


def generate(path: pathlib.Path, n: int, fmt: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "jsonl":
            for i in range(n):
                fh.write(json.dumps(synthetic(i), ensure_ascii=False) + "\n")
            return
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(n):
            r = synthetic(i)
            for p in r["platforms"]:
                w.writerow([r["service_licence"], "", "APP", r["service_name"], r["unit_name"], "企业", "正常"
                            if r["status"] == "active" else "已注销", r["approved_at"], p["platform"],
                            p["identifier"], "", p.get("signature_md5", ""), ";".join(r["domains"])])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file under bench/work/")
    ap.add_argument("--phases", action="store_true", help="time each import's phases (see the docstring)")
    args = ap.parse_args()

    from sqlalchemy import text

    from gate.db.engine import make_engine, open_database
    from gate.db.filings import import_into_database
    from gate.db.migrate import upgrade

    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / f"filings_{args.records}.{args.format}"
    t0 = time.perf_counter()
    if not data.exists():
        generate(data, args.records, args.format)
    t_gen = time.perf_counter() - t0

    url = args.database_url
    if url is None:
        db = WORK / f"registry_{args.records}.db"
        for suffix in ("", "-wal", "-shm"):
            pathlib.Path(str(db) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    else:
        # A fresh schema for a fair measurement; later runs (check_registry.py) reuse it through the same URL.
        eng = make_engine(url)
        with eng.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
        eng.dispose()
        url = postgres_bench_url(url)
    upgrade(make_engine(url))
    engine = open_database(url)
    postgres = url.startswith("postgresql")
    phases = Phases()
    if args.phases or postgres:
        phases.install()  # also finds the backend's pid for the server CPU figures
    server: dict = {}

    def timed_import(name: str):
        s0, b0 = server_cpu_seconds() if postgres else 0.0, phases.stamps
        t0, c0, r0 = time.perf_counter(), cpu_seconds(), reader_cpu_seconds()
        report = import_into_database(engine, [data])
        t, c, r = time.perf_counter() - t0, cpu_seconds() - c0, reader_cpu_seconds() - r0
        if postgres:
            stamps = list(b0)
            server[f"{name}_server_cpu_s"] = round(server_cpu_seconds() - s0, 1)
            server[f"{name}_backend_cpu_s"] = round(process_cpu_seconds(phases.pid) - stamps[0][2], 1) \
                if stamps and phases.pid else None
        if args.phases:
            server[f"{name}_phases"] = phases.report()
        phases.stamps = []
        return report, t, c, r

    first, t_first, c_first, r_first = timed_import("first")
    # On stderr at once: a failing re-import must not take the first import's figure with it.
    print(json.dumps({"first_import_s": round(t_first, 1), "first_cpu_s": round(c_first, 1), **server,
                      "load_average": os.getloadavg()[0]}), file=sys.stderr, flush=True)
    second, t_second, c_second, r_second = timed_import("reimport")
    engine.dispose()
    print(json.dumps({
        "records": args.records, "format": args.format, "file_mb": round(data.stat().st_size / 1e6, 1),
        "database": url.split(":", 1)[0], "generate_s": round(t_gen, 1),
        "first_import_s": round(t_first, 1), "first_records_per_s": round(args.records / t_first),
        "created": first.created, "reimport_s": round(t_second, 1), "reimport_unchanged": second.unchanged,
        "reimport_records_per_s": round(args.records / t_second),
        # CPU seconds of this process and its children: comparable across runs on a machine shared with other load.
        "first_cpu_s": round(c_first, 1), "reimport_cpu_s": round(c_second, 1),
        # Of which the reader process (the rest is the writer): the slower of the two sets an import's pace.
        "first_reader_cpu_s": round(r_first, 1), "reimport_reader_cpu_s": round(r_second, 1),
        **server,
        "load_average": os.getloadavg()[0],
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "python": platform.python_version(), "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
