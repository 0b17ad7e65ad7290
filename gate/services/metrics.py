"""Prometheus metrics at ``/metrics``.

Two kinds, chosen to stay honest under gunicorn's several worker processes:
- per-process counters and histograms (checks by verdict and reason, request latency, upload bytes): with more
  than one worker, ``gate serve`` points prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, its own
  variable) at a fresh directory and the scrape sums every worker's files;
- state read from the database at scrape time (jobs by status = queue depth, callbacks pending): every process and
  every instance sees the same number, so no aggregation is needed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gate.db.tables import table_of, utcnow
from gate.errors import GateError
from gate.services import health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A report pending this long after its period ended has missed more than the sync interval's retries.
REPORT_OVERDUE = dt.timedelta(hours=2)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own switch, set by `gate serve` for workers > 1

CHECKS = Counter("gate_checks_total", "Package checks decided, by verdict", ["verdict"])
CHECK_REASONS = Counter("gate_check_reasons_total", "Reasons given in decisions, by code", ["reason"])
REQUEST_SECONDS = Histogram("gate_http_request_duration_seconds", "HTTP request latency", ["route", "method"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
REQUESTS = Counter("gate_http_requests_total", "HTTP requests by route and status", ["route", "method", "status"])
UPLOAD_BYTES = Counter("gate_upload_bytes_total", "Package bytes received (uploads and package_url fetches)")


# Label values come from fixed sets only: a label fed by the request (an invented HTTP method, a path) would make a
# new series per value and grow /metrics without bound. Routes are url rules (or "unmatched"), statuses numbers.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"


def observe_request(rule: str, method: str, status: int, seconds: float) -> None:
    method = method_label(method)
    REQUEST_SECONDS.labels(rule, method).observe(seconds)
    REQUESTS.labels(rule, method, status_label(status)).inc()


def observe_decision(decision: dict[str, Any]) -> None:
    CHECKS.labels(decision.get("verdict", "unknown")).inc()
    for reason in decision.get("reasons", ()):
        CHECK_REASONS.labels(reason.get("code", "unknown")).inc()


class DatabaseCollector:
    """Queue depth, callbacks and reports by state, counted in the database when scraped.

    The alerts are here: ``gate_callbacks{status="failed"}`` grows when a store was not reached after every attempt,
    ``gate_reports{status="rejected"}`` and ``gate_report_overdue`` say a distribution report needs a person
    (docs/operations.md has the alert rules). Being database state, every instance answers the same numbers.
    """

    def __init__(self, engine_factory: Callable[[], Engine]) -> None:
        self._engine_factory = engine_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from gate.db.service_tables import CallbackDelivery, Job
        from gate.db.sync_tables import ReportOutbox

        jobs = GaugeMetricFamily("gate_jobs", "Jobs in the database by status (queued = queue depth)",
                                 labels=["status"])
        callbacks = GaugeMetricFamily("gate_callbacks", "Callback deliveries by status (failed = an alert)",
                                      labels=["status"])
        reports = GaugeMetricFamily("gate_reports", "Distribution reports by status (rejected = an alert)",
                                    labels=["status"])
        overdue = GaugeMetricFamily("gate_report_overdue", "Reports still pending more than "
                                    f"{REPORT_OVERDUE.total_seconds() / 3600:.0f} h after their period ended")
        up = GaugeMetricFamily("gate_database_up", "1 when the database answered this scrape, 0 during an outage")
        J, C, RO = table_of(Job), table_of(CallbackDelivery), table_of(ReportOutbox)

        def count_states() -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
            with self._engine_factory().connect() as conn:
                conn = conn.execution_options(deadline_seconds=health.PROBE_STATEMENT_SECONDS)
                counts: dict[str, int] = dict(conn.execute(select(J.c.status, func.count())
                                           .where(J.c.status.in_(("queued", "running"))).group_by(J.c.status)).all())
                by_callback: dict[str, int] = dict(conn.execute(select(C.c.status, func.count())
                                                .where(C.c.status.in_(("pending", "failed")))
                                                .group_by(C.c.status)).all())
                by_report: dict[str, int] = dict(conn.execute(select(RO.c.status, func.count())
                                              .where(RO.c.status.in_(("pending", "rejected")))
                                              .group_by(RO.c.status)).all())
                late = conn.execute(select(func.count()).select_from(RO).where(
                    RO.c.status == "pending", RO.c.period_end < utcnow() - REPORT_OVERDUE)).scalar_one()
            return counts, by_callback, by_report, late

        try:
            # Within health.PROBE_SECONDS, like /healthz: a scrape during an outage says so instead of hanging.
            counts, by_callback, by_report, late = health.METRICS.run(count_states)
        except (SQLAlchemyError, GateError, health.ProbeUnanswered):  # an outage is when the counters matter most
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for status in ("queued", "running"):
            jobs.add_metric([status], counts.get(status, 0))
        for status in ("pending", "failed"):
            callbacks.add_metric([status], by_callback.get(status, 0))
        for status in ("pending", "rejected"):
            reports.add_metric([status], by_report.get(status, 0))
        overdue.add_metric([], late)
        yield from (up, jobs, callbacks, reports, overdue)


def render(engine_factory: Callable[[], Engine]) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
        body = generate_latest(registry)
        db = CollectorRegistry()
        db.register(DatabaseCollector(engine_factory))
        return body + generate_latest(db)
    registry.register(DatabaseCollector(engine_factory))
    return generate_latest(registry)
