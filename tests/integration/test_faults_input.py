"""Hostile and odd input, reproduced the way it was found: invented HTTP methods against /metrics, a gunicorn
worker killed under `--workers 1`, trickling and misbehaving package servers on loopback (allowed through
GATE_FETCH_ALLOW_NETWORKS), non-ASCII hosts, numbers and strings no column can hold, far-future listing events,
client administration, and the pages' security headers. docs/faults.md lists the scenarios."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest
import requests

from gate.services.fetch import FetchPolicy, fetch_package, parse_networks
from gate.services.uploads import UploadError
from tests.integration.http_support import HELLO, count, multipart, run_queued, start_gate, wait_for
from tests.loopback_store import StoreEndpoint

LOOPBACK = "127.0.0.0/8,::1/128"
HELLO_BYTES = HELLO.read_bytes()
HELLO_DIGEST = hashlib.sha256(HELLO_BYTES).hexdigest()


@pytest.fixture
def any_gate(tmp_path, database_url):
    """The service on SQLite and on PostgreSQL, package_url and callbacks allowed to loopback over http."""
    g, server = start_gate(tmp_path, database_url, fetch_allow_http=True, fetch_allow_networks=LOOPBACK,
                           fetch_deadline_seconds=3)
    yield g
    server.shutdown()
    g.engine.dispose()


@pytest.fixture
def lite_gate(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, fetch_allow_http=True, fetch_allow_networks=LOOPBACK,
                           fetch_deadline_seconds=3)
    yield g
    server.shutdown()
    g.engine.dispose()


# --- a raw package server: each handler writes the bytes of one misbehaviour -------------------------------------

class RawServer:
    """Answers every connection with ``respond(conn, request_bytes)``; records the Host header of each request."""

    def __init__(self, respond, family=socket.AF_INET, host="127.0.0.1") -> None:
        self.hosts: list[str] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                for line in data.split(b"\r\n"):
                    if line.lower().startswith(b"host:"):
                        outer.hosts.append(line[5:].strip().decode("latin-1"))
                try:
                    respond(self.request, data)
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            address_family = family
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok_package(conn, _request):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(HELLO_BYTES)
                 + HELLO_BYTES)


def trickle(conn, _request):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(40):  # one byte every half second: never a read timeout, never done
        conn.sendall(b"x")
        time.sleep(0.5)


def short_body(conn, _request):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + HELLO_BYTES[:500])


def bad_chunks(conn, _request):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"10\r\n0123456789abcdef\r\nzz-not-hex\r\n")


def superscript_length(conn, _request):
    conn.sendall("HTTP/1.1 200 OK\r\nContent-Length: ²\r\nConnection: close\r\n\r\n".encode()
                 + HELLO_BYTES[:100])


def url_upload(g, url: str, sha256: str = HELLO_DIGEST, query: str = "", metadata: dict | None = None):
    body = json.dumps({"package_url": url, "sha256": sha256, "metadata": metadata or {}}).encode()
    return requests.post(f"{g.url}/api/v1/hooks/store/upload{query}", data=body, timeout=60,
                         headers=g.signed("store", body, "application/json"))


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- 9: a trickling package server -----------------------------------------------------------------------------

def test_trickling_package_server_is_cut_at_the_deadline(lite_gate):
    server = RawServer(trickle)
    try:
        started = time.monotonic()
        r = url_upload(lite_gate, f"http://127.0.0.1:{server.port}/slow.apk", query="?async=1")
        answered = time.monotonic() - started  # the request never downloads: queued at once
        started = time.monotonic()
        answer, job = run_queued(lite_gate, r)
        took = time.monotonic() - started
    finally:
        server.close()
    assert answered < 2, answered
    # GATE_FETCH_DEADLINE_SECONDS=3 here: the worker's download is cut and retried later (the server may recover)
    assert took < 3 + 2, took
    assert answer["status"] == "queued" and job["status"] == "queued" and "package_url_unreachable" in job["last_error"]
    assert os.listdir(lite_gate.settings.spool_dir) == []


def test_trickling_package_server_is_dropped_below_the_minimum_rate(tmp_path):
    server = RawServer(trickle)
    policy = FetchPolicy(max_bytes=1 << 20, allow_http=True, allow_networks=parse_networks(LOOPBACK),
                         deadline=60, min_rate=1000, rate_grace=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(UploadError) as refused:
            fetch_package(f"http://127.0.0.1:{server.port}/slow.apk", expected_sha256=HELLO_DIGEST, policy=policy,
                          directory=str(tmp_path))
        took = time.monotonic() - started
    finally:
        server.close()
    assert refused.value.code == "package_url_unreachable" and "bytes per second" in refused.value.message
    assert took < 4, took
    assert list(tmp_path.iterdir()) == []  # the partial spool is gone


# --- 11: downloads that break ------------------------------------------------------------------------------------

@pytest.mark.parametrize("respond", [short_body, bad_chunks, superscript_length])
def test_broken_downloads_are_package_url_unreachable(any_gate, respond):
    server = RawServer(respond)
    try:
        r = url_upload(any_gate, f"http://127.0.0.1:{server.port}/broken.apk")
        answer, job = run_queued(any_gate, r)
    finally:
        server.close()
    assert job["status"] == "queued" and "package_url_unreachable" in job["last_error"], job  # retried later
    assert answer["status"] == "queued" and os.listdir(any_gate.settings.spool_dir) == []


# --- 10: non-ASCII and IPv6 hosts ----------------------------------------------------------------------------------

def test_full_width_and_ideographic_hosts_are_fetched_as_their_ascii_form(any_gate):
    server = RawServer(ok_package)
    try:
        # Full-width digits, a full-width full stop and an ideographic one: UTS #46 maps them all to 127.0.0.1.
        r = url_upload(any_gate, f"http://１２７．０。０．１:{server.port}/hello.apk")
        answer, _ = run_queued(any_gate, r)
    finally:
        server.close()
    assert answer["status"] == "done" and answer["verdict"] == "allow", answer
    assert server.hosts == [f"127.0.0.1:{server.port}"]


def test_ipv6_literal_host_header_has_brackets(tmp_path):
    try:
        server = RawServer(ok_package, family=socket.AF_INET6, host="::1")
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    policy = FetchPolicy(max_bytes=1 << 20, allow_http=True, allow_networks=parse_networks(LOOPBACK))
    try:
        spooled = fetch_package(f"http://[::1]:{server.port}/hello.apk", expected_sha256=HELLO_DIGEST,
                                policy=policy, directory=str(tmp_path))
    finally:
        server.close()
    spooled.discard()
    assert server.hosts == [f"[::1]:{server.port}"]


def test_idn_host_is_resolved_checked_and_sent_in_punycode(tmp_path):
    server = RawServer(ok_package)
    asked = []

    def resolver(host, port):  # the only stand-in: no DNS here answers for 示例.中国
        import ipaddress

        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]
    policy = FetchPolicy(max_bytes=1 << 20, allow_http=True, allow_networks=parse_networks(LOOPBACK))
    try:
        spooled = fetch_package(f"http://下载.示例.中国:{server.port}/hello.apk", expected_sha256=HELLO_DIGEST,
                                policy=policy, directory=str(tmp_path), resolver=resolver)
    finally:
        server.close()
    spooled.discard()
    expected = "下载.示例.中国".encode("idna").decode("ascii")  # the stdlib's IDNA 2003 codec as the oracle
    assert asked == [expected] and server.hosts == [f"{expected}:{server.port}"]


def test_unmappable_host_is_refused_clearly(lite_gate):
    r = url_upload(lite_gate, "http://exa\u200bmple\u0301\u0000.cn/a.apk")
    assert r.status_code == 400 and error_code(r) in ("package_url_invalid",), r.text


def test_callback_to_a_full_width_host_is_delivered_and_a_broken_one_fails(lite_gate):
    from gate.services.callbacks import queue_callback
    from gate.services.worker import Worker

    g = lite_gate
    store_id = g.clients["store"].id
    with StoreEndpoint() as store:
        port = store.url.split(":")[2].split("/")[0]
        with g.engine.begin() as conn:
            queue_callback(conn, client_id=store_id, check_id="chk_fw", url=f"http://１２７．０．０．１:{port}/cb",
                           body={"check_id": "chk_fw"})
            queue_callback(conn, client_id=store_id, check_id="chk_bad", url="http://\u0301bad.例子.cn/cb",
                           body={"check_id": "chk_bad"})
        worker = Worker(g.engine, g.settings)
        assert worker.deliver_callbacks() == 1  # the round goes on past the broken URL
        assert [json.loads(b)["check_id"] for _, b in store.received] == ["chk_fw"]
        assert store.received[0][0]["Host"] == f"127.0.0.1:{port}"
    with g.engine.connect() as conn:
        from sqlalchemy import text

        rows = dict(conn.execute(text("SELECT check_id, attempts FROM callback_delivery")).all())
    assert rows == {"chk_fw": 1, "chk_bad": 1}  # the broken one counted an attempt and is retried, then failed


# --- 7: invented HTTP methods ----------------------------------------------------------------------------------------

def test_metrics_labels_stay_bounded_under_invented_methods(lite_gate):
    with requests.Session() as session:
        for n in range(300):
            session.request(f"X{n}", f"{lite_gate.url}/healthz", timeout=10)
    scrape = requests.get(f"{lite_gate.url}/metrics", timeout=10).text
    methods = {line.split('method="')[1].split('"')[0] for line in scrape.splitlines()
               if line.startswith("gate_http_requests_total{")}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, sorted(methods)[:10]
    assert "other" in methods


# --- 8: one gunicorn worker killed ---------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def test_single_worker_server_survives_its_worker_being_killed(tmp_path, sqlite_url):
    from tests.integration.http_support import prepare_database

    prepare_database(sqlite_url, tmp_path).dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(GATE_DATABASE_URL=sqlite_url, GATE_LOG_FORMAT="json")
    master = subprocess.Popen([sys.executable, "-m", "gate.cli", "serve", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/healthz"

    def healthy():
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False
    try:
        wait_for(healthy, timeout=60, what="gunicorn")
        worker, = _children(master.pid)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: _children(master.pid) and _children(master.pid) != [worker] or master.poll() is not None,
                 timeout=30, what="a new worker or the master's exit")
        assert master.poll() is None, "the master died with its only worker"
        wait_for(healthy, timeout=60, what="the new worker")
    finally:
        master.terminate()
        master.wait(timeout=30)


# --- 12: numbers and strings no column can hold --------------------------------------------------------------------

def _preinstall(g, body: bytes, content_type: str):
    return requests.post(f"{g.url}/api/v1/preinstall/checks", data=body, timeout=30,
                         headers=g.headers("oem", **{"Content-Type": content_type}))


def test_preinstall_list_with_values_no_column_holds_is_answered_not_crashed(any_gate):
    sha = "ab" * 32
    items = ('[{"package": "cn.a.b", "cert_sha256": "SHA", "version_code": Infinity},'
             ' {"package": "cn.a.c", "cert_sha256": "SHA", "version_code": 1e400},'
             ' {"package": "cn.a.d", "cert_sha256": "SHA", "version_code": 1.5},'
             ' {"package": "cn.\\ud800.e", "cert_sha256": "SHA"},'
             ' {"package": "cn.a\\u0000.f", "cert_sha256": "SHA"}]').replace("SHA", sha)
    r = _preinstall(any_gate, items.encode(), "application/json")
    assert r.status_code == 200, r.text
    answers = r.json()["items"]
    assert [a["verdict"] for a in answers] == ["block"] * 5
    assert {a["reasons"][0]["code"] for a in answers} == {"item_invalid"}
    assert answers[3]["package"] is None and answers[4]["package"] is None  # not echoed: no column holds them
    huge = "package,cert_sha256\ncn.a.b," + "a" * 200_000 + "\n"
    r = _preinstall(any_gate, huge.encode(), "text/csv")
    assert r.status_code == 400 and error_code(r) == "csv_invalid", r.text


@pytest.mark.parametrize("value", ["\ud800", "entity\x00"])
def test_metadata_with_a_surrogate_or_nul_is_metadata_invalid(any_gate, value):
    body, content_type = multipart(HELLO, {"developer_entity": value})  # JSON-escaped: \ud800, \u0000
    r = requests.post(f"{any_gate.url}/api/v1/hooks/store/upload", data=body, timeout=30,
                      headers=any_gate.signed("store", body, content_type))
    assert r.status_code == 400 and error_code(r) == "metadata_invalid", r.text
    assert count(any_gate.engine, "service_check") == 0


@pytest.mark.parametrize("content", [HELLO_BYTES, b"not a package at all"])
def test_nul_in_an_upload_filename_on_the_precheck_page(any_gate, content):
    # An unreadable file has no package name: the audit event is about its file name, NUL and all.
    fields = {"package": ("hello\x00.apk", content, "application/vnd.android.package-archive")}
    r = requests.post(f"{any_gate.url}/precheck", files=fields, timeout=30)
    assert r.status_code == 200 and 'class="verdict' in r.text, (r.status_code, r.text[-1500:])
    assert "\x00" not in r.text


# --- 13: spreadsheet formulas in the CSV report -----------------------------------------------------------------------

def test_preinstall_csv_report_does_not_carry_formulas(tmp_path):
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps([
        {"package": "=HYPERLINK(\"http://x\",\"y\")", "cert_sha256": "+" + "a" * 63},
        {"package": "@SUM(A1)", "cert_md5": "-" + "b" * 31}]), encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    subprocess.run([sys.executable, "-m", "gate.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "gate.cli", "preinstall", "scan", str(listing), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert (out / "preinstall-report.csv").exists(), done.stderr
    with open(out / "preinstall-report.csv", encoding="utf-8-sig", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells


# --- 14: a listing event from the far future ---------------------------------------------------------------------------

def _events(g, events):
    body = json.dumps({"events": events}).encode()
    return requests.post(f"{g.url}/api/v1/hooks/store/listings", data=body, timeout=30,
                         headers=g.signed("store", body, "application/json"))


def test_far_future_listing_event_is_refused_and_cannot_freeze_the_listing(any_gate):
    r = _events(any_gate, [{"package": "cn.a.frozen", "action": "listed", "at": "9999-12-31T23:59:59+08:00"}])
    assert r.status_code == 400 and error_code(r) == "event_invalid", r.text
    r = _events(any_gate, [{"package": "cn.a.frozen", "action": "listed", "at": "2025-06-01T10:00:00+08:00"}])
    assert r.json()["listed"] == 1 and r.json()["stale"] == 0


# --- 15: client administration ----------------------------------------------------------------------------------------

def _cli(g, *args):
    env = {**os.environ, "GATE_DATABASE_URL": g.settings.database_url}
    return subprocess.run([sys.executable, "-m", "gate.cli", "clients", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_disabled_client_is_refused_and_its_callbacks_wait(lite_gate):
    from gate.services.callbacks import queue_callback
    from gate.services.worker import Worker

    g = lite_gate
    assert _cli(g, "disable", "store-client").returncode == 0
    r = requests.get(f"{g.url}/api/v1/badge/cn.a.b", headers=g.headers("store"), timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "client_disabled"
    assert "gate clients enable store-client" in r.json()["error"]["message"]
    with StoreEndpoint() as store:
        with g.engine.begin() as conn:
            queue_callback(conn, client_id=g.clients["store"].id, check_id="chk_wait", url=store.url, body={})
        worker = Worker(g.engine, g.settings)
        assert worker.deliver_callbacks() == 0 and store.received == []
        assert _cli(g, "enable", "store-client").returncode == 0
        assert worker.deliver_callbacks() == 1 and len(store.received) == 1
    assert requests.get(f"{g.url}/api/v1/badge/cn.a.b", headers=g.headers("store"), timeout=10).status_code != 401
    assert _cli(g, "disable", "no-such-client").returncode != 0


def test_rotated_key_and_secret_replace_the_old_ones(lite_gate):
    from gate.services.signatures import HEADER, sign

    g = lite_gate
    rotated = _cli(g, "rotate-key", "store-client")
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.split("api_key:")[1].strip()
    assert requests.get(f"{g.url}/api/v1/badge/cn.a.b", headers=g.headers("store"), timeout=10).status_code == 401
    fresh = {"Authorization": f"Bearer {new_key}"}
    assert requests.get(f"{g.url}/api/v1/badge/cn.a.b", headers=fresh, timeout=10).status_code != 401
    secret = _cli(g, "rotate-secret", "store-client").stdout.split("webhook_secret:")[1].strip()
    body = json.dumps({"events": []}).encode()
    old = requests.post(f"{g.url}/api/v1/hooks/store/listings", data=body, timeout=10, headers={
        **fresh, "Content-Type": "application/json", HEADER: sign(body, g.clients["store"].webhook_secret)})
    new = requests.post(f"{g.url}/api/v1/hooks/store/listings", data=body, timeout=10, headers={
        **fresh, "Content-Type": "application/json", HEADER: sign(body, secret)})
    assert old.status_code == 401 and new.status_code == 200, (old.text, new.text)


def test_client_with_a_128_character_name_can_check(any_gate):
    from gate.services.auth import create_client
    from gate.services.signatures import HEADER, sign

    client = create_client(any_gate.engine, name="商" * 128, role="store")
    body, content_type = multipart(HELLO, {"store_app_id": "long"})
    r = requests.post(f"{any_gate.url}/api/v1/hooks/store/upload", data=body, timeout=30, headers={
        "Authorization": f"Bearer {client.api_key}", "Content-Type": content_type,
        HEADER: sign(body, client.webhook_secret)})
    assert r.status_code == 200 and r.json()["verdict"] == "allow", r.text


# --- 16: security headers on every response ------------------------------------------------------------------------

def test_pages_and_api_answers_carry_security_headers(lite_gate):
    for path in ("/", "/healthz", "/api/v1/badge/cn.a.b", "/nowhere"):
        r = requests.get(f"{lite_gate.url}{path}", timeout=10)
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        policy = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
