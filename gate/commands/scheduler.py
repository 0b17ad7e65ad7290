"""``gate scheduler``: run the scheduled sync jobs (see gate.sync.scheduler) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal

import click


@click.command("scheduler")
def scheduler() -> int:
    """Filings sync every GATE_SYNC_INTERVAL_MINUTES, the report daily at GATE_REPORT_TIME (Asia/Shanghai), the
    audit purge nightly. Run several for standby: each job runs on one instance at a time (database lock)."""
    from gate.api.request_log import configure_logging
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.sync.jobs import regulator_client
    from gate.sync.scheduler import make_scheduler

    settings = load_settings()
    configure_logging(settings.log_format)
    regulator_client(settings).close()  # refuse to start without the regulator settings
    engine = open_database(settings.database_url)
    runner = make_scheduler(engine, settings)
    for sig in (signal.SIGTERM, signal.SIGINT):  # let a running job finish, then stop
        signal.signal(sig, lambda *_: runner.shutdown(wait=False))
    try:
        runner.start()
    finally:
        engine.dispose()
    return 0
