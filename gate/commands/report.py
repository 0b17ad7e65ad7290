"""``gate report run|status``: the scheduled distribution report to the regulator (see gate.sync.reports)."""

from __future__ import annotations

import datetime as dt
import json

import click


def _engine():
    from gate.config import load_settings
    from gate.db.engine import open_database

    settings = load_settings()
    return settings, open_database(settings.database_url)


def _now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    from gate.errors import UsageError

    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise UsageError(f"--now {value!r} must be ISO 8601 with a UTC offset, e.g. 2024-06-02T02:00:00+08:00")
    return when


@click.group("report")
def report() -> None:
    """Distribution reports (分发应用报送) to the regulator."""


@report.command("run")
@click.option("--now", "now", default=None, metavar="ISO",
              help="Pretend the time is this (rehearsals): close periods due by then. Default: the clock.")
def run(now: str | None) -> int:
    """Close the period that is due (if any) into the outbox, then send every pending report, oldest first.

    Prints one JSON object. Exit status 0 when everything built is delivered (or another instance holds the
    report lock), 1 when a report stays pending or was rejected.
    """
    from gate.progress import Progress
    from gate.sync.jobs import run_report

    settings, engine = _engine()
    try:
        with Progress("building the report", unit="events and listed apps") as progress:
            result = run_report(engine, settings, now=_now(now), progress=progress)
    finally:
        engine.dispose()
    click.echo(json.dumps(result, ensure_ascii=False))
    return 1 if result.get("undelivered") else 0


@report.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one report per line.")
def status(limit: int, as_json: bool) -> int:
    """The newest reports: period, delivery state, receipt, counts (incl. listed apps without a filing)."""
    from gate.sync.outbox import report_status

    settings, engine = _engine()
    try:
        rows = report_status(engine, platform_id=settings.platform_id, limit=limit)
    finally:
        engine.dispose()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        receipt = row["receipt_id"] or "-"
        click.echo(f"{row['period_start']} .. {row['period_end']}  {row['status']:<9} receipt={receipt} "
                   f"events={row['events']} inventory={row['inventory']} unfiled_listed={row['unfiled_listed']} "
                   f"attempts={row['attempts']}" + (f"  last_error={row['last_error']}" if row['last_error'] else ""))
    if not rows and not as_json:
        click.echo("no reports yet")
    return 0
