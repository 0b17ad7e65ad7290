"""The same answers and stored rows before and after a change to the HTTP check path: every fixture package uploaded
to one tree's `gate serve` through the store webhook.

Runs ``--tree``'s gate (a checkout of the code to compare, put first on PYTHONPATH) as `gate serve` on a fresh
SQLite database seeded by `gate demo`, uploads each package under fixtures/apks (signed multipart, a fixed
store_app_id per package), then the first package again (the idempotent answer), one with a bad signature and one
without its package part, and writes what the server answered and what it stored (gate_check, service_check,
decision_day, and audit_event past the demo's own events; ids and clock times left out) as JSON Lines. Two files compared byte for byte say the
change kept every answer and row::

    python bench/http_rows_before_after.py --tree /tmp/main-checkout --out /tmp/before.jsonl
    python bench/http_rows_before_after.py --tree . --out /tmp/after.jsonl
    cmp /tmp/before.jsonl /tmp/after.jsonl

``--database-url postgresql+psycopg://…/EMPTY_DB`` runs the same on PostgreSQL instead (an empty database each run,
``createdb`` first): the rows are read with psycopg, values JSON has no type for written as text.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import tempfile

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLES = {"gate_check": "package_sha256, platform, id", "service_check": "check_id",
          "decision_day": "verdict, reason_codes", "audit_event": "id"}  # table: the order its rows are written in
VARYING = {"id", "gate_check_id", "created_at", "updated_at", "at", "day", "decided_at", "ts", "request_id",
           "duration_ms", "gate_version"}


def _stable(value):
    """A JSON answer or a row without what differs between any two runs (ids, clock times)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _stable(json.loads(value))
        except ValueError:
            return value
    return value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True, help="the checkout whose gate to run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--database-url", default=None, help="an empty PostgreSQL database instead of a fresh SQLite file")
    opts = ap.parse_args()
    tree = pathlib.Path(opts.tree).resolve()
    work = pathlib.Path(tempfile.mkdtemp(prefix="gate-http-rows-"))
    database_url = opts.database_url or f"sqlite:///{work / 'gate.db'}"
    env = {**os.environ, "PYTHONPATH": str(tree), "GATE_DATABASE_URL": database_url,
           "GATE_SPOOL_DIR": str(work), "GATE_RATE_LIMIT_CLIENT": "off", "GATE_RATE_LIMIT_ADDRESS": "off"}
    demo = subprocess.run([sys.executable, "-m", "gate.cli", "demo"], env=env, cwd=tree, capture_output=True,
                          text=True, check=True)
    store = next(c for c in map(json.loads, demo.stdout.splitlines()) if c["role"] == "store")
    with _connect(opts.database_url, work) as db:  # the demo's own events name temporary files: left out
        seeded = db.execute("SELECT coalesce(max(id), 0) AS seeded FROM audit_event").fetchone()["seeded"]
    sys.path.insert(0, str(ROOT))
    from bench.http_service import start_server
    from gate.services.signatures import HEADER, sign
    from tests.integration.http_support import multipart

    os.chdir(tree)  # `python -m gate.cli` in start_server imports the tree's gate
    server, url = start_server(env, "--workers", "1")
    lines = []
    try:
        packages = sorted((ROOT / "fixtures" / "apks").glob("*.apk"))

        def post(body: bytes, ctype: str, signature: str | None = None):
            r = requests.post(f"{url}/api/v1/hooks/store/upload", data=body, timeout=120, headers={
                "Authorization": f"Bearer {store['api_key']}", "Content-Type": ctype,
                HEADER: signature or sign(body, store["webhook_secret"])})
            return {"status": r.status_code, "answer": _stable(r.json())}

        for path in packages:
            lines.append({"upload": path.name, **post(*multipart(path, {"store_app_id": path.stem}))})
        lines.append({"again": packages[0].name, **post(*multipart(packages[0], {"store_app_id": packages[0].stem}))})
        body, ctype = multipart(packages[0], {"store_app_id": "bad-signature"})
        lines.append({"bad_signature": True, **post(body, ctype, sign(b"other", store["webhook_secret"]))})
        lines.append({"no_package": True, **post(b"--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}"
                                                 b"\r\n--b--\r\n", "multipart/form-data; boundary=b")})
    finally:
        server.terminate()
        server.wait(timeout=30)
    with _connect(opts.database_url, work) as db:
        for table, order in TABLES.items():
            since = f"WHERE id > {seeded} " if table == "audit_event" else ""
            for row in db.execute(f"SELECT * FROM {table} {since}ORDER BY {order}"):  # noqa: S608 - fixed names
                lines.append({"table": table, **_stable(dict(row))})
    pathlib.Path(opts.out).write_text("".join(json.dumps(x, ensure_ascii=False, sort_keys=True, default=str) + "\n"
                                              for x in lines), encoding="utf-8")
    print(f"{len(packages)} packages, {len(lines)} lines -> {opts.out}")


def _connect(database_url: str | None, work: pathlib.Path):
    """The database the server wrote, rows as mappings: the SQLite file in ``work``, or the PostgreSQL database."""
    if database_url is None:
        db = sqlite3.connect(work / "gate.db")
        db.row_factory = sqlite3.Row
        return db
    import psycopg
    from psycopg.rows import dict_row
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                           dbname=url.database, row_factory=dict_row)


if __name__ == "__main__":
    main()
