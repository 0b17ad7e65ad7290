"""``gate serve``: the HTTP service under gunicorn (``--dev``: werkzeug's single-process server, for tests).

Worker model: gunicorn's master with uvicorn's asyncio workers (``uvicorn_worker``, HTTP/1.1 parsed by httptools in C,
gate.api.front_protocol) and, in each,
the buffering front of gate.api.buffering: a request's body is received in full on the event loop — a
slow sender costs a socket, not a thread — and the Flask app then answers it on one of ``--threads`` threads. With
gunicorn's ``gthread`` workers a body trickled a byte at a time held a thread for as long as the client liked, and
17 such connections stopped every route (the outside review). ``/healthz`` and ``/metrics`` have threads of their
own. A proxy in front (nginx) may buffer too; it is no longer required for slow clients.
"""

from __future__ import annotations

import gc
import os
import secrets
import shutil
import sys
import tempfile

import click

# prometheus_client reads this when it is first imported, so it is set here, before the workers import it
# (gate.services.metrics.MULTIPROC_ENV names the same variable).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _gunicorn_app(options: dict, *, threads: int):
    from gunicorn.app.base import BaseApplication

    class GateApplication(BaseApplication):
        """Gunicorn with the app factory: each worker builds its own app (and its own database engine)."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from gate.api.app import create_app
            from gate.api.buffering import BufferedFront

            app = create_app()
            settings = app.extensions["gate"].settings
            front = BufferedFront(app, threads=threads, max_body_bytes=app.config["MAX_CONTENT_LENGTH"],
                                 spool_dir=settings.spool_dir, grace_seconds=settings.body_grace_seconds,
                                 min_bytes_per_second=settings.body_min_bytes_per_second)
            gc.freeze()  # the worker's app lives as long as the worker (see _warm_check_path)
            return front

    return GateApplication()


def _worker_class():
    from uvicorn_worker import UvicornWorker

    from gate.api.front_protocol import BoundedHeadProtocol

    class GateWorker(UvicornWorker):
        """uvicorn in a gunicorn worker, as the gate needs it: the client address is the socket's (the app applies
        GATE_PROXY_HOPS itself), no access log (the app logs each request), the app's own shutdown grace, HTTP
        parsed by httptools with the request head bounded (gate.api.front_protocol)."""

        CONFIG_KWARGS = {"loop": "asyncio", "http": BoundedHeadProtocol, "lifespan": "off", "proxy_headers": False,
                         "access_log": False, "server_header": False,
                         "timeout_graceful_shutdown": GRACEFUL_SECONDS,
                         "limit_concurrency": CONNECTIONS_PER_PROCESS}

    return GateWorker


# After SIGTERM, requests in flight (a slow upload included) get this long to finish; container stop timeouts are set
# above it (compose.yaml stop_grace_period 40s, docs/deploy.md).
GRACEFUL_SECONDS = 30
# Open connections one worker process takes (slow senders included) before it answers 503: bounds its sockets and
# the memory of bodies being received (each at most IN_MEMORY_BYTES before it goes to the spool directory).
CONNECTIONS_PER_PROCESS = 1000


def _child_exit(_server, worker) -> None:
    # prometheus_client's multiprocess mode: a dead worker's live gauges must not be summed any more. Only that mode
    # has files to mark (one worker counts in memory): without its directory mark_process_dead raises, and an
    # exception in this hook takes the gunicorn master down with the worker.
    if not os.environ.get(MULTIPROC_ENV):
        return
    # Imported by serve() before the workers start, never here: this runs inside gunicorn's SIGCHLD handler, which
    # can interrupt the master anywhere — on Ctrl-C, in this very hook's first import of prometheus_client for the
    # previous worker — and a nested import of a half-initialised module raised ImportError and killed the master.
    multiprocess = sys.modules.get("prometheus_client.multiprocess")
    if multiprocess is not None:
        multiprocess.mark_process_dead(worker.pid)


def _warm_check_path() -> None:
    """Read the bundled example package once in the master, before it forks the workers.

    A package's first check in a process imports the readers and the signature libraries (cryptography, asn1crypto)
    and loads the tables the scanner builds on first use: ~130 ms of CPU that each worker paid on its first upload
    (and again after every restart), inside a store's request. Done here, the workers inherit it all with the fork.
    """
    from gate.commands.demo import EXAMPLE_APK
    from gate.extract.pipeline import extract_features

    extract_features(EXAMPLE_APK)
    # Everything alive now (the modules, the readers' tables) lives as long as the server: kept out of the garbage
    # collector's walks (gc.freeze), the workers' full collections do not visit it on every upload's allocations,
    # and the pages stay shared with the master after the fork. gate.collector leaves a freeze it did not make alone.
    gc.freeze()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", default=None, type=click.IntRange(1, 65535),
              help="Port to listen on  [default: GATE_PORT, or 8000]")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Request threads per worker process: requests answered at once by each (bodies are received "
                   "before a thread is taken, so slow senders do not count).")
@click.option("--timeout", default=300, show_default=True, type=int,
              help="Seconds a silent worker process may take before gunicorn restarts it.")
@click.option("--dev", is_flag=True, help="werkzeug's development server instead of gunicorn (tests, debugging).")
@click.option("--with-scheduler", is_flag=True,
              help="Also run the scheduled sync jobs (`gate scheduler`) beside the server; GATE_SCHEDULER_IN_SERVER=1 "
                   "does the same.")
def serve(host: str, port: int | None, workers: int, threads: int, timeout: int, dev: bool, with_scheduler: bool) -> int:
    """Serve the webhooks and APIs (docs/api.md); the database must be migrated (`gate db upgrade`)."""
    from gate.config import load_settings
    from gate.db.engine import open_database

    settings = load_settings()
    port = port or settings.port
    engine = open_database(settings.database_url)  # refuse to start on an unreachable or outdated database
    from gate.services.spool_sweep import sweep_orphans

    sweep_orphans(engine, settings.spool_dir, age_seconds=settings.spool_orphan_seconds)  # a killed server's leftovers
    engine.dispose()
    if with_scheduler or settings.scheduler_in_server:
        _start_scheduler_process()
    if dev:
        from werkzeug.serving import run_simple

        from gate.api.app import create_app

        run_simple(host, port, create_app(settings), threaded=True)
        return 0
    from gate.web.kit import shared_console_secret

    if shared_console_secret(settings) is None:  # one secret for this instance's workers (the sign-in form's token)
        os.environ["GATE_CONSOLE_SECRET"] = secrets.token_hex(32)
    os.environ["GATE_SERVE_THREADS"] = str(threads)  # /healthz says `overloaded` when they are all busy
    own_metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Each worker counts in its own files; /metrics sums them (see gate.services.metrics).
        own_metrics_dir = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="gate-metrics-")
    if os.environ.get(MULTIPROC_ENV):
        import prometheus_client.multiprocess  # noqa: F401 - for _child_exit, before any worker can exit
    _warm_check_path()
    try:
        _gunicorn_app({"bind": f"{host}:{port}", "workers": workers, "worker_class": _worker_class(),
                       "timeout": timeout, "graceful_timeout": GRACEFUL_SECONDS,
                       "accesslog": None, "child_exit": _child_exit}, threads=threads).run()
    finally:
        # gunicorn leaves by SystemExit when it stops (SIGTERM, SIGINT); the counts of a stopped server are
        # meaningless to the next one, and a directory per start would pile up in /tmp. One given by the operator
        # (PROMETHEUS_MULTIPROC_DIR) is theirs to keep.
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def _start_scheduler_process() -> None:
    """`gate scheduler` as a child process, stopped when the server exits.

    A process rather than a thread in the gunicorn master: gunicorn forks its workers, and forking while a scheduler
    thread holds a lock (logging, the connection pool) can leave a worker deadlocked. The job locks make it safe to
    run this on every instance.
    """
    import atexit
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "gate.cli", "scheduler"])

    def stop() -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
