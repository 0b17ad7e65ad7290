"""``gate serve``: the HTTP service under gunicorn (``--dev``: werkzeug's single-process server, for tests).

Worker model: gunicorn's ``gthread`` workers — each process answers on a pool of threads. A request holds its thread
for as long as its body takes to arrive, and a store or developer on a slow line sends a 100 MB package for minutes
(1 MB/s: 100 s). With ``sync`` workers that upload held a whole process, and two slow clients stopped the service;
with threads the others are still answered while the slow bodies trickle in (the request and the check run in the
thread; the GIL is released while waiting on the socket and on disk). Idle keep-alive connections hold no thread.
``--threads`` bounds the concurrent requests per process; to take more slow clients than processes x threads, put a
proxy that buffers request bodies in front (nginx does by default: ``proxy_request_buffering on``).
"""

from __future__ import annotations

import os
import secrets
import tempfile

import click

# prometheus_client reads this when it is first imported, so it is set here, before the workers import it
# (gate.platform_hooks.metrics.MULTIPROC_ENV names the same variable).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _gunicorn_app(options: dict):
    from gunicorn.app.base import BaseApplication

    class GateApplication(BaseApplication):
        """Gunicorn with the app factory: each worker builds its own app (and its own database engine)."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from gate.platform_hooks.app import create_app

            return create_app()

    return GateApplication()


# After SIGTERM, requests in flight (a slow upload included) get this long to finish; container stop timeouts are set
# above it (compose.yaml stop_grace_period 40s, docs/deploy.md).
GRACEFUL_SECONDS = 30


def _child_exit(_server, worker) -> None:
    # prometheus_client's multiprocess mode: a dead worker's live gauges must not be summed any more. Only that mode
    # has files to mark (one worker counts in memory): without its directory mark_process_dead raises, and an
    # exception in this hook takes the gunicorn master down with the worker.
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", default=None, type=click.IntRange(1, 65535),
              help="Port to listen on  [default: GATE_PORT, or 8000]")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker process (gthread): requests, slow uploads included, answered at once by each.")
@click.option("--timeout", default=300, show_default=True, type=int,
              help="Seconds a silent worker process may take before gunicorn restarts it.")
@click.option("--dev", is_flag=True, help="werkzeug's development server instead of gunicorn (tests, debugging).")
@click.option("--with-scheduler", is_flag=True,
              help="Also run the scheduled sync jobs (`gate scheduler`) beside the server; GATE_SCHEDULER_IN_SERVER=1 "
                   "does the same.")
def serve(host: str, port: int | None, workers: int, threads: int, timeout: int, dev: bool, with_scheduler: bool) -> int:
    """Serve the webhooks and APIs (docs/api.md); the database must be migrated (`gate db upgrade`)."""
    from gate.config import load_settings
    from gate.store.engine import open_database

    settings = load_settings()
    port = port or settings.port
    engine = open_database(settings.database_url)  # refuse to start on an unreachable or outdated database
    from gate.platform_hooks.spool_sweep import sweep_orphans

    sweep_orphans(engine, settings.spool_dir, age_seconds=settings.spool_orphan_seconds)  # a killed server's leftovers
    engine.dispose()
    if with_scheduler or settings.scheduler_in_server:
        _start_scheduler_process()
    if dev:
        from werkzeug.serving import run_simple

        from gate.platform_hooks.app import create_app

        run_simple(host, port, create_app(settings), threaded=True)
        return 0
    from gate.web.kit import shared_console_secret

    if shared_console_secret(settings) is None:  # one secret for this instance's workers (the sign-in form's token)
        os.environ["GATE_CONSOLE_SECRET"] = secrets.token_hex(32)
    os.environ["GATE_SERVE_THREADS"] = str(threads)  # /healthz says `overloaded` when they are all busy
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Each worker counts in its own files; /metrics sums them (see gate.platform_hooks.metrics).
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="gate-metrics-")
    _gunicorn_app({"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                   "timeout": timeout, "graceful_timeout": GRACEFUL_SECONDS,
                   "accesslog": None, "child_exit": _child_exit, "forwarded_allow_ips": "127.0.0.1"}).run()
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
