"""``gate users``: staff accounts for the console (people; API clients are `gate clients`)."""

from __future__ import annotations

import secrets
import sys

import click

ROLES = ("viewer", "reviewer", "admin")


def _engine():
    from gate.config import load_settings
    from gate.db.engine import open_database

    return open_database(load_settings().database_url)


@click.group("users")
def users() -> None:
    """Staff users of the console (/console): viewer, reviewer, admin."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES), help="viewer reads; reviewer also approves and "
              "rejects reviews; admin also manages exemptions, API clients and users.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (first line) "
              "instead of generating one.")
def create(username: str, role: str, password_stdin: bool) -> int:
    """Create a staff user; without --password-stdin a random password is generated and printed once."""
    from gate.web.accounts import create_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    engine = _engine()
    try:
        staff = create_user(engine, username=username, role=role, password=password, actor="cli")
    finally:
        engine.dispose()
    click.echo(f"user {staff.username} ({staff.role}) created")
    if not password_stdin:
        click.echo(f"password: {password}")
        click.echo("Store it now: it is not shown again (only an scrypt hash is kept).", err=True)
    return 0


@users.command("list")
def list_() -> int:
    """Staff users with their role and state (disabled, delayed after repeated wrong passwords, active)."""
    from gate.web.accounts import FREE_TRIES, list_users

    engine = _engine()
    try:
        with engine.connect() as conn:
            rows = list_users(conn)
    finally:
        engine.dispose()
    for r in rows:
        state = ("disabled" if r.disabled else f"delayed ({r.failed_logins} wrong passwords in a row)"
                 if r.failed_logins >= FREE_TRIES else "active")
        click.echo(f"{r.username:24} {r.role:9} {state}")
    return 0


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (first line) "
              "instead of generating one.")
def reset_password(username: str, password_stdin: bool) -> int:
    """Give a user a new password (a random one printed once, or --password-stdin); ends a lockout and signs the
    user out everywhere."""
    from gate.web.accounts import reset_password as reset

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    engine = _engine()
    try:
        reset(engine, username=username, password=password, actor="cli")
    finally:
        engine.dispose()
    click.echo(f"user {username}: password reset")
    if not password_stdin:
        click.echo(f"password: {password}")
        click.echo("Store it now: it is not shown again (only an scrypt hash is kept).", err=True)
    return 0


@users.command("unlock")
@click.argument("username")
def unlock(username: str) -> int:
    """End a lockout (5 wrong passwords lock an account for 15 minutes)."""
    from gate.web.accounts import unlock_user

    engine = _engine()
    try:
        unlock_user(engine, username=username)
    finally:
        engine.dispose()
    click.echo(f"user {username} unlocked")
    return 0
