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
@click.option("--callback-url", default=None, help="Default URL for a store's signed check callbacks (https, a public "
              "address; GATE_FETCH_ALLOW_HTTP / GATE_FETCH_ALLOW_NETWORKS relax that for local testing).")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as one JSON object.")
def create(name: str, role: str, callback_url: str | None, as_json: bool) -> int:
    """Create a client; its api_key and webhook_secret are printed once and cannot be shown again."""
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.errors import UsageError
    from gate.services.auth import create_client
    from gate.services.fetch import check_callback_url, policy_from_settings
    from gate.services.uploads import UploadError

    settings = load_settings()
    if callback_url is not None:
        try:  # refused now, with its own message, rather than at the store's first callback
            check_callback_url(callback_url, policy_from_settings(settings))
        except UploadError as exc:
            raise UsageError(exc.message, code=exc.code) from None
    engine = open_database(settings.database_url)
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


def _with_engine(change):
    from gate.config import load_settings
    from gate.db.engine import open_database

    engine = open_database(load_settings().database_url)
    try:
        return change(engine)
    finally:
        engine.dispose()


@clients.command("disable")
@click.argument("name")
def disable(name: str) -> int:
    """Refuse the client's API key from now on; its queued callbacks wait until it is enabled."""
    from gate.services.auth import set_disabled

    _with_engine(lambda engine: set_disabled(engine, name, True))
    click.echo(f"client {name} disabled")
    return 0


@clients.command("enable")
@click.argument("name")
def enable(name: str) -> int:
    """Accept the client's API key again; its waiting callbacks are delivered."""
    from gate.services.auth import set_disabled

    _with_engine(lambda engine: set_disabled(engine, name, False))
    click.echo(f"client {name} enabled")
    return 0


@clients.command("rotate-key")
@click.argument("name")
def rotate_key(name: str) -> int:
    """Issue a new API key (printed once); the old key stops working at once."""
    from gate.services.auth import rotate_key as rotate

    click.echo(f"api_key: {_with_engine(lambda engine: rotate(engine, name))}")
    return 0


@clients.command("rotate-secret")
@click.argument("name")
def rotate_secret(name: str) -> int:
    """Issue a new webhook secret (printed once): sign requests with it; callbacks are signed with it from now on."""
    from gate.services.auth import rotate_secret as rotate

    click.echo(f"webhook_secret: {_with_engine(lambda engine: rotate(engine, name))}")
    return 0
