"""Request heads against a default `gate serve` over real sockets: HTTP is parsed by httptools, which sets no limit of
its own on a head, so gate.api.front_protocol bounds it (h11, the parser before it, refused an unfinished head past
16 KiB). An endless header is refused and its connection closed; long heads within the bound, heads split across
reads and pipelined requests are served."""

from __future__ import annotations

import re
import socket
import time

import requests

from gate.api.front_protocol import MAX_HEAD_BYTES
from tests.integration.http_support import start_gate_process, stop_process

PIECE = 8 * 1024


def _connect(url: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=30)


def _send_in_pieces(sock: socket.socket, data: bytes) -> None:
    """One read per piece on the server's side (a pause between them), as a slow client's head arrives."""
    for start in range(0, len(data), PIECE):
        sock.sendall(data[start:start + PIECE])
        time.sleep(0.02)


def _answers(sock: socket.socket, count: int) -> list[bytes]:
    """The status lines of ``count`` answers on the connection (bodies are short: read until they are all in)."""
    data = b""
    while data.count(b"HTTP/1.1 ") < count:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return re.findall(rb"HTTP/1\.1 \d{3} [^\r]*", data)  # an answer may follow the previous body on its line


def test_an_endless_header_is_refused_and_long_or_split_heads_are_served(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, env={"GATE_RATE_LIMIT_ADDRESS": "10000/minute"})
    try:
        # A head of half the bound (a large cookie), arriving in pieces: served.
        with _connect(g.url) as sock:
            cookie = b"a" * (MAX_HEAD_BYTES // 2)
            _send_in_pieces(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: c=" + cookie + b"\r\n\r\n")
            assert _answers(sock, 1) == [b"HTTP/1.1 200 OK"]
        # A header that never ends: refused once the head passes the bound, the connection closed, long before
        # the client stops sending (four times the bound).
        with _connect(g.url) as sock:
            sent = 0
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
                while sent < 4 * MAX_HEAD_BYTES:
                    sock.sendall(b"a" * PIECE)
                    sent += PIECE
                    time.sleep(0.02)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed by the server: what is asserted below
            assert sent < 4 * MAX_HEAD_BYTES
            try:
                assert _answers(sock, 1) == [b"HTTP/1.1 400 Bad Request"]
            except ConnectionResetError:  # the answer was sent; the reset of unread bytes can overtake it
                pass
        # Two requests in one write (pipelining), then the service still answers everyone.
        with _connect(g.url) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2)
            assert _answers(sock, 2) == [b"HTTP/1.1 200 OK"] * 2
        assert requests.get(f"{g.url}/healthz", timeout=10).status_code == 200
    finally:
        stop_process(proc)


def test_gate_serve_parses_http_with_httptools_and_the_bounded_head():
    # h11 refuses an endless header too, so the test above passes under either parser: this one says which runs.
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from gate.api.front_protocol import BoundedHeadProtocol
    from gate.commands.serve import _worker_class

    protocol = _worker_class().CONFIG_KWARGS["http"]
    assert protocol is BoundedHeadProtocol and issubclass(protocol, HttpToolsProtocol)
