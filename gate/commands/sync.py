"""``gate sync filings``: pull filing changes from the regulator and re-decide affected listed apps;
``gate sync applications``: send and follow filing applications (代为备案)."""

from __future__ import annotations

import json

import click


@click.group("sync")
def sync() -> None:
    """Synchronise with the regulator."""


@sync.command("filings")
def filings() -> int:
    """Apply the filings feed from the stored cursor; re-decide listed apps of changed filings; queue and try
    signed delist notices to their stores (`gate worker` retries them). Prints one JSON object; exit 1 when the
    feed held records the gate rejected (each is named on standard error, audited and skipped)."""
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.progress import Progress
    from gate.sync.filings_sync import describe_rejection
    from gate.sync.jobs import run_filings_sync

    settings = load_settings()
    engine = open_database(settings.database_url)
    try:
        with Progress("syncing filings", unit="feed records") as progress:
            result = run_filings_sync(engine, settings, progress=progress)
    finally:
        engine.dispose()
    click.echo(json.dumps(result, ensure_ascii=False))
    for rejection in result.get("rejections", []):
        click.echo(f"rejected feed record {rejection['service_licence'] or '(no service_licence)'}: "
                   f"{describe_rejection(rejection)}", err=True)
    return 1 if result.get("rejected") else 0


@sync.command("applications")
def applications_command() -> int:
    """Send pending filing applications (the same bytes under the same key) and follow submitted ones: returned
    for correction, approved (the filing then arrives through `gate sync filings`) or rejected. Prints one JSON
    object; exit 1 when an application could not be sent or followed."""
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.sync.jobs import run_applications_sync

    settings = load_settings()
    engine = open_database(settings.database_url)
    try:
        result = run_applications_sync(engine, settings)
    finally:
        engine.dispose()
    click.echo(json.dumps(result, ensure_ascii=False))
    return 1 if any("error" in x for x in result.get("sent", []) + result.get("followed", [])) else 0
