"""Serving the sandbox: werkzeug's threaded server, a request handler that can drop connections, and helpers to
run it in a background thread (tests) or until SIGTERM/Ctrl-C (the CLI).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from gate.sync.sandbox.app import create_app
from gate.sync.sandbox.applications import ApplicationScript
from gate.sync.sandbox.faults import FaultPlan
from gate.sync.sandbox.feed import load_feed_file
from gate.sync.sandbox.reports import MAX_REPORT_BYTES
from gate.sync.sandbox.store import SandboxStore

DEFAULT_SECRET = "sandbox-secret"


class DroppingRequestHandler(WSGIRequestHandler):
    """Closes the connection of the first N API requests without a byte of answer.

    The request line and headers have been read, the body has not: this is what a client sees when a load
    balancer or the network gives up mid-request, and the client cannot know whether anything was processed.
    Shutting the socket down (rather than raising) is what really aborts it: werkzeug turns an exception in the
    application into a 500 answer, which is not a network failure.
    """

    protocol_version = "HTTP/1.1"

    def run_wsgi(self) -> None:
        server = self.server
        if self.path.startswith("/v1/") and server.fault_plan.take_drop():  # type: ignore[attr-defined]
            server.store.bump("dropped")  # type: ignore[attr-defined]
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        super().run_wsgi()


@dataclass
class SandboxConfig:
    """Everything a sandbox run needs; ``db_path`` None means a fresh temporary database."""

    host: str = "127.0.0.1"
    port: int = 0
    secret: str = DEFAULT_SECRET
    db_path: str | None = None
    feed_path: str | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    max_report_bytes: int = MAX_REPORT_BYTES
    applications: ApplicationScript = field(default_factory=ApplicationScript)


class SandboxServer:
    """A bound sandbox server (the port is chosen at construction, so ``url`` is known before serving)."""

    def __init__(self, config: SandboxConfig) -> None:
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        db_path = config.db_path
        if db_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="gate-sandbox-")
            db_path = str(Path(self._tmpdir.name) / "regulator.sqlite3")
        self.store = SandboxStore(db_path)
        self.feed_loaded = 0
        if config.feed_path and self.store.feed_size() == 0:
            # Seed only an empty feed: a persistent --db keeps its feed (and the cursors issued over it) stable.
            self.feed_loaded = self.store.append_feed(load_feed_file(config.feed_path))
        app = create_app(self.store, secret=config.secret, faults=config.faults,
                         max_report_bytes=config.max_report_bytes, applications=config.applications)
        self._server: BaseWSGIServer = make_server(config.host, config.port, app, threaded=True,
                                                   request_handler=DroppingRequestHandler)
        self._server.fault_plan = config.faults  # type: ignore[attr-defined]
        self._server.store = self.store  # type: ignore[attr-defined]
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self._server.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._server.server_port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> SandboxServer:
        """Serve in a daemon thread (for tests and rehearsal scripts)."""
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox-regulator", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        else:
            self._server.server_close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


@contextlib.contextmanager
def running_sandbox(config: SandboxConfig | None = None) -> Iterator[SandboxServer]:
    """A sandbox serving in a background thread for the duration of the block."""
    server = SandboxServer(config or SandboxConfig()).start()
    try:
        yield server
    finally:
        server.shutdown()
