"""A store's callback endpoint on loopback: records what the gate delivers and can refuse the first deliveries."""

from __future__ import annotations

import http.server
import threading
import time


class StoreEndpoint:
    """Answers 503 to the first ``fail_first`` POSTs, then 204 (each after ``delay`` seconds); ``received`` holds
    (headers, body) of every POST."""

    def __init__(self, *, fail_first: int = 0, path: str = "/gate-callback", delay: float = 0.0) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.times: list[float] = []  # time.monotonic() of each POST's arrival
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append((dict(self.headers), body))
                endpoint.times.append(time.monotonic())
                time.sleep(delay)  # a slow store: answers only after this long
                self.send_response(503 if len(endpoint.received) <= fail_first else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> StoreEndpoint:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
