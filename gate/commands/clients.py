"""``gate clients``: issue API credentials for stores, device makers, developers and admins."""

from __future__ import annotations

import json

import click

ROLES = ("store", "oem", "developer", "admin")


@click.group("clients")
def clients() -> None:
    """API clients (callers of the HTTP service) and their roles."""


@clients.command("create")
@click.option("--name", required=True, help="A unique name for the client (e.g. the store's name).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--callback-url", default=None, help="Default URL for a store's signed check callbacks.")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as one JSON object.")
def create(name: str, role: str, callback_url: str | None, as_json: bool) -> int:
    """Create a client; its api_key and webhook_secret are printed once and cannot be shown again."""
    from gate.config import load_settings
    from gate.platform_hooks.auth import create_client
    from gate.store.engine import open_database

    engine = open_database(load_settings().database_url)
    try:
        issued = create_client(engine, name=name, role=role, callback_url=callback_url)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(issued.as_dict()))
    else:
        click.echo(f"client {issued.name} (id {issued.id}, role {issued.role}) created")
        click.echo(f"api_key:        {issued.api_key}")
        click.echo(f"webhook_secret: {issued.webhook_secret}")
        click.echo("Store both now: they are not shown again (only a hash of the key is kept).", err=True)
    return 0
