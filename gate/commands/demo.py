"""``gate demo``: a ready-to-try database — schema, a filing for the bundled example app, and one client per role.

Run it once after ``gate db upgrade`` (``make run`` does; the image's smoke run does it in a one-shot container), so
``curl`` against a fresh server gets real decisions. Idempotent: an existing filing is left as is and existing demo clients are not re-issued.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile

import click

# The bundled example (gate/examples/hello_zh.apk, a copy of fixtures/apks/hello_zh.apk shipped in the wheel): cn.filinggate.hello signed with the fixtures' RSA-2048 key,
# whose certificate MD5 apksigner reports as below.
DEMO_FILINGS = [{
    "service_licence": "京ICP备2024000001号-1A", "main_licence": "京ICP备2024000001号", "service_type": "app",
    "service_name": "你好门禁", "unit_name": "门禁示例科技有限公司", "unit_nature": "企业", "status": "active",
    "approved_at": "2024-03-01", "blacklisted": False,
    "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello",
                   "signature_md5": "0176d8d0130a8b0d3729e7833d7cb8cc"}],
    "domains": ["hello-gate.cn", "203.0.113.7"],
}]
DEMO_ROLES = ("store", "oem", "developer", "admin")
DEMO_ADMIN = "demo-admin"
EXAMPLE_APK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "hello_zh.apk"


def _demo_admin(engine) -> str | None:
    """A console admin with a fresh random password (returned to print once), unless one exists already."""
    import secrets

    from gate.errors import UsageError
    from gate.web.accounts import create_user

    password = secrets.token_urlsafe(12)
    try:
        create_user(engine, username=DEMO_ADMIN, role="admin", password=password, actor="demo")
    except UsageError:
        return None
    return password


@click.command("demo")
@click.option("--credentials", type=click.Path(dir_okay=False), default=None,
              help="Also write the issued credentials (JSON) to this file.")
def demo(credentials: str | None) -> int:
    """Migrate, import the demo filing, create demo-<role> clients, and print their credentials once."""
    from sqlalchemy import select

    from gate.config import load_settings
    from gate.db.engine import make_engine, open_database
    from gate.db.filings import import_into_database
    from gate.db.migrate import upgrade
    from gate.db.service_tables import ApiClient
    from gate.db.tables import table_of
    from gate.services.auth import create_client

    settings = load_settings()
    url = settings.database_url
    setup = make_engine(url)
    upgrade(setup)
    setup.dispose()
    engine = open_database(url)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(DEMO_FILINGS, f, ensure_ascii=False)
        try:
            report = import_into_database(engine, [f.name], actor="demo")
        finally:
            os.unlink(f.name)
        with engine.connect() as conn:
            existing = set(conn.execute(select(table_of(ApiClient).c.name)).scalars())
        issued = [create_client(engine, name=f"demo-{role}", role=role).as_dict()
                  for role in DEMO_ROLES if f"demo-{role}" not in existing]
        admin_password = _demo_admin(engine)
    finally:
        engine.dispose()
    click.echo(f"demo filing: {DEMO_FILINGS[0]['service_licence']} ({report.as_dict().get('created', 0)} created)",
               err=True)
    for client in issued:
        click.echo(json.dumps(client, ensure_ascii=False))
    if credentials and issued:
        with open(credentials, "w", encoding="utf-8") as out:
            json.dump(issued, out, indent=1)
    if not issued:
        click.echo("demo clients already exist; their secrets were shown when they were created", err=True)
    console = f"http://127.0.0.1:{settings.port}/console/"
    if admin_password:
        click.echo(f"console: {console}  user {DEMO_ADMIN}  password {admin_password}  (shown once)", err=True)
    else:
        click.echo(f"console: {console}  user {DEMO_ADMIN} (its password was shown when it was created; a new one: "
                   f"gate users reset-password {DEMO_ADMIN})", err=True)
    click.echo(f"example package (filed above): gate check {EXAMPLE_APK}", err=True)
    return 0
