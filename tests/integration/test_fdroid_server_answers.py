"""`fdroid gate --server` against a URL that is not a gate (gate/integrations/fdroid.py, GateServer): whatever a
real HTTP server on loopback answers, the plugin stops with ``gate_server_error`` naming the APK, never with an
internal error. The answers are written here by hand, in shapes a wrong URL or a proxy gives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gate.integrations.fdroid import GateServer, GateServerError
from tests.integration.http_support import HELLO

ANSWERS = {
    "list": (200, b"[1, 2]"),
    "html": (200, b"<html>not a gate</html>"),
    "error_text": (500, json.dumps({"error": "boom"}).encode()),
    "queued_nowhere": (202, json.dumps({"status": "queued"}).encode()),
}


@pytest.fixture
def answering():
    chosen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = ANSWERS[chosen["name"]]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield chosen, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_an_answer_that_is_not_a_gates_is_a_gate_server_error(answering, name):
    chosen, url = answering
    chosen["name"] = name
    with pytest.raises(GateServerError) as caught:
        GateServer(url, "key", "secret").decide(HELLO, "repo/hello.apk")
    assert caught.value.code == "gate_server_error"
    assert str(HELLO) in caught.value.message
