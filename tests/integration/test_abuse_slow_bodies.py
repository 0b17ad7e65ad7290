"""Slow request bodies against a default `gate serve` (2 processes × 8 request threads), with real sockets trickling
bytes, as the outside review found it: 17 connections sending a 10 MB `POST /precheck` a byte at a time timed out
every route, `/healthz` included, and 20 trickled uploads with a valid key and a bad signature held all 16 threads.
Bodies are now received before a request thread is taken (gate.api.buffering)."""

from __future__ import annotations

import os
import socket
import time

import requests

from tests.integration.http_support import HELLO, multipart, start_gate_process, stop_process

TEN_MB = 10 << 20


class Trickle:
    """A connection that sent its headers and sends its body one byte per round."""

    def __init__(self, port: int, head: bytes, body: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(head + body[:1])
        self.rest = body[1:]

    def step(self) -> None:
        self.sock.sendall(self.rest[:1])
        self.rest = self.rest[1:]

    def finish(self) -> bytes:
        self.sock.sendall(self.rest)
        self.sock.settimeout(60)
        return self.sock.recv(200)


def _served(g, client_headers) -> list[float]:
    """Seconds each of a round of other clients' requests took; every one must be answered."""
    took = []
    body, content_type = multipart(HELLO)
    for method, path, kwargs, status in (
            ("GET", "/healthz", {}, 200), ("GET", "/openapi.json", {}, 200), ("GET", "/", {}, 200),
            ("GET", "/api/v1/badge/cn.filinggate.hello", {"headers": client_headers}, 403),  # answered (role)
            ("POST", "/api/v1/checks", {"headers": {**client_headers, "Content-Type": content_type},
                                        "data": body}, 200)):
        started = time.monotonic()
        answer = requests.request(method, f"{g.url}{path}", timeout=20, **kwargs)
        took.append(time.monotonic() - started)
        assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    return took


def test_fifty_slow_bodies_and_twenty_trickled_bad_signatures_leave_other_clients_served(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, env={"GATE_RATE_LIMIT_ADDRESS": "10000/minute"})
    port = int(g.url.rsplit(":", 1)[1])
    slow: list[Trickle] = []
    try:
        precheck = (f"POST /precheck HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b"
                    f"\r\nContent-Length: {TEN_MB}\r\n\r\n").encode()
        package, content_type = multipart(HELLO)
        upload = (f"POST /api/v1/hooks/store/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {g.clients['store'].api_key}\r\n"
                  f"X-Gate-Signature: t={int(time.time())},v1={'0' * 64}\r\n"
                  f"Content-Type: {content_type}\r\nContent-Length: {len(package)}\r\n\r\n").encode()
        slow = [Trickle(port, precheck, b"-" * TEN_MB) for _ in range(50)]
        slow += [Trickle(port, upload, package) for _ in range(20)]
        developer = g.headers("developer")
        for _ in range(3):  # three rounds of other clients while the 70 bodies trickle on
            for t in slow:
                t.step()
            took = _served(g, developer)
            assert max(took) < 10, took  # answered, not queued behind the trickles (they timed out before)
        # A trickled upload with a bad signature is still refused once its body is complete.
        assert slow[-1].finish().startswith(b"HTTP/1.1 401")
        # One with an invented key is refused from its headers: not a byte of its 10 MB body is waited for.
        invented = upload.replace(g.clients["store"].api_key.encode(), b"gk_0123456789abcdef_" + b"x" * 43)
        started = time.monotonic()
        refused = Trickle(port, invented, package)
        refused.sock.settimeout(30)
        assert refused.sock.recv(200).startswith(b"HTTP/1.1 401") and time.monotonic() - started < 10
        refused.sock.close()
    finally:
        for t in slow:
            t.sock.close()
        stop_process(proc)


def test_a_body_below_the_minimum_rate_is_cut_with_408(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, env={"GATE_BODY_GRACE_SECONDS": "2",
                                                            "GATE_BODY_MIN_BYTES_PER_SECOND": "1000"})
    port = int(g.url.rsplit(":", 1)[1])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(f"POST /precheck HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b"
                  f"\r\nContent-Length: {TEN_MB}\r\n\r\n-".encode())
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer:
            time.sleep(0.5)
            try:
                s.sendall(b"x")  # a byte every 0.5 s: far below 1000 bytes/s
            except OSError:
                pass
            s.settimeout(0.01)
            try:
                answer += s.recv(4096)
            except TimeoutError:
                pass
            assert time.monotonic() - started < 20, "the slow body was never cut"
        assert answer.startswith(b"HTTP/1.1 408") and b"body_too_slow" in answer + s.recv(4096)
        assert 1.5 < time.monotonic() - started < 10
        s.close()
        # A normal upload on the same server is received and decided as before.
        body, content_type = multipart(HELLO)
        assert requests.post(f"{g.url}/api/v1/checks", data=body, timeout=30,
                             headers={**g.headers("developer"), "Content-Type": content_type}).status_code == 200
    finally:
        stop_process(proc)


def test_a_spool_that_fills_while_a_body_is_received_is_answered_by_the_route(tmp_path, sqlite_url, tiny_spool):
    # Bodies over 1 MiB are received into the spool directory before the app sees them; a full disk there is the
    # route's answer in its own form, as when the app's own spool fills (faults.md 21).
    g, proc = start_gate_process(tmp_path, sqlite_url, env={"GATE_SPOOL_DIR": str(tiny_spool)})
    try:
        big = tmp_path / "big.apk"
        big.write_bytes(HELLO.read_bytes() + b"\0" * (2 << 20))
        body, content_type = multipart(big)
        page = requests.post(f"{g.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type},
                             timeout=60)
        assert page.status_code == 507 and "text/html" in page.headers["Content-Type"], page.text[:300]
        assert "spool_full" in page.text
        api = requests.post(f"{g.url}/api/v1/checks", data=body, timeout=60,
                            headers={**g.headers("developer"), "Content-Type": content_type})
        assert api.status_code == 507 and api.json()["error"]["code"] == "spool_full"
        assert api.headers["Retry-After"]
        assert os.listdir(tiny_spool) == []
    finally:
        stop_process(proc)
