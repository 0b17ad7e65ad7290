"""Operations and the developer page: metrics, health, unexpected errors as JSON, package_url SSRF through the
webhook, the pre-check page in both languages, and the real gunicorn server."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.integration.http_support import (
    HELLO,
    HELLO_LICENCE,
    count,
    free_port,
    multipart,
    prepare_database,
    run_queued,
    serve,
    spool_files,
    start_gate,
)


def test_metrics_count_decisions_and_queue(gate):
    assert gate.upload().status_code == 200
    text = requests.get(f"{gate.url}/metrics").text
    assert 'gate_checks_total{verdict="allow"}' in text
    assert "gate_jobs{status=\"queued\"} 0.0" in text
    assert "gate_http_request_duration_seconds_bucket" in text
    assert "gate_upload_bytes_total" in text


def test_unexpected_error_is_json_with_request_id(tmp_path, sqlite_url):
    from gate.api.app import create_app
    from gate.config import Settings

    prepare_database(sqlite_url, tmp_path).dispose()
    app = create_app(Settings(database_url=sqlite_url, log_format="text"))
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    server, url = serve(app)
    try:
        r = requests.get(f"{url}/boom", headers={"X-Request-Id": "req-42"})
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "internal_error"
        assert "req-42" in r.json()["error"]["message"] and "Traceback" not in r.text
    finally:
        server.shutdown()


def test_healthz_reports_a_missing_schema(tmp_path):
    from gate.api.app import create_app
    from gate.config import Settings

    server, url = serve(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}", log_format="text")))
    try:
        r = requests.get(f"{url}/healthz")
        assert r.status_code == 503 and r.json()["database"]["code"] == "schema_outdated"
    finally:
        server.shutdown()


class PackageHost(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = HELLO.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def package_host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PackageHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hello_zh.apk"
    server.shutdown()


def _url_upload(g, url, sha256):
    body = json.dumps({"package_url": url, "sha256": sha256, "metadata": {"store_app_id": "U1"}}).encode()
    return requests.post(f"{g.url}/api/v1/hooks/store/upload", data=body,
                         headers=g.signed("store", body, "application/json"))


def test_package_url_allowed_only_through_the_allowlist(tmp_path, sqlite_url, package_host):
    digest = hashlib.sha256(HELLO.read_bytes()).hexdigest()
    g, server = start_gate(tmp_path, sqlite_url)  # defaults: https only, no private addresses
    try:
        r = _url_upload(g, package_host, digest)
        assert r.status_code == 400 and r.json()["error"]["code"] == "package_url_invalid"  # http refused
        for url in ("https://127.0.0.1/x.apk", "https://169.254.169.254/latest/meta-data", "https://[::1]/a",
                    "https://10.0.0.8/a.apk"):
            r = _url_upload(g, url, digest)
            assert r.status_code == 400 and r.json()["error"]["code"] == "package_url_forbidden", url
        assert count(g.engine, "service_check") == 0 and spool_files(g) == []
    finally:
        server.shutdown()
    (tmp_path / "allowed").mkdir()
    g, server = start_gate(tmp_path / "allowed", f"sqlite:///{tmp_path / 'allowed.db'}", fetch_allow_http=True,
                           fetch_allow_networks="127.0.0.0/8")
    try:
        answer, _ = run_queued(g, _url_upload(g, package_host, digest))  # downloaded by the worker
        assert answer["status"] == "done" and answer["filing"]["service_licence"] == HELLO_LICENCE, answer
        answer, job = run_queued(g, _url_upload(g, package_host, "0" * 64))
        assert answer["status"] == "failed" and "sha256_mismatch" in answer["error"]["message"], answer
        assert job["status"] == "failed" and spool_files(g) == []
    finally:
        server.shutdown()


def test_precheck_page_in_chinese_and_english(gate):
    page = requests.get(f"{gate.url}/")
    assert page.status_code == 200 and "APP备案预检" in page.text and 'lang="zh-CN"' in page.text
    assert "APP filing pre-check" in requests.get(f"{gate.url}/precheck?lang=en").text
    body, content_type = multipart(HELLO)
    result = requests.post(f"{gate.url}/precheck", data=body, headers={"Content-Type": content_type})
    assert result.status_code == 200
    assert "0176d8d0130a8b0d3729e7833d7cb8cc" in result.text  # 签名MD5, copyable
    assert "cn.filinggate.hello" in result.text and "通过" in result.text and HELLO_LICENCE in result.text
    english = requests.post(f"{gate.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type})
    assert "Decision" in english.text and ">allow<" in english.text
    assert spool_files(gate) == []


def test_real_gunicorn_serves_an_upload(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    env = {**os.environ, "GATE_DATABASE_URL": sqlite_url, "GATE_LOG_FORMAT": "json"}
    created = subprocess.run([sys.executable, "-m", "gate.cli", "clients", "create", "--name", "s", "--role",
                              "store", "--json"], env=env, capture_output=True, text=True, check=True)
    client = json.loads(created.stdout)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # workers still importing on a loaded machine
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not start"
            time.sleep(0.2)
        from gate.services.signatures import HEADER, sign

        body, content_type = multipart(HELLO)
        r = requests.post(f"{url}/api/v1/hooks/store/upload", data=body, timeout=30, headers={
            "Authorization": f"Bearer {client['api_key']}", "Content-Type": content_type,
            HEADER: sign(body, client["webhook_secret"])})
        assert r.status_code == 200 and r.json()["verdict"] == "allow"
        metrics = "".join(requests.get(f"{url}/metrics").text for _ in range(4))  # whichever worker answers
        assert 'gate_checks_total{verdict="allow"} 1.0' in metrics
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b'"request_id"' in err  # JSON access lines with the request id


@pytest.mark.parametrize("path", ["/api/v1/badge/%00", "/api/v1/filings/%00", "/api/v1/checks/a%00b"])
def test_nul_in_a_path_is_a_clear_400(gate, path):
    r = requests.get(gate.url + path, headers=gate.headers("admin"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "path_invalid"
