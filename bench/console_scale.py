"""The console at a store's scale: 100,000 checks a day for 60 days (6 M rows) on PostgreSQL, each page's server
time. Not part of the test suite (docs/benchmarks.md has the figures and the command).

    .venv/bin/python bench/console_scale.py --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

It creates (or, with --reuse, keeps) the database ``gate_bench_console`` on that server, migrates it, and fills
gate_check and service_check with ``--days`` × ``--per-day`` rows by one INSERT … SELECT FROM generate_series each
(the database generates the rows; nothing crosses the wire per row): verdicts 80 % allow, 15 % block, 5 % review,
the review ones of the last two days still pending, package names from 50,000, three stores. Then it signs in
through the real console (Flask test client: the server's own time, no network) and times each page ``--repeat``
times: the median and the worst.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DB = "gate_bench_console"
PASSWORD = "bench password 123"


def fill(engine, days: int, per_day: int) -> float:
    started = time.perf_counter()
    n = days * per_day
    with engine.begin() as conn:
        clients = [conn.execute(text(
            "INSERT INTO api_client (name, role, key_id, key_sha256, webhook_secret, disabled, created_at) "
            "VALUES (:n, 'store', :k, :s, 'x', false, now()) RETURNING id"),
            {"n": f"store-{i}", "k": f"bench{i}", "s": f"{i:064d}"}).scalar_one() for i in range(3)]
        # One minute apart would not fit 100,000 a day: the i-th check is i × (86400 / per_day) seconds after the
        # start, so the newest is now.
        step = 86400.0 / per_day
        conn.execute(text(f"""
            INSERT INTO gate_check (id, created_at, path, package_sha256, package, platform, verdict, reason_codes,
                                    facts, facts_sha256, policy, decision, gate_version)
            SELECT i, now() - make_interval(secs => ({n} - i) * {step}), 'bench.apk', md5(i::text) || md5(i::text),
                   'com.bench.app' || (i % 50000), 'android',
                   CASE WHEN i % 20 = 0 THEN 'review' WHEN i % 20 < 4 THEN 'block' ELSE 'allow' END,
                   CASE WHEN i % 20 = 0 THEN 'domain_not_filed' WHEN i % 20 < 4 THEN 'unfiled' ELSE '' END,
                   '{{}}', md5(i::text) || md5(i::text), '{{}}', '{{"reasons": []}}', 'bench'
            FROM generate_series(1, {n}) AS i"""))
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('gate_check', 'id'), {n})"))
        conn.execute(text(f"""
            INSERT INTO service_check (check_id, client_id, package_sha256, size, filename, status, gate_check_id,
                                       verdict, metadata_json, created_at, updated_at)
            SELECT 'chk_' || md5(g.id::text), (ARRAY[{', '.join(map(str, clients))}])[1 + g.id % 3], g.package_sha256,
                   1000000, 'app-' || g.id || '.apk', 'done', g.id,
                   CASE WHEN g.verdict = 'review' AND g.created_at < now() - interval '2 days'
                        THEN (CASE WHEN g.id % 40 = 0 THEN 'allow' ELSE 'block' END) ELSE g.verdict END,
                   '{{}}', g.created_at, g.created_at
            FROM gate_check g"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE gate_check"))
        conn.execute(text("VACUUM ANALYZE service_check"))
    return time.perf_counter() - started


def prepare(url: str, days: int, per_day: int, reuse: bool) -> str:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB}).first()
        if exists and not reuse:
            conn.execute(text(f"DROP DATABASE {DB} WITH (FORCE)"))
        if not exists or not reuse:
            conn.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()
    target = make_url(url).set(database=DB).render_as_string(hide_password=False)
    if exists and reuse:
        return target
    from gate.db.migrate import upgrade
    from gate.web.accounts import create_user

    engine = create_engine(target)
    upgrade(engine)
    seconds = fill(engine, days, per_day)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM service_check")).scalar_one()
        size = conn.execute(text(f"SELECT pg_size_pretty(pg_database_size('{DB}'))")).scalar_one()
    print(f"filled {rows:,} checks in {seconds:.0f} s (INSERT … SELECT generate_series, then VACUUM ANALYZE); "
          f"database {size}")
    create_user(engine, username="bench", role="admin", password=PASSWORD)
    engine.dispose()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL server (any database on it)")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already filled database")
    args = parser.parse_args()
    target = prepare(args.url, args.days, args.per_day, args.reuse)

    import re

    from gate.api.app import create_app
    from gate.config import Settings

    app = create_app(Settings(database_url=target, spool_dir="/tmp/gate-bench-spool", log_format="text"))
    client = app.test_client()
    login = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    assert client.post("/console/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
                       ).status_code == 302

    def next_of(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")

    deep = "/console/checks"
    for _ in range(5):
        deep = next_of(deep)
    one = client.get("/console/checks?size=1").get_data(as_text=True)
    check_id = re.search(r'/console/checks/(chk_[0-9a-f]+)"', one).group(1)
    # The generated rows carry no facts; the one check whose page is timed gets the bundled example's real ones.
    import json
    import pathlib

    from gate.services.checks import extract

    hello = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "apks" / "hello_zh.apk"
    facts = extract(str(hello), hello.name)
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("UPDATE gate_check SET facts = :f, decision = :d WHERE id = (SELECT gate_check_id FROM "
                          "service_check WHERE check_id = :c)"),
                     {"f": json.dumps(facts.as_dict()), "d": json.dumps({"verdict": "allow", "reasons": []}),
                      "c": check_id})
    engine.dispose()
    pages = [("review queue, first page (oldest pending first)", "/console/reviews"),
             ("review queue, last page", "/console/reviews?page=last"),
             ("review queue, next page (keyset)", next_of("/console/reviews")),
             ("checks, first page (newest first)", "/console/checks"),
             ("checks, 6th page (after= cursor)", deep),
             ("checks, last page (oldest)", "/console/checks?page=last"),
             ("checks, verdict=review", "/console/checks?verdict=review"),
             ("checks, one store", "/console/checks?store=2"),
             ("checks, one package (exact name)", "/console/checks?package=com.bench.app4242"),
             ("a check's page", f"/console/checks/{check_id}"),
             ("dashboard (14 days, 1.4 M checks)", "/console/"),
             ("audit trail", "/console/audit")]
    print(f"\n| page | median | worst | ({args.repeat} runs each, server time through the Flask test client) |")
    print("| --- | --- | --- | --- |")
    for name, path in pages:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        print(f"| {name} | {statistics.median(times):.0f} ms | {max(times):.0f} ms | `{path[:60]}` |")


if __name__ == "__main__":
    main()
