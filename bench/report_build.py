"""Benchmark: build (and optionally send) the distribution report for N listed apps, each with a filing.

    .venv/bin/python bench/report_build.py --apps 1000000 [--database-url URL] [--send]

Seeds a fresh database (SQLite file in a temp dir unless --database-url) in a child process, so the build's peak
RSS (ru_maxrss of this process) is the build's own. --send also submits it to an in-thread sandbox regulator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import pathlib
import resource
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

BATCH = 20_000


def seed(url: str, apps: int) -> None:
    from sqlalchemy import insert

    from gate.db.engine import make_engine
    from gate.db.migrate import upgrade
    from gate.db.service_tables import Listing
    from gate.db.tables import Filing, FilingIdentity, FilingVersion
    from gate.services.auth import create_client

    engine = make_engine(url)
    upgrade(engine)
    store = create_client(engine, name="bench-store", role="store")
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=30)
    for start in range(0, apps, BATCH):
        numbers = range(start, min(apps, start + BATCH))
        with engine.begin() as conn:
            conn.execute(insert(FilingVersion.__table__), [{
                "id": n + 1, "service_licence": f"京ICP备{2024000000 + n}号-1A", "version": 1, "digest": "0" * 64,
                "service_type": "app", "service_name": f"应用{n}", "unit_name": f"单位{n}", "status": "active",
                "blacklisted": False, "record": "{}", "created_at": now} for n in numbers])
            conn.execute(insert(Filing.__table__), [{
                "service_licence": f"京ICP备{2024000000 + n}号-1A", "main_licence": f"京ICP备{2024000000 + n}号",
                "current_version_id": n + 1, "version": 1, "digest": "0" * 64, "status": "active",
                "blacklisted": False, "updated_at": now} for n in numbers])
            conn.execute(insert(FilingIdentity.__table__), [{
                "version_id": n + 1, "platform": "android", "identifier": f"com.bench.app{n:07d}",
                "signature_md5": f"{n:032x}"} for n in numbers])
            conn.execute(insert(Listing.__table__), [{
                "client_id": store.id, "package": f"com.bench.app{n:07d}", "version_code": n % 500 + 1,
                "status": "listed", "listed_since": since, "last_event_at": since, "updated_at": now}
                for n in numbers])
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--send", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="gate-bench-report-")
    url = args.database_url or f"sqlite:///{tmp}/gate.db"
    t0 = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(target=seed, args=(url, args.apps))
    child.start()
    child.join()
    print(f"seeded {args.apps} listed apps with filings in {time.perf_counter() - t0:.1f}s ({url})")

    from gate.db.engine import open_database
    from gate.sync.reports import build_report

    engine = open_database(url)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    built = build_report(engine, platform_id="bench", secret="bench-secret", report_time="02:00")
    took = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"built: {built.inventory} inventory items, {built.body_size / 2**20:.0f} MiB body in {took:.1f}s; "
          f"peak RSS {peak:.0f} MiB (before build {rss_before:.0f} MiB)")
    if args.send:
        from gate.sync.client import RegulatorClient
        from gate.sync.outbox import send_pending
        from gate.sync.sandbox.server import SandboxConfig, running_sandbox

        with running_sandbox(SandboxConfig(secret="bench-secret")) as sandbox:
            t0 = time.perf_counter()
            with RegulatorClient(sandbox.url, "bench", "bench-secret", timeout=(3.05, 600)) as client:
                result = send_pending(engine, client)
            print(f"sent: {[r.status for r in result]} in {time.perf_counter() - t0:.1f}s; peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (sandbox in-process)")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
