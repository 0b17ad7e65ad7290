"""The console at a store's scale over real HTTP: 100,000 checks a day for 60 days (6 M checks) on PostgreSQL with
the review rows, audit events and callbacks a store of that size has, each page (lists with their sorts, filters and
rel="next"/"last"/"prev" pages, the dashboard, a check's page, the audit trail) timed by ``gate serve``'s own request
log. bench/console_scale.py is the quicker in-process variant (two tables, Flask test client).

Usage (PostgreSQL with trust auth on loopback, the gate installed in .venv):

    .venv/bin/python bench/console_scale_http.py                  # fill a fresh ``console_bench`` database, then time
    .venv/bin/python bench/console_scale_http.py --reuse          # time again on the database already filled
    .venv/bin/python bench/console_scale_http.py --days 2 --per-day 20000   # a quick, small run

Filling. ``gate db upgrade`` makes the gate's real schema; then set-based SQL (``INSERT … SELECT`` over
``generate_series``) fills it, the plain indexes dropped first and rebuilt after (the same definitions, read back
from ``pg_indexes``), then ANALYZE. No ORM inserts: 6 M rows one by one would take hours. The shape:

- verdicts ~80 % allow / 15 % review / 5 % block, reason codes drawn per verdict from the real catalogue
  (gate.names.REASONS), the stored decision JSON carrying the same reasons;
- 50,000 packages drawn with a skew (a few are checked often, most seldom), six store clients, stored facts with a
  2048-bit signer, four hosts and a package digest per check (the check page rebuilds them with PackageFacts.from_dict);
- the review checks of the last two days, and ~1 % of older ones, still wait for a person (the queue); the others
  were reviewed: a ``check_review`` row, the service check moved to allow/block, a ``review.*`` audit event;
- service_check carries the package and reason codes (as gate.db.checks.decided sets them) and decision_day
  the per-day counts (as record_check keeps them);
- one ``check`` audit event per check (as gate.db.checks.record_check writes) and one callback delivery per
  check (the stores have callback URLs), almost all delivered.

Timing. ``gate serve`` (gunicorn, one worker) on loopback with the JSON request log; every request carries an
``X-Request-Id`` and its server time is the log's ``duration_ms`` for that id (the Flask request, from before the
first hook to after the last: database, rendering, session check). The wall time on the client is reported beside it.
Each page is requested once to warm up, then ``--repeat`` times; median and max are reported. The session is made
with gate.web.accounts.sign_in (the same call the login form makes) and sent as the console's cookie.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
GATE = str(Path(sys.executable).with_name("gate"))
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
STORES = 6
PACKAGES = 50_000
GOAL_MS = 200.0

# Reason variants per verdict, drawn uniformly (an allow mostly has none).
REASON_VARIANTS = {
    "allow": ["", "", "", "", "", "", "", "", "filing_number_not_shown", "exempted"],
    "review": ["domain_not_filed", "name_mismatch", "code_hidden_by_packer", "upload_key_only",
               "domain_not_filed name_mismatch", "content_approval_missing", "entity_mismatch", "domain_not_filed",
               "filing_number_not_shown domain_not_filed", "key_rotated"],
    "block": ["unfiled", "key_mismatch", "signature_invalid", "filing_blacklisted", "package_unsigned",
              "unfiled domain_not_filed", "filing_cancelled", "key_mismatch", "unfiled", "package_malformed"],
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------------- templates


def templates() -> tuple[str, str, list[tuple[str, int, str, str]]]:
    """(facts JSON, policy JSON, [(verdict, variant, reason_codes, decision JSON)]) made with the gate's own types,
    so the check page reads them as it reads a real check. @PKG@ and @SHA@ are replaced per row in SQL."""
    from gate.decide import CATALOGUE, Policy
    from gate.extract.facts import HostFact, NetworkFacts, PackageFacts, SignatureFacts, SignerCertificate
    from gate.names import REASONS

    signer = SignerCertificate(cert_md5="@SHA@"[:5] + "0" * 27, cert_sha1="1" * 40, cert_sha256="@SHA@",
                               public_key="c3" * 256, public_key_sha256="2" * 64,
                               subject="CN=Bench Developer, O=Bench, C=CN", key_algorithm="RSA", key_size=2048)
    hosts = tuple(HostFact(h, d, ("dex",), kind=k) for h, d, k in (
        ("api.@PKG@.cn", "@PKG@.cn", "contact"), ("img.@PKG@.cn", "@PKG@.cn", "contact"),
        ("sdk.e.qq.com", "qq.com", "contact"), ("www.w3.org", "w3.org", "reference")))
    facts = PackageFacts(path="/var/spool/gate/@SHA@.apk", format="apk", platform="android", package="@PKG@",
                         version_code=1042, version_name="1.4.2", label="Bench @PKG@", min_sdk=24, target_sdk=34,
                         permissions=("android.permission.INTERNET", "android.permission.ACCESS_NETWORK_STATE"),
                         signature=SignatureFacts(verified=True, schemes={"v2": True, "v3": True}, signers=(signer,)),
                         network=NetworkFacts(hosts=hosts), sha256="@SHA@", size=18_000_000, filing_numbers=())
    facts_json = json.dumps(facts.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    policy_json = json.dumps(Policy().as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    rows = []
    for verdict, variants in REASON_VARIANTS.items():
        for i, codes in enumerate(variants):
            reasons = [{"code": c, "severity": CATALOGUE[c][0] if CATALOGUE[c][0] in ("info", "review", "block")
                        else verdict, "message": {"zh": REASONS[c][0], "en": REASONS[c][1]}, "evidence": {}}
                       for c in codes.split()]
            decision = {"path": "/var/spool/gate/@SHA@.apk", "verdict": verdict, "reasons": reasons, "filing": None,
                        "package": {"package": "@PKG@", "version_code": 1042, "sha256": "@SHA@"}}
            rows.append((verdict, i, codes, json.dumps(decision, ensure_ascii=False, sort_keys=True,
                                                       separators=(",", ":"))))
    return facts_json, policy_json, rows


# ---------------------------------------------------------------------------------------------------- filling


def create_database(name: str) -> None:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def gate_env(url: str) -> dict:
    return {**os.environ, "GATE_DATABASE_URL": url, "GATE_LOG_FORMAT": "json",
            "GATE_CONSOLE_SECRET": "console-bench-" + "x" * 32}


FILLED_TABLES = ("gate_check", "service_check", "audit_event", "check_review", "callback_delivery")


def plain_indexes(conn) -> list[tuple[str, str]]:
    """The filled tables' indexes that back no constraint (primary keys and unique constraints stay)."""
    return conn.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(:t) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"t": list(FILLED_TABLES)}).all()


def fill(url: str, days: int, per_day: int) -> dict:
    facts_json, policy_json, variants = templates()
    engine = sa.create_engine(url)
    total = days * per_day
    step = 86400.0 * days / total  # seconds between checks: evenly through the period, ending now
    timings = {}
    with engine.begin() as conn:
        conn.execute(sa.text("SET synchronous_commit = off"))
        indexes = plain_indexes(conn)
        for name, _ in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
        conn.execute(sa.text("SELECT setseed(0.25)"))
        for n in range(1, STORES + 1):
            conn.execute(sa.text(
                "INSERT INTO api_client (id, name, role, key_id, key_sha256, webhook_secret, callback_url, disabled, "
                "created_at) VALUES (:id, :name, 'store', :kid, :ksha, :secret, :cb, false, "
                "now() - interval '90 days')"),
                {"id": n, "name": f"bench-store-{n}", "kid": secrets.token_hex(8), "ksha": secrets.token_hex(32),
                 "secret": secrets.token_hex(16), "cb": f"https://store{n}.example.cn/gate/callback"})
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('api_client', 'id'), :n)"), {"n": STORES})
        conn.execute(sa.text("CREATE TEMP TABLE bench_variant (verdict text, k int, codes text, decision text)"))
        conn.execute(sa.text("INSERT INTO bench_variant VALUES (:v, :k, :c, :d)"),
                     [{"v": v, "k": k, "c": c, "d": d} for v, k, c, d in variants])
        params = {"total": total, "step": step, "facts": facts_json, "policy": policy_json, "pkgs": PACKAGES,
                  "stores": STORES}

        started = time.perf_counter()
        # One row per check: its draws (package by a skewed draw, verdict by the mix, a reason variant).
        conn.execute(sa.text("""
            CREATE TEMP TABLE bench_draw AS
            SELECT g AS id,
                   now() - make_interval(secs => (:total - g) * :step) AS at,
                   'com.bench.app' || floor(:pkgs * power(random(), 3))::int AS pkg,
                   CASE WHEN r < 0.80 THEN 'allow' WHEN r < 0.95 THEN 'review' ELSE 'block' END AS verdict,
                   floor(random() * 10)::int AS k,
                   1 + floor(random() * :stores)::int AS client_id,
                   encode(sha256(int8send(g)), 'hex') AS sha
            FROM (SELECT g, random() AS r FROM generate_series(1, :total) AS g) AS s"""), params)
        timings["draws_s"] = time.perf_counter() - started
        log(f"draws: {total} rows in {timings['draws_s']:.0f} s")

        started = time.perf_counter()
        conn.execute(sa.text("""
            INSERT INTO gate_check (id, created_at, path, package_sha256, package, platform, verdict, reason_codes,
                                    facts, facts_sha256, filing_version_id, policy, decision, developer_entity,
                                    gate_version, category, unpacked_sha256)
            SELECT d.id, d.at, '/var/spool/gate/' || d.sha || '.apk', d.sha, d.pkg, 'android', d.verdict, v.codes,
                   replace(replace(:facts, '@PKG@', d.pkg), '@SHA@', d.sha), md5(d.sha) || md5(d.pkg), NULL, :policy,
                   replace(replace(v.decision, '@PKG@', d.pkg), '@SHA@', d.sha), 'Bench Technology Co., Ltd.',
                   'bench', NULL, NULL
            FROM bench_draw d JOIN bench_variant v ON v.verdict = d.verdict AND v.k = d.k"""), params)
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('gate_check', 'id'), :n)"), {"n": total})
        timings["gate_check_s"] = time.perf_counter() - started
        log(f"gate_check: {timings['gate_check_s']:.0f} s")

        # A review is still pending when it is from the last two days, or one in ~100 older ones (the backlog).
        pending = "(d.at > now() - interval '2 days' OR d.id % 97 = 0)"
        started = time.perf_counter()
        conn.execute(sa.text(f"""
            INSERT INTO service_check (check_id, client_id, package_sha256, size, filename, status, gate_check_id,
                                       verdict, package, reason_codes, metadata_json, error, created_at, updated_at)
            SELECT 'chk_' || substr(md5(d.sha), 1, 32), d.client_id, d.sha, 18000000 + d.id % 1000000,
                   d.pkg || '-1.4.2.apk', 'done', d.id,
                   CASE WHEN d.verdict <> 'review' OR {pending} THEN d.verdict
                        WHEN d.id % 10 < 7 THEN 'allow' ELSE 'block' END, d.pkg, v.codes,
                   '{{"developer_entity":"Bench Technology Co., Ltd.","category":"tools"}}', NULL, d.at,
                   d.at + interval '2 seconds'
            FROM bench_draw d JOIN bench_variant v ON v.verdict = d.verdict AND v.k = d.k"""))
        timings["service_check_s"] = time.perf_counter() - started
        log(f"service_check: {timings['service_check_s']:.0f} s")

        # The dashboard's per-day counts, as gate.db.checks.record_check keeps them (migration 0750).
        started = time.perf_counter()
        conn.execute(sa.text("""
            INSERT INTO decision_day (day, verdict, reason_codes, checks)
            SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), verdict, reason_codes, count(*)
            FROM gate_check GROUP BY 1, 2, 3"""))
        timings["decision_day_s"] = time.perf_counter() - started
        log(f"decision_day: {timings['decision_day_s']:.0f} s")

        started = time.perf_counter()
        conn.execute(sa.text(f"""
            INSERT INTO check_review (check_id, gate_check_id, result_gate_check_id, package_sha256, package, signers,
                                      outcome, comment, reviewer, at)
            SELECT 'chk_' || substr(md5(d.sha), 1, 32), d.id, NULL, d.sha, d.pkg, d.sha,
                   CASE WHEN d.id % 10 < 7 THEN 'approved' ELSE 'rejected' END,
                   '已核对备案与签名', 'reviewer' || (d.id % 5), d.at + interval '3 hours'
            FROM bench_draw d WHERE d.verdict = 'review' AND NOT {pending}"""))
        timings["check_review_s"] = time.perf_counter() - started
        log(f"check_review: {timings['check_review_s']:.0f} s")

        started = time.perf_counter()
        conn.exec_driver_sql("""
            INSERT INTO audit_event (at, actor, action, subject, details)
            SELECT d.at, 'client:bench-store-' || d.client_id, 'check', d.pkg,
                   '{"check_id":' || d.id || ',"filing_version_id":null,"package_sha256":"' || d.sha
                   || '","verdict":"' || d.verdict || '"}'
            FROM bench_draw d ORDER BY d.id""")
        conn.exec_driver_sql("""
            INSERT INTO audit_event (at, actor, action, subject, details)
            SELECT r.at, 'staff:' || r.reviewer, 'review.' || r.outcome, r.package,
                   '{"callback":true,"check_id":"' || r.check_id || '","comment":"' || r.comment || '"}'
            FROM check_review r ORDER BY r.id""")
        timings["audit_event_s"] = time.perf_counter() - started
        log(f"audit_event: {timings['audit_event_s']:.0f} s")

        started = time.perf_counter()
        conn.exec_driver_sql("""
            INSERT INTO callback_delivery (client_id, check_id, url, body, status, attempts, next_attempt_at,
                                           last_status, created_at, delivered_at)
            SELECT d.client_id, 'chk_' || substr(md5(d.sha), 1, 32),
                   'https://store' || d.client_id || '.example.cn/gate/callback',
                   '{"event":"check.completed","check_id":"chk_' || substr(md5(d.sha), 1, 32) || '","verdict":"'
                   || d.verdict || '"}',
                   CASE WHEN d.at > now() - interval '1 minute' THEN 'pending' ELSE 'delivered' END,
                   1, d.at, 200, d.at, d.at + interval '1 second'
            FROM bench_draw d ORDER BY d.id""")
        timings["callback_delivery_s"] = time.perf_counter() - started
        log(f"callback_delivery: {timings['callback_delivery_s']:.0f} s")

        started = time.perf_counter()
        for _name, definition in indexes:
            conn.execute(sa.text(definition))
        timings["indexes_s"] = time.perf_counter() - started
        log(f"{len(indexes)} indexes rebuilt: {timings['indexes_s']:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(sa.text("VACUUM ANALYZE"))
        timings["vacuum_analyze_s"] = time.perf_counter() - started
        log(f"VACUUM ANALYZE: {timings['vacuum_analyze_s']:.0f} s")
    engine.dispose()
    return timings


# ---------------------------------------------------------------------------------------------------- timing


class Links(HTMLParser):
    """The page's <a rel="…" href="…"> links (gate.web.paging renders next/prev/first/last)."""

    def __init__(self) -> None:
        super().__init__()
        self.rel: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "a" and found.get("rel") and found.get("href"):
            for rel in found["rel"].split():
                self.rel.setdefault(rel, found["href"])


def rel_links(html: str) -> dict[str, str]:
    parser = Links()
    parser.feed(html)
    return parser.rel


def start_server(url: str, port: int, log_path: Path) -> subprocess.Popen:
    log_file = open(log_path, "wb")
    server = subprocess.Popen([GATE, "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
                              env=gate_env(url), stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if server.poll() is not None:
            raise SystemExit(f"gate serve exited: see {log_path}")
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"gate serve did not answer /healthz within 60 s: see {log_path}")


def sign_in(url: str) -> str:
    """A console session for an admin: the same gate.web.accounts calls the CLI and the login form make."""
    from gate.web import accounts

    engine = sa.create_engine(url)
    password = secrets.token_urlsafe(18)
    username = "bench-admin"
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM staff_session WHERE user_id IN "
                             "(SELECT id FROM staff_user WHERE username = :u)"), {"u": username})
        conn.execute(sa.text("DELETE FROM staff_user WHERE username = :u"), {"u": username})
    accounts.create_user(engine, username=username, role="admin", password=password)
    token = accounts.sign_in(engine, username=username, password=password, remote="127.0.0.1").token
    engine.dispose()
    return token


def durations(log_path: Path) -> dict[str, float]:
    found = {}
    for line in log_path.read_text("utf-8", errors="replace").splitlines():
        if '"duration_ms"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("request_id"):
            found[entry["request_id"]] = entry["duration_ms"]
    return found


def measure(base: str, session: requests.Session, pages: list[tuple[str, str]], repeat: int, log_path: Path,
            reference: dict) -> list[dict]:
    results = []
    for name, path in pages:
        ids, walls = [], []
        for n in range(repeat + 1):  # the first one warms caches and is not counted
            rid = f"bench-{abs(hash((name, n, time.time()))) % 10**12}"
            started = time.perf_counter()
            response = session.get(urljoin(base, path), headers={"X-Request-Id": rid}, allow_redirects=False)
            wall = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
            if n:
                ids.append(rid)
                walls.append(wall)
        time.sleep(0.3)  # let the log line reach the file
        server = durations(log_path)
        times = [server[i] for i in ids if i in server]
        row = {"page": name, "path": path, "rows": reference.get(name),
               "server_median_ms": round(statistics.median(times), 1) if times else None,
               "server_max_ms": max(times) if times else None,
               "wall_median_ms": round(statistics.median(walls), 1), "wall_max_ms": round(max(walls), 1)}
        results.append(row)
        log(f"{name:32s} server median {row['server_median_ms']} ms, max {row['server_max_ms']} ms "
            f"(wall median {row['wall_median_ms']} ms)")
    return results


def page_list(base: str, session: requests.Session, url: str) -> list[tuple[str, str]]:
    """The pages to time; the next/previous/last pages are the ones the first pages link to (rel links)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        pending = conn.execute(sa.text(
            "SELECT check_id FROM service_check WHERE verdict = 'review' AND status = 'done' "
            "ORDER BY created_at DESC LIMIT 1")).scalar_one()
        # The most-checked package and a seldom-checked one (the package is the cube of a uniform draw: app0 has
        # ~2.7 % of all checks, app49999 a few dozen).
        hot, rare = "com.bench.app0", f"com.bench.app{PACKAGES - 1}"
        hot_check = conn.execute(sa.text(
            "SELECT s.check_id FROM service_check s JOIN gate_check g ON g.id = s.gate_check_id "
            "WHERE g.package = :p ORDER BY g.id DESC LIMIT 1"), {"p": hot}).scalar_one()
    engine.dispose()
    pages = [("dashboard", "/console/"),
             ("queue: first page", "/console/reviews"),
             ("queue: sorted by package", "/console/reviews?sort=package"),
             ("queue: store filter", "/console/reviews?store=3"),
             ("queue: reason filter", "/console/reviews?reason=name_mismatch"),
             ("queue: older than 24 h", "/console/reviews?age=24"),
             ("checks: first page", "/console/checks"),
             ("checks: sorted by package", "/console/checks?sort=package"),
             ("checks: sorted by verdict", "/console/checks?sort=verdict"),
             ("checks: verdict=block", "/console/checks?verdict=block"),
             ("checks: store filter", "/console/checks?store=2"),
             ("checks: reason filter", "/console/checks?reason=key_mismatch"),
             ("checks: package filter (hot)", f"/console/checks?package={hot}"),
             ("checks: package filter (rare)", f"/console/checks?package={rare}"),
             ("checks: package prefix", f"/console/checks?package={rare[:-1]}*"),
             ("queue: reason filter, sorted by package", "/console/reviews?reason=domain_not_filed&sort=package"),
             ("check page (pending review)", f"/console/checks/{pending}"),
             ("check page (most-checked package)", f"/console/checks/{hot_check}"),
             ("audit: first page", "/console/audit"),
             ("audit: actor filter", "/console/audit?actor=reviewer1"),
             ("audit: object filter (hot)", f"/console/audit?subject={hot}"),
             ("audit: object filter (rare)", f"/console/audit?subject={rare}")]
    followed = []
    for name, path in pages:
        if name.endswith("first page") or name == "checks: sorted by package":
            list_name = name.split(":")[0] + (" sorted by package" if "sorted" in name else "")
            links = rel_links(session.get(urljoin(base, path)).text)
            for rel in ("next", "last"):
                if rel in links:
                    followed.append((f"{list_name} → rel={rel}", links[rel]))
            if "last" in links:  # and the page before the last one, reached backwards
                prev = rel_links(session.get(urljoin(base, links["last"])).text).get("prev")
                if prev:
                    followed.append((f"{list_name} → last → rel=prev", prev))
    return pages + followed


EXPLAIN_SETTINGS = {"session_preload_libraries": "auto_explain", "auto_explain.log_analyze": "on",
                    "auto_explain.log_buffers": "on", "auto_explain.log_nested_statements": "on"}


def explain_slow(database: str, min_ms: int | None) -> None:
    """With ``min_ms``: every statement of the bench database slower than that is logged to the PostgreSQL server
    log with EXPLAIN (ANALYZE, BUFFERS) (auto_explain, for new sessions); with None: back to normal. Timing runs go
    without it (ANALYZE's clock costs time); it is for finding out why a page misses the goal."""
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if min_ms is None:
            conn.execute(sa.text(f'ALTER DATABASE "{database}" RESET ALL'))
        else:
            for name, value in {**EXPLAIN_SETTINGS, "auto_explain.log_min_duration": f"{min_ms}ms"}.items():
                conn.execute(sa.text(f"ALTER DATABASE \"{database}\" SET {name} = '{value}'"))
    admin.dispose()


def database_facts(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("gate_check", "service_check", "audit_event", "check_review", "callback_delivery")}
        counts["queue"] = conn.execute(sa.text(
            "SELECT count(*) FROM service_check WHERE verdict = 'review' AND status = 'done'")).scalar_one()
        version = conn.execute(sa.text("SHOW server_version")).scalar_one()
    engine.dispose()
    return {"database_size": size, "rows": counts, "postgresql": version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="console_bench")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="time the database already filled (skip filling)")
    parser.add_argument("--fill-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=18471)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--only", action="append", metavar="TEXT", help="time only the pages whose name contains "
                        "TEXT (repeatable), e.g. --only dashboard --only 'package filter'")
    parser.add_argument("--explain", type=int, metavar="MS", help="log EXPLAIN (ANALYZE, BUFFERS) of every statement "
                        "slower than MS to the PostgreSQL server log while timing (the figures are then not clean)")
    args = parser.parse_args(argv)
    url = f"{SERVER}/{args.database}"
    report: dict = {"load_before": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if not args.reuse:
        log(f"creating {args.database} and upgrading it to the gate's schema")
        create_database(args.database)
        subprocess.run([GATE, "db", "upgrade"], env=gate_env(url), check=True, cwd=ROOT)
        started = time.perf_counter()
        report["fill"] = fill(url, args.days, args.per_day)
        report["fill"]["total_s"] = round(time.perf_counter() - started)
    report.update(database_facts(url))
    log(f"database: {report['database_size']}, rows {report['rows']}")
    if args.fill_only:
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return 0
    log_path = Path(f"/tmp/console-bench-serve-{args.port}.log")
    explain_slow(args.database, args.explain)
    server = start_server(url, args.port, log_path)
    try:
        base = f"http://127.0.0.1:{args.port}"
        session = requests.Session()
        session.cookies.set("gate_session", sign_in(url), domain="127.0.0.1", path="/console")
        pages = page_list(base, session, url)
        if args.only:
            pages = [p for p in pages if any(text in p[0] for text in args.only)]
        report["pages"] = measure(base, session, pages, args.repeat, log_path, {})
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.explain:
            explain_slow(args.database, None)
    report["load_after"] = os.getloadavg()
    missed = [p["page"] for p in report["pages"] if (p["server_max_ms"] or 0) > GOAL_MS]
    report["over_goal"] = missed
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    if args.json:
        args.json.write_text(text + "\n", "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
