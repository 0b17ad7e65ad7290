"""Real packages at real sizes through every upload route of the real server (`gate serve`: gunicorn, gthread).

The real-world corpus (fixtures/corpus.py: 3, 6 and 18 MB apps no one here built, and the platform's 45 MB
framework-res.apk) goes through the store webhook as multipart — answered at once under GATE_SYNC_THRESHOLD_BYTES,
queued above it and decided by `gate worker`, which delivers the signed callback to a store endpoint on loopback —
and as package_url (always queued: the worker downloads it), through the developer API, and through the pre-check
page. Expected package names and
signers come from aapt's and apksigner's record (fixtures/apks/corpus_oracle.json). One server, one worker and
one store endpoint serve the whole module.

A slow client (1 MB/s) sending a 100 MB package must not stop other requests from being answered: two of them hold
connections to a one-process server while other requests are timed (real sockets).
"""

from __future__ import annotations

import functools
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import requests

from fixtures import corpus
from gate.services.signatures import HEADER, verify
from tests.integration.http_support import (
    FILINGS,
    HELLO,
    multipart,
    spool_files,
    start_gate_process,
    stop_process,
    wait_for,
)
from tests.loopback_store import StoreEndpoint

RECORD = corpus.recorded()
THRESHOLD = 10 * 1024 * 1024  # 3 and 6 MB answered at once; 18 and 45 MB queued
REAL = ["settings_apk-debug.apk", "ApiDemos-debug.apk", "appium-uiautomator2-server-v10.6.6.apk", "framework-res.apk"]
FILED = "ApiDemos-debug.apk"  # filed with its real package name and signing certificate; the others are not filed
FILED_LICENCE = "粤ICP备2024000003号-3A"
LOOPBACK = "127.0.0.0/8"


def _filings() -> list[dict]:
    aapt, signer = RECORD[FILED]["aapt"], RECORD[FILED]["apksigner"]["signers"][0]
    return FILINGS + [{
        "service_licence": FILED_LICENCE, "main_licence": FILED_LICENCE.rsplit("-", 1)[0], "service_type": "app",
        "service_name": "API Demos", "unit_name": "演示应用有限公司", "unit_nature": "企业", "status": "active",
        "approved_at": "2024-05-01", "blacklisted": False,
        "platforms": [{"platform": "android", "identifier": aapt["package"], "signature_md5": signer["cert_md5"]}],
        "domains": []}]


class _Served:
    def __init__(self, gate, endpoint, files_url):
        self.gate, self.endpoint, self.files_url = gate, endpoint, files_url

    def callback_for(self, check_id: str) -> dict:
        """The signed check.completed callback of ``check_id``, once the worker delivered it (HMAC checked)."""
        def delivered():
            for headers, body in list(self.endpoint.received):
                sent = json.loads(body)
                if sent.get("check_id") == check_id:
                    verify(headers.get(HEADER), body, self.gate.clients["store"].webhook_secret)
                    assert headers.get("X-Gate-Event") == "check.completed"
                    return sent
            return None
        return wait_for(delivered, timeout=120, what=f"the callback of {check_id}")


@pytest.fixture(scope="module")
def served(tmp_path_factory, corpus_apk):
    for name in REAL:
        corpus_apk(name)  # fail at once, clearly, when the corpus is not fetched
    tmp = tmp_path_factory.mktemp("real_size")
    database_url = f"sqlite:///{tmp / 'gate.db'}"
    files = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(corpus.cache_dir())))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    env = {"GATE_SYNC_THRESHOLD_BYTES": str(THRESHOLD), "GATE_FETCH_ALLOW_HTTP": "1",
           "GATE_FETCH_ALLOW_NETWORKS": LOOPBACK, "GATE_CALLBACK_BACKOFF_SECONDS": "0.2"}
    with StoreEndpoint() as endpoint:
        gate, server = start_gate_process(tmp, database_url, serve_args=("--workers", "2"), filings=_filings(),
                                          store_callback_url=endpoint.url, env=env)
        worker = subprocess.Popen([sys.executable, "-m", "gate.cli", "worker", "--poll", "0.1"],
                                  env={**_environ(gate), **env}, stdout=subprocess.DEVNULL,
                                  stderr=open(tmp / "worker.log", "wb"))
        try:
            yield _Served(gate, endpoint, f"http://127.0.0.1:{files.server_address[1]}")
        finally:
            stop_process(worker)
            stop_process(server)
            files.shutdown()
            gate.engine.dispose()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _environ(gate) -> dict:
    import os

    return {**os.environ, "GATE_DATABASE_URL": gate.settings.database_url, "GATE_SPOOL_DIR": gate.settings.spool_dir,
            "GATE_LOG_FORMAT": "text"}


def _assert_decided(answer: dict, name: str) -> None:
    """The decision names the package aapt names and the signers apksigner verified; filed or not decides it."""
    recorded = RECORD[name]
    assert answer["status"] == "done", answer
    assert answer["package"]["package"] == recorded["aapt"]["package"]
    verified = recorded["apksigner"]["verifies"]
    assert answer["package"]["signers"] == ([s["cert_sha256"] for s in recorded["apksigner"]["signers"]]
                                            if verified else [])
    if name == FILED:
        assert answer["filing"]["service_licence"] == FILED_LICENCE
        assert answer["verdict"] in ("allow", "review"), answer["reasons"]
    else:
        assert answer["verdict"] == "block", answer["reasons"]


def _decision(served, response: requests.Response, name: str, *, poll_role: str | None = None,
              queued: bool = False) -> dict:
    size = corpus.entry(name).size
    if size <= THRESHOLD and not queued:
        assert response.status_code == 200, response.text
        return response.json()
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    if poll_role is None:
        return served.callback_for(queued["check_id"])
    url = served.gate.url + queued["status_url"]
    return wait_for(lambda: (lambda a: a if a.get("status") == "done" else None)(
        requests.get(url, headers=served.gate.headers(poll_role), timeout=30).json()),
        timeout=120, what=f"check {queued['check_id']}")


@pytest.mark.parametrize("name", REAL)
def test_store_webhook_multipart(served, name):
    g = served.gate
    body, content_type = multipart(corpus.path(name), {"store_app_id": f"mp-{name}"})
    r = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=body, timeout=120,
                      headers=g.signed("store", body, content_type))
    _assert_decided(_decision(served, r, name), name)


@pytest.mark.parametrize("name", REAL)
def test_store_webhook_package_url(served, name):
    g = served.gate
    body = json.dumps({"package_url": f"{served.files_url}/{urllib.parse.quote(name)}",
                       "sha256": corpus.entry(name).sha256, "metadata": {"store_app_id": f"url-{name}"}}).encode()
    r = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=body, timeout=120,
                      headers=g.signed("store", body, "application/json"))
    _assert_decided(_decision(served, r, name, queued=True), name)  # a package_url is always the worker's


@pytest.mark.parametrize("name", REAL)
def test_developer_api(served, name):
    g = served.gate
    body, content_type = multipart(corpus.path(name))
    r = requests.post(f"{g.url}/api/v1/checks", data=body, timeout=120,
                      headers=g.headers("developer", **{"Content-Type": content_type}))
    _assert_decided(_decision(served, r, name, poll_role="developer"), name)


@pytest.mark.parametrize("name", REAL)
def test_precheck_page(served, name):
    body, content_type = multipart(corpus.path(name))
    r = requests.post(f"{served.gate.url}/precheck", data=body, timeout=120, headers={"Content-Type": content_type})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert f'value="{RECORD[name]["aapt"]["package"]}"' in r.text  # 包名, ready to copy
    assert ("通过" in r.text or "需人工复核" in r.text) if name == FILED else "拦截" in r.text


def test_chunked_upload_of_a_real_package(served):
    g, name = served.gate, "ApiDemos-debug.apk"
    body, content_type = multipart(corpus.path(name), {"store_app_id": f"chunked-{name}"})
    chunks = (body[i:i + 256 * 1024] for i in range(0, len(body), 256 * 1024))  # no Content-Length
    r = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=chunks, timeout=120,
                      headers=g.signed("store", body, content_type))
    _assert_decided(_decision(served, r, name), name)


# --- slow clients ------------------------------------------------------------------------------------------------

class SlowUpload:
    """A client on a 1 MB/s line sending a 100 MB package: real socket, real multipart headers, trickled body."""

    def __init__(self, url: str, headers: dict, *, total: int = 100 * 1024 * 1024, rate: int = 1024 * 1024):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        boundary = "slowboundary"
        self.head = (f'--{boundary}\r\nContent-Disposition: form-data; name="package"; filename="big.apk"\r\n'
                     f"Content-Type: application/vnd.android.package-archive\r\n\r\n").encode()
        lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
                 f"Content-Type: multipart/form-data; boundary={boundary}", f"Content-Length: {total}",
                 *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + self.head)
        self.rate, self.sent, self._stop = rate, 0, threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        piece = b"\0" * (self.rate // 20)
        while not self._stop.wait(0.05):
            try:
                self.sock.sendall(piece)
            except OSError:
                return
            self.sent += len(piece)

    def abandon(self) -> None:
        self._stop.set()
        self.thread.join()
        self.sock.close()


def test_slow_uploads_do_not_stop_other_requests(tmp_path):
    # One worker process: whatever keeps the service answering is the thread model, not a second process.
    g, server = start_gate_process(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}",
                                   serve_args=("--workers", "1", "--threads", "4"))
    slow = []
    try:
        slow = [SlowUpload(f"{g.url}/api/v1/checks", g.headers("developer")) for _ in range(2)]
        time.sleep(1.0)  # both are well into their bodies
        for _ in range(3):
            started = time.monotonic()
            assert requests.get(f"{g.url}/healthz", timeout=10).status_code == 200
            page = requests.get(f"{g.url}/precheck", timeout=10)
            assert page.status_code == 200 and "APP备案预检" in page.text
            r = g.upload(HELLO)
            assert r.status_code == 200 and r.json()["verdict"] == "allow", r.text
            assert time.monotonic() - started < 5, "requests waited behind the slow uploads"
        assert all(s.thread.is_alive() and s.sent >= 1024 * 1024 for s in slow)  # still trickling: real overlap
    finally:
        for s in slow:
            s.abandon()
        try:
            # An abandoned upload leaves nothing behind once the server notices the closed connection.
            wait_for(lambda: spool_files(g) == [], timeout=30, what="the abandoned uploads' spools to go")
        finally:
            stop_process(server)
            g.engine.dispose()
