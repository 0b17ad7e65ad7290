"""Developers (开发者): the pre-check API and the upload page showing what to copy into the filing form."""

from __future__ import annotations

import flask

from gate.platform_hooks import checks, metrics
from gate.platform_hooks.access import client_for
from gate.platform_hooks.app import service
from gate.platform_hooks.body import read_multipart_package
from gate.platform_hooks.intake import check_upload
from gate.platform_hooks.uploads import UploadError

blueprint = flask.Blueprint("developer", __name__)


@blueprint.post("/api/v1/checks")
def create_check():
    return check_upload(client_for("developer"), signed=False, allow_url=False)


@blueprint.get("/api/v1/checks/<check_id>")
def get_check(check_id: str):
    # Stores poll the status_url of their queued uploads here too; a client sees only its own checks.
    client = client_for("developer", "store")
    with service().engine.connect() as conn:
        row, answer = checks.load_outcome(conn, check_id)
    if client.role != "admin" and row.client_id != client.id:
        raise checks.CheckNotFound(f"no check {check_id}")  # 404, not 403: ids of others are not confirmed
    return flask.jsonify(answer)


# --- the page -----------------------------------------------------------------------------------------------

def _lang() -> str:
    return "en" if flask.request.args.get("lang") == "en" else "zh"


def _page_open() -> None:
    if service().settings.precheck_page != "open":
        flask.abort(404)


@blueprint.get("/")
@blueprint.get("/precheck")
def precheck_page():
    _page_open()
    return flask.render_template("precheck.html", lang=_lang(), facts=None, decision=None, error=None)


@blueprint.post("/precheck")
def precheck_submit():
    _page_open()
    lang = _lang()
    try:
        spooled, filename, _ = read_multipart_package(flask.request)
    except UploadError as exc:
        return flask.render_template("precheck.html", lang=lang, facts=None, decision=None, error=exc), exc.status
    try:
        metrics.UPLOAD_BYTES.inc(spooled.size)
        facts, decision = checks.check_unregistered(service().engine, path=spooled.path, filename=filename,
                                                    policy=service().policy, actor="precheck-page")
    finally:
        spooled.discard()
    metrics.observe_decision(decision)
    return flask.render_template("precheck.html", lang=lang, facts=facts, decision=decision, error=None)
