"""Admin pages: the exemption register (everyone may read it; admins add and revoke) and API clients (create,
rotate secrets, disable). Every change is audited in the transaction that makes it."""

from __future__ import annotations

import datetime as dt

import flask
from sqlalchemy import select

from gate.api.intake import check_callback_url
from gate.api.service import service
from gate.db.audit import record_event
from gate.db.console_tables import Exemption as ExemptionRow
from gate.db.exemptions import add_exemption, exemptions_query, list_exemptions, record_of, revoke_exemption
from gate.db.service_tables import ApiClient
from gate.db.tables import table_of, utcnow
from gate.exemptions import REASON_CATEGORIES, ExemptionInvalid
from gate.services import auth
from gate.services.uploads import UploadError
from gate.web import kit, paging
from gate.web.blueprint import blueprint
from gate.web.kit import requires

A = table_of(ApiClient)
E = table_of(ExemptionRow)
CST = dt.timezone(dt.timedelta(hours=8))


def _exemptions_page(status: int = 200, error: str | None = None, form=None):
    search, state = flask.request.args.get("q", "").strip()[:128], flask.request.args.get("state") or None
    query = exemptions_query(search=search or None, state=state if state in ("active", "expired", "revoked") else None)
    with service().engine.connect() as conn:
        page = paging.paginate(conn, query, sorts=[paging.Sort("id", E.c.id, descending_first=True),
                                                   paging.Sort("expires", E.c.expires_at)],
                               default="-id", tie=E.c.id, filtered=bool(search or state))
    found = [record_of(r) for r in page.rows]
    return kit.render("console/exemptions.html", status, exemptions=found, now=utcnow(), page=page,
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
    expires = dt.datetime.combine(day, dt.time(23, 59, 59), CST).astimezone(dt.UTC)
    try:
        with service().engine.begin() as conn:
            add_exemption(conn, package=form.get("package", ""), cert_sha256=form.get("cert_sha256", ""),
                          reason_category=form.get("reason_category", ""), reason=form.get("reason", ""),
                          approved_by=flask.g.staff.username, expires_at=expires,
                          actor=f"staff:{flask.g.staff.username}")
    except ExemptionInvalid as exc:
        return _exemptions_page(400, kit.error_text(exc), form)
    return flask.redirect(flask.url_for("console.exemptions"))


def _confirm(title: str, consequence: str, action: str, button: str, back: str, *, reason_field: bool = False,
             error: str | None = None, hidden: dict | None = None, status: int = 200):
    """The page between a destructive button and its effect: it names the consequence (and asks why)."""
    return kit.render("console/confirm.html", status, title=title, consequence=consequence, action=action,
                      button=button, back=back, reason_field=reason_field, error=error, hidden=hidden)


def _exemption(exemption_id: int):
    with service().engine.connect() as conn:
        found = next((e for e in list_exemptions(conn) if e.id == exemption_id), None)
    if found is None:
        from gate.db.exemptions import ExemptionNotFound

        raise ExemptionNotFound(kit.t(f"没有豁免 #{exemption_id}", f"no exemption #{exemption_id}"))
    return found


def _revoke_confirmation(exemption_id: int, error: str | None = None, status: int = 200):
    e = _exemption(exemption_id)
    return _confirm(kit.t(f"撤销豁免 #{e.id}", f"Revoke exemption #{e.id}"),
                    kit.t(f"撤销后，预置检查中的 {e.package}（证书 SHA-256 {e.cert_sha256[:16]}…）将不再按豁免放行："
                          "未备案的系统镜像会立即被拦截。此操作不能撤回（可重新登记）。",
                          f"Once revoked, preinstall checks of {e.package} (certificate SHA-256 "
                          f"{e.cert_sha256[:16]}…) no longer pass under this exemption: an image carrying it unfiled "
                          "blocks at once. This cannot be undone (record a new exemption instead)."),
                    flask.url_for("console.exemption_revoke", exemption_id=e.id), kit.t("撤销豁免", "Revoke"),
                    flask.url_for("console.exemptions"), reason_field=True, error=error, status=status)


@blueprint.get("/exemptions/<int:exemption_id>/revoke")
@requires("admin")
def exemption_revoke_confirm(exemption_id: int):
    return _revoke_confirmation(exemption_id)


@blueprint.post("/exemptions/<int:exemption_id>/revoke")
@requires("admin")
def exemption_revoke(exemption_id: int):
    why = flask.request.form.get("why", "").strip()[:500]
    if flask.request.form.get("confirm") != "1" or not why:
        return _revoke_confirmation(exemption_id, kit.t("请填写撤销原因。", "Give the reason for revoking.")
                                    if flask.request.form.get("confirm") == "1" else None, 400)
    with service().engine.begin() as conn:
        revoke_exemption(conn, exemption_id, actor=f"staff:{flask.g.staff.username}", why=why)
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


def _client(client_id: int):
    with service().engine.connect() as conn:
        row = conn.execute(select(A.c.id, A.c.name, A.c.role, A.c.disabled).where(A.c.id == client_id)).first()
    if row is None:
        raise auth.ClientNotFound(kit.t(f"没有客户端 {client_id}", f"no client {client_id}"))
    return row


def _rotate_confirmation(client_id: int, status: int = 200):
    c = _client(client_id)
    return _confirm(kit.t(f"轮换 {c.name} 的密钥", f"Rotate the secrets of {c.name}"),
                    kit.t(f"将同时生成新的 API 密钥和回调签名密钥，只显示一次。{c.name} 现用的密钥会立即失效："
                          "它的系统在换上新密钥之前，所有上传和查询都会被拒绝，收到的回调签名也无法验证。",
                          f"A new API key and webhook secret are issued together and shown once. {c.name}'s "
                          "current ones stop working at once: its integration is refused until it uses the new key, "
                          "and it cannot verify callbacks until it has the new secret."),
                    flask.url_for("console.client_rotate", client_id=c.id), kit.t("轮换密钥", "Rotate now"),
                    flask.url_for("console.clients"), status=status)


@blueprint.get("/clients/<int:client_id>/rotate")
@requires("admin")
def client_rotate_confirm(client_id: int):
    return _rotate_confirmation(client_id)


@blueprint.post("/clients/<int:client_id>/rotate")
@requires("admin")
def client_rotate(client_id: int):
    """New API key and webhook secret at once (both shown once); the old ones stop working."""
    if flask.request.form.get("confirm") != "1":
        return _rotate_confirmation(client_id, 400)
    client = _client(client_id)
    api_key = auth.rotate_key(service().engine, client.name)
    secret = auth.rotate_secret(service().engine, client.name)
    _audit("client.rotate", client.name, client_id=client_id)
    return _clients_page(issued={"name": client.name, "role": client.role, "api_key": api_key,
                                 "webhook_secret": secret})


def _disable_confirmation(client_id: int, status: int = 200):
    c = _client(client_id)
    return _confirm(kit.t(f"停用 {c.name}", f"Disable {c.name}"),
                    kit.t(f"停用后 {c.name} 的 API 密钥立即被拒绝，给它的回调暂停发送，直到重新启用。",
                          f"Once disabled, {c.name}'s API key is refused at once and its callbacks wait until it is "
                          "enabled again."),
                    flask.url_for("console.client_disable", client_id=c.id), kit.t("停用", "Disable"),
                    flask.url_for("console.clients"), hidden={"disabled": "1"}, status=status)


@blueprint.get("/clients/<int:client_id>/disable")
@requires("admin")
def client_disable_confirm(client_id: int):
    return _disable_confirmation(client_id)


@blueprint.post("/clients/<int:client_id>/disable")
@requires("admin")
def client_disable(client_id: int):
    disabled = flask.request.form.get("disabled", "1") == "1"
    if disabled and flask.request.form.get("confirm") != "1":  # enabling again needs no second thought
        return _disable_confirmation(client_id, 400)
    client = _client(client_id)
    auth.set_disabled(service().engine, client.name, disabled)
    _audit("client.disable" if disabled else "client.enable", client.name, client_id=client_id)
    return flask.redirect(flask.url_for("console.clients"))
