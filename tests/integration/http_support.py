"""Shared pieces of the HTTP service tests (no tests here): a migrated database with filings for the fixture APKs,
API clients of every role, and the real app served by werkzeug on loopback in a thread — or by `gate serve`
(gunicorn) as a separate process, for what only the real server shows (worker model, slow clients, real sizes)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace

import requests
from werkzeug.serving import make_server

from gate.config import Settings
from gate.services.signatures import HEADER, sign

ROOT = pathlib.Path(__file__).resolve().parents[2]
APKS = ROOT / "fixtures" / "apks"
HELLO = APKS / "hello_zh.apk"
ORACLE = json.loads((APKS / "oracle.json").read_text())["apks"]
HELLO_MD5 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]
HELLO_SHA256 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_sha256"]
HELLO_PACKAGE = ORACLE["hello_zh.apk"]["aapt"]["package"]
LEGACY_PACKAGE = ORACLE["legacy_v1.apk"]["aapt"]["package"]
HELLO_LICENCE = "京ICP备2024000001号-1A"
LEGACY_LICENCE = "沪ICP备2023000002号-2A"

FILINGS = [
    {"service_licence": HELLO_LICENCE, "main_licence": "京ICP备2024000001号", "service_type": "app",
     "service_name": "你好门禁", "unit_name": "门禁示例科技有限公司", "unit_nature": "企业", "status": "active",
     "approved_at": "2024-03-01", "blacklisted": False,
     "platforms": [{"platform": "android", "identifier": HELLO_PACKAGE, "signature_md5": HELLO_MD5}],
     "domains": ["hello-gate.cn", "203.0.113.7"]},
    {"service_licence": LEGACY_LICENCE, "main_licence": "沪ICP备2023000002号", "service_type": "app",
     "service_name": "Legacy", "unit_name": "旧应用有限公司", "unit_nature": "企业", "status": "cancelled",
     "approved_at": "2023-01-01", "blacklisted": False,
     "platforms": [{"platform": "android", "identifier": LEGACY_PACKAGE,
                    "signature_md5": ORACLE["legacy_v1.apk"]["apksigner"]["signers"][0]["cert_md5"]}],
     "domains": []},
]


def prepare_database(url: str, tmp_path: pathlib.Path, filings: list[dict] = FILINGS):
    """Migrate ``url``, import ``filings``, and return an engine."""
    from gate.db.engine import make_engine, open_database
    from gate.db.filings import import_into_database
    from gate.db.migrate import upgrade

    setup = make_engine(url)
    upgrade(setup)
    setup.dispose()
    engine = open_database(url)
    path = tmp_path / "filings.json"
    path.write_text(json.dumps(filings, ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])
    return engine


@dataclass
class Gate:
    """A running service: its URL, settings, engine and one client per role."""

    url: str
    settings: Settings
    engine: object
    clients: dict = field(default_factory=dict)

    def headers(self, role: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.clients[role].api_key}", **extra}

    def signed(self, role: str, body: bytes, content_type: str, **extra) -> dict:
        return self.headers(role, **{HEADER: sign(body, self.clients[role].webhook_secret),
                                     "Content-Type": content_type}, **extra)

    def upload(self, path=HELLO, *, role="store", metadata=None, query="", headers=None, data=None):
        """A signed multipart upload to the store webhook (body built first, so the HMAC covers it exactly)."""
        body, content_type = multipart(path, metadata) if data is None else data
        h = self.signed(role, body, content_type)
        h.update(headers or {})
        return requests.post(f"{self.url}/api/v1/hooks/store/upload{query}", data=body, headers=h, timeout=30)


def multipart(path, metadata=None) -> tuple[bytes, str]:
    fields = {"package": (pathlib.Path(path).name, pathlib.Path(path).read_bytes(),
                          "application/vnd.android.package-archive")}
    if metadata is not None:
        fields["metadata"] = (None, json.dumps(metadata))
    request = requests.Request("POST", "http://x/", files=fields).prepare()
    return request.body, request.headers["Content-Type"]


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _database_and_clients(tmp_path, database_url: str, filings: list[dict], callback_url: str | None = None):
    from gate.services.auth import create_client

    engine = prepare_database(database_url, tmp_path, filings)
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    clients = {role: create_client(engine, name=f"{role}-client", role=role,
                                   callback_url=callback_url if role == "store" else None)
               for role in ("store", "oem", "developer", "admin")}
    return engine, str(spool), clients


def start_gate(tmp_path, database_url: str, *, filings: list[dict] = FILINGS, **overrides) -> tuple[Gate, object]:
    from gate.api.app import create_app

    engine, spool, clients = _database_and_clients(tmp_path, database_url, filings)
    settings = replace(Settings(database_url=database_url, spool_dir=spool, log_format="text"), **overrides)
    server, url = serve(create_app(settings))
    return Gate(url, settings, engine, clients), server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gate_process(tmp_path, database_url: str, *, serve_args=(), filings: list[dict] = FILINGS,
                       store_callback_url: str | None = None, env: dict | None = None
                       ) -> tuple[Gate, subprocess.Popen]:
    """`gate serve` (gunicorn) in its own process on a free loopback port; ``env`` adds GATE_* settings.

    Stop it with ``stop_process``; its stderr (access log, errors) goes to ``tmp_path / "serve.log"``.
    """
    from gate.config import load_settings

    engine, spool, clients = _database_and_clients(tmp_path, database_url, filings, store_callback_url)
    environ = {**os.environ, "GATE_DATABASE_URL": database_url, "GATE_SPOOL_DIR": spool, "GATE_LOG_FORMAT": "text",
               **(env or {})}
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", "--port", str(port), *serve_args],
                                env=environ, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or the workers are still booting
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise AssertionError("gate serve did not start:\n" + (tmp_path / "serve.log").read_text(errors="replace"))
        time.sleep(0.2)
    settings = load_settings({k: v for k, v in environ.items() if k.startswith("GATE_")})
    return Gate(url, settings, engine, clients), proc


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def spool_files(g: Gate) -> list[str]:
    return sorted(p.name for p in pathlib.Path(g.settings.spool_dir).iterdir())


def count(engine, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_queued(g: Gate, response: requests.Response, *, role: str = "store") -> tuple[dict, dict]:
    """A queued check (202) run by an in-process worker, as `gate worker` would: (GET status answer, job row)."""
    from sqlalchemy import text

    from gate.services.worker import Worker

    assert response.status_code == 202, response.text
    queued = response.json()
    Worker(g.engine, g.settings).run_once()
    with g.engine.connect() as conn:
        job = conn.execute(text("SELECT status, attempts, last_error FROM job WHERE check_id = :c"),
                           {"c": queued["check_id"]}).mappings().one()
    answer = requests.get(g.url + queued["status_url"], headers=g.headers(role), timeout=30).json()
    return answer, dict(job)
