"""Admin pages: the exemption register (everyone may read it; admins add and revoke) and API clients (create,
rotate secrets, disable). Every change is audited in the transaction that makes it."""

from __future__ import annotations

import datetime as dt

import flask
from sqlalchemy import select

from gate.exemptions import REASON_CATEGORIES, ExemptionInvalid
from gate.platform_hooks import auth
from gate.platform_hooks.intake import check_callback_url
from gate.platform_hooks.service import service
from gate.platform_hooks.uploads import UploadError
from gate.store.audit import record_event
from gate.store.exemptions import add_exemption, list_exemptions, revoke_exemption
from gate.store.service_tables import ApiClient
from gate.store.tables import utcnow
from gate.web import kit
from gate.web.blueprint import blueprint
from gate.web.kit import requires

A = ApiClient.__table__
CST = dt.timezone(dt.timedelta(hours=8))


def _exemptions_page(status: int = 200, error: str | None = None, form=None):
    search, state = flask.request.args.get("q", "").strip()[:128], flask.request.args.get("state") or None
    with service().engine.connect() as conn:
        found = list_exemptions(conn, search=search or None,
                                state=state if state in ("active", "expired", "revoked") else None)
    return kit.render("console/exemptions.html", status, exemptions=found, now=utcnow(),
                      categories=REASON_CATEGORIES, error=error, form=form or {}, args=flask.request.args)


@blueprint.get("/exemptions")
@requires("viewer")
def exemptions():
    return _exemptions_page()


@blueprint.post("/exemptions")
@requires("admin")
def exemption_add():
    form = flask.request.form
    try:
        day = dt.date.fromisoformat(form.get("expires_at", ""))
    except ValueError:
        return _exemptions_page(400, kit.t("请填写有效期（日期）。", "Give the expiry date."), form)
    expires = dt.datetime.combine(day, dt.time(23, 59, 59), CST).astimezone(dt.timezone.utc)
    try:
        with service().engine.begin() as conn:
            add_exemption(conn, package=form.get("package", ""), cert_sha256=form.get("cert_sha256", ""),
                          reason_category=form.get("reason_category", ""), reason=form.get("reason", ""),
                          approved_by=form.get("approved_by", "") or flask.g.staff.username, expires_at=expires,
                          actor=f"staff:{flask.g.staff.username}")
    except ExemptionInvalid as exc:
        return _exemptions_page(400, kit.error_text(exc), form)
    return flask.redirect(flask.url_for("console.exemptions"))


@blueprint.post("/exemptions/<int:exemption_id>/revoke")
@requires("admin")
def exemption_revoke(exemption_id: int):
    with service().engine.begin() as conn:
        revoke_exemption(conn, exemption_id, actor=f"staff:{flask.g.staff.username}",
                         why=flask.request.form.get("why", "")[:500])
    return flask.redirect(flask.url_for("console.exemptions"))


def _clients_page(status: int = 200, issued=None, error: str | None = None):
    with service().engine.connect() as conn:
        rows = conn.execute(select(A.c.id, A.c.name, A.c.role, A.c.disabled, A.c.callback_url, A.c.created_at,
                                   A.c.key_id).order_by(A.c.name)).all()
    return kit.render("console/clients.html", status, clients=rows, issued=issued, error=error, roles=auth.ROLES)


@blueprint.get("/clients")
@requires("viewer")
def clients():
    return _clients_page()


@blueprint.get("/trust-roots")
@requires("viewer")
def trust_roots():
    """The roots this instance trusts per platform: the shipped Apple Root CA and the operator's (settings)."""
    from gate.extract.ios import APPLE_ROOT_CA_SHA256

    return kit.render("console/trust_roots.html", 200, roots=service().settings.trust_roots.as_list(),
                      apple_root_sha256=APPLE_ROOT_CA_SHA256)


def _audit(action: str, subject: str, **details) -> None:
    with service().engine.begin() as conn:
        record_event(conn, actor=f"staff:{flask.g.staff.username}", action=action, subject=subject, details=details)


@blueprint.post("/clients")
@requires("admin")
def client_create():
    form = flask.request.form
    url = form.get("callback_url", "").strip() or None
    try:
        check_callback_url(url)  # the gate will POST there: the same SSRF rules as package_url
        issued = auth.create_client(service().engine, name=form.get("name", ""), role=form.get("role", ""),
                                    callback_url=url)
    except (auth.UsageError, UploadError) as exc:
        return _clients_page(400, error=f"{kit.error_text(exc)} ({exc.code})")
    _audit("client.create", issued.name, client_id=issued.id, role=issued.role)
    return _clients_page(issued=issued)


def _client_name(client_id: int) -> str:
    with service().engine.connect() as conn:
        name = conn.execute(select(A.c.name).where(A.c.id == client_id)).scalar()
    if name is None:
        raise auth.ClientNotFound(kit.t(f"没有客户端 {client_id}", f"no client {client_id}"))
    return name


@blueprint.post("/clients/<int:client_id>/rotate")
@requires("admin")
def client_rotate(client_id: int):
    """New API key and webhook secret at once (both shown once); the old ones stop working."""
    name = _client_name(client_id)
    api_key = auth.rotate_key(service().engine, name)
    secret = auth.rotate_secret(service().engine, name)
    _audit("client.rotate", name, client_id=client_id)
    return _clients_page(issued={"name": name, "role": "", "api_key": api_key, "webhook_secret": secret})


@blueprint.post("/clients/<int:client_id>/disable")
@requires("admin")
def client_disable(client_id: int):
    disabled = flask.request.form.get("disabled", "1") == "1"
    auth.set_disabled(service().engine, _client_name(client_id), disabled)
    _audit("client.disable" if disabled else "client.enable", str(client_id), client_id=client_id)
    return flask.redirect(flask.url_for("console.clients"))
