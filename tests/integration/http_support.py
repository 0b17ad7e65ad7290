"""Shared pieces of the HTTP service tests (no tests here): a migrated database with filings for the fixture APKs,
API clients of every role, and the real app served by werkzeug on loopback in a thread."""

from __future__ import annotations

import json
import pathlib
import threading
import time
from dataclasses import dataclass, field, replace

import requests
from werkzeug.serving import make_server

from gate.config import Settings
from gate.platform_hooks.signatures import HEADER, sign

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


def prepare_database(url: str, tmp_path: pathlib.Path):
    """Migrate ``url``, import FILINGS, and return an engine."""
    from gate.store.engine import make_engine, open_database
    from gate.store.filings import import_into_database
    from gate.store.migrate import upgrade

    setup = make_engine(url)
    upgrade(setup)
    setup.dispose()
    engine = open_database(url)
    path = tmp_path / "filings.json"
    path.write_text(json.dumps(FILINGS, ensure_ascii=False), encoding="utf-8")
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


def start_gate(tmp_path, database_url: str, **overrides) -> tuple[Gate, object]:
    from gate.platform_hooks.app import create_app
    from gate.platform_hooks.auth import create_client

    engine = prepare_database(database_url, tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    settings = replace(Settings(database_url=database_url, spool_dir=str(spool), log_format="text"), **overrides)
    clients = {role: create_client(engine, name=f"{role}-client", role=role,
                                   callback_url=None) for role in ("store", "oem", "developer", "admin")}
    server, url = serve(create_app(settings))
    return Gate(url, settings, engine, clients), server


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
