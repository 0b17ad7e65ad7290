"""``gate worker``: process queued checks and deliver store callbacks (see gate.services.worker)."""

from __future__ import annotations

import signal
import threading

import click


@click.command("worker")
@click.option("--once", is_flag=True, help="Process what is due now, then exit.")
@click.option("--poll", default=1.0, show_default=True, type=float, help="Seconds to wait when idle.")
@click.option("--name", default=None,
              help="Worker name in job rows; `:<random>` is added so every process start is unique "
                   "(default host:pid:random).")
def worker(once: bool, poll: float, name: str | None) -> int:
    """Take check jobs from the database; on PostgreSQL run as many workers as you like."""
    from gate.api.request_log import configure_logging
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.services.worker import Worker

    settings = load_settings()
    configure_logging(settings.log_format)
    engine = open_database(settings.database_url)
    if name:
        import secrets

        name = f"{name}:{secrets.token_hex(4)}"  # the ownership guards compare names: one per process start
    runner = Worker(engine, settings, name=name)
    if once:
        while runner.run_once() or runner.deliver_callbacks():
            pass
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # finish the current job, then stop
        signal.signal(sig, lambda *_: stop.set())
    runner.run(poll_seconds=poll, stop=stop)
    return 0
