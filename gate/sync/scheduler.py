"""The scheduled sync jobs under APScheduler: filings sync every N minutes, the daily report at GATE_REPORT_TIME
(Asia/Shanghai) and again every N minutes for reports still pending, filing applications sent and followed every N
minutes, and the audit retention purge.

Exactly one instance does each job at a time: every run takes the job's lock (gate.sync.locks) and skips when
another instance holds it, so any number of ``gate scheduler`` processes may run (standbys cost nothing).

Catching up after downtime does not depend on APScheduler remembering missed runs (its job store here is memory):
the report job closes *every* period due since the last closed one in a single catch-up report, and it runs once
at start-up. ``coalesce=True`` folds runs missed while a job was still running (or the machine slept) into one, and
``misfire_grace_time`` lets a run that is late by less than that still happen.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from gate.config import Settings
from gate.errors import GateError
from gate.sync.jobs import purge_audit, run_applications_sync, run_filings_sync, run_report

LOGGER = logging.getLogger("gate.sync.scheduler")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MISFIRE_GRACE_SECONDS = 3600
PURGE_TIME = (3, 30)  # after the report, in the quiet hours


def _guarded(name: str, job: Callable[[], dict]) -> Callable[[], None]:
    """Log a job's outcome; a failing run is logged and retried at its next time, never kills the scheduler."""
    def run() -> None:
        try:
            result = job()
        except GateError as exc:
            LOGGER.warning("job %s failed: [%s] %s", name, exc.code, exc.message)
            return
        except Exception:  # the scheduler must outlive a bug in one run; the traceback goes to the log
            LOGGER.exception("job %s crashed", name)
            return
        LOGGER.info("job %s: %s", name, result)
    return run


def add_jobs(scheduler: BaseScheduler, engine: Engine, settings: Settings) -> None:
    hours, minutes = (int(p) for p in settings.report_time.split(":"))
    now = dt.datetime.now(SHANGHAI)
    report = _guarded("report", lambda: run_report(engine, settings))
    scheduler.add_job(_guarded("filings-sync", lambda: run_filings_sync(engine, settings)),
                      IntervalTrigger(minutes=settings.sync_interval_minutes, timezone=SHANGHAI),
                      id="filings-sync", next_run_time=now)
    scheduler.add_job(report, CronTrigger(hour=hours, minute=minutes, timezone=SHANGHAI), id="report")
    scheduler.add_job(report, id="report-catch-up", next_run_time=now)  # once, at start-up
    # And every sync interval: a report left pending (its sender was killed mid-delivery, the regulator was down)
    # is sent by whichever instance is alive within one interval, not at the next daily run. Between boundaries
    # the run only sends: build_report closes a period only once its end has passed.
    scheduler.add_job(report, IntervalTrigger(minutes=settings.sync_interval_minutes, timezone=SHANGHAI),
                      id="report-retry")
    scheduler.add_job(_guarded("applications-sync", lambda: run_applications_sync(engine, settings)),
                      IntervalTrigger(minutes=settings.sync_interval_minutes, timezone=SHANGHAI),
                      id="applications-sync", next_run_time=now)
    scheduler.add_job(_guarded("audit-purge", lambda: purge_audit(engine, settings)),
                      CronTrigger(hour=PURGE_TIME[0], minute=PURGE_TIME[1], timezone=SHANGHAI), id="audit-purge")


def make_scheduler(engine: Engine, settings: Settings, *, background: bool = False) -> BaseScheduler:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(timezone=SHANGHAI, job_defaults={"coalesce": True, "max_instances": 1,
                                                     "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    add_jobs(scheduler, engine, settings)
    return scheduler
