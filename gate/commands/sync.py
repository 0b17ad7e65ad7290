"""``gate sync filings``: pull filing changes from the regulator and re-decide affected listed apps."""

from __future__ import annotations

import json

import click


@click.group("sync")
def sync() -> None:
    """Synchronise with the regulator."""


@sync.command("filings")
def filings() -> int:
    """Apply the filings feed from the stored cursor; re-decide listed apps of changed filings; queue and try
    signed delist notices to their stores (`gate worker` retries them). Prints one JSON object."""
    from gate.config import load_settings
    from gate.store.engine import open_database
    from gate.sync.jobs import run_filings_sync

    settings = load_settings()
    engine = open_database(settings.database_url)
    try:
        result = run_filings_sync(engine, settings)
    finally:
        engine.dispose()
    click.echo(json.dumps(result, ensure_ascii=False))
    return 0
