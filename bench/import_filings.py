"""Measure `gate filings import` speed: generate N filing records, import them, import them again.

    .venv/bin/python bench/import_filings.py --records 1000000 [--format jsonl|csv] [--database-url URL]

Writes the generated file and (for SQLite) the database under bench/work/ (git-ignored), prints one JSON line with
the figures, and keeps the database for bench/check_registry.py. Runs the real import path (read -> validate ->
batch insert, one transaction) in-process, the same code `gate filings import` runs.
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

    t0, c0, r0 = time.perf_counter(), cpu_seconds(), reader_cpu_seconds()
    first = import_into_database(engine, [data])
    t_first, c_first, r_first = time.perf_counter() - t0, cpu_seconds() - c0, reader_cpu_seconds() - r0
    # On stderr at once: a failing re-import must not take the first import's figure with it.
    print(json.dumps({"first_import_s": round(t_first, 1), "first_cpu_s": round(c_first, 1),
                      "load_average": os.getloadavg()[0]}), file=sys.stderr, flush=True)
    t0, c0, r0 = time.perf_counter(), cpu_seconds(), reader_cpu_seconds()
    second = import_into_database(engine, [data])
    t_second, c_second, r_second = time.perf_counter() - t0, cpu_seconds() - c0, reader_cpu_seconds() - r0
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
        "load_average": os.getloadavg()[0],
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "python": platform.python_version(), "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
