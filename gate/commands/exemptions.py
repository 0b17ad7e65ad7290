"""``gate exemptions add|list|revoke``: the exemption register (豁免) from the shell, same rules as the console."""

from __future__ import annotations

import datetime as dt
import json

import click

from gate.exemptions import REASON_CATEGORIES


def _engine():
    from gate.config import load_settings
    from gate.db.engine import open_database

    return open_database(load_settings().database_url)


def _expiry(value: str) -> dt.datetime:
    """``YYYY-MM-DD`` (end of that day, China Standard Time) or ``Nd`` (N days from now)."""
    from gate.exemptions import ExemptionInvalid

    text = value.strip()
    if text.endswith("d") and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=int(text[:-1]))
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ExemptionInvalid(f"--expires {value!r}: give YYYY-MM-DD or a number of days such as 365d",
                               field="expires_at") from None
    cst = dt.timezone(dt.timedelta(hours=8))
    return dt.datetime.combine(day, dt.time(23, 59, 59), cst).astimezone(dt.UTC)


def _line(e, now) -> str:
    return (f"#{e.id:<5} {e.state(now):8} {e.package}  {e.cert_sha256}  {e.reason_category}  "
            f"until {e.expires_at:%Y-%m-%d %H:%M}  by {e.approved_by}")


@click.group("exemptions")
def exemptions() -> None:
    """Exemptions (豁免) for preinstalled platform components that need no filing."""


@exemptions.command("add")
@click.option("--package", required=True, help="The exact package name, e.g. com.android.settings.")
@click.option("--cert-sha256", required=True, help="SHA-256 of the signing certificate (64 hex digits).")
@click.option("--category", "reason_category", required=True, type=click.Choice(list(REASON_CATEGORIES)),
              help="platform_component = 系统组件，不提供互联网信息服务.")
@click.option("--reason", required=True, help="Why the component needs no filing (free text).")
@click.option("--approved-by", required=True, help="The person who approved the exemption.")
@click.option("--expires", required=True, help="YYYY-MM-DD (end of day, China Standard Time) or e.g. 365d.")
@click.option("--json", "as_json", is_flag=True)
def add(package, cert_sha256, reason_category, reason, approved_by, expires, as_json) -> int:
    """Record an exemption: turns `unfiled` into `allow` for preinstall checks of exactly this identity."""
    from gate.db.exemptions import add_exemption

    engine = _engine()
    try:
        with engine.begin() as conn:
            new = add_exemption(conn, package=package, cert_sha256=cert_sha256, reason_category=reason_category,
                                reason=reason, approved_by=approved_by, expires_at=_expiry(expires),
                                actor=f"cli:{approved_by}")
    finally:
        engine.dispose()
    click.echo(json.dumps(new.as_dict(), ensure_ascii=False) if as_json else f"exemption #{new.id} added")
    return 0


@exemptions.command("list")
@click.option("--search", default=None, help="Part of a package name, certificate digest or reason.")
@click.option("--state", type=click.Choice(["active", "expired", "revoked"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(search, state, as_json) -> int:
    """List exemptions, newest first."""
    from gate.db.exemptions import list_exemptions
    from gate.db.tables import utcnow

    engine = _engine()
    try:
        with engine.connect() as conn:
            found = list_exemptions(conn, search=search, state=state, limit=10_000)
    finally:
        engine.dispose()
    now = utcnow()
    for e in found:
        click.echo(json.dumps({**e.as_dict(), "state": e.state(now)}, ensure_ascii=False) if as_json
                   else _line(e, now))
    return 0


@exemptions.command("revoke")
@click.argument("exemption_id", type=int)
@click.option("--by", "actor", required=True, help="Who revokes it (recorded in the audit trail).")
@click.option("--reason", "why", default="", help="Why it is revoked.")
def revoke(exemption_id: int, actor: str, why: str) -> int:
    """Revoke an exemption at once; later preinstall checks of that identity block as unfiled again."""
    from gate.db.exemptions import revoke_exemption

    engine = _engine()
    try:
        with engine.begin() as conn:
            revoke_exemption(conn, exemption_id, actor=f"cli:{actor}", why=why)
    finally:
        engine.dispose()
    click.echo(f"exemption #{exemption_id} revoked")
    return 0
