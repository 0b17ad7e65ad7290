"""App stores (应用分发平台): the upload webhook, listing events, and the filing-number badge for store pages."""

from __future__ import annotations

import flask

from gate.api.access import client_for
from gate.api.body import read_json, start_signature_check
from gate.api.intake import check_upload
from gate.api.service import service
from gate.services import listings
from gate.services.uploads import UploadError

blueprint = flask.Blueprint("store", __name__)


@blueprint.post("/api/v1/hooks/store/upload")
def upload():
    return check_upload(client_for("store"), signed=True, allow_url=True)


@blueprint.post("/api/v1/hooks/store/listings")
def listing_events():
    client = client_for("store")
    verifier = start_signature_check(flask.request, client.webhook_secret)
    body = read_json(flask.request)
    verifier.verify()
    events = listings.parse_events(body)
    return flask.jsonify(listings.record_events(service().engine, client.id, events))


@blueprint.get("/api/v1/badge/<path:package>")
def badge(package: str):
    client_for("store")
    from gate.api.filings_api import BADGE_LABELS, badge_for

    platform = flask.request.args.get("platform", "android")
    if platform not in BADGE_LABELS:
        raise UploadError(f"platform must be one of {', '.join(BADGE_LABELS)}", code="platform_invalid")
    info = badge_for(service().engine, package, platform)
    wants_html = flask.request.args.get("format") == "html" or (
        flask.request.args.get("format") is None
        and flask.request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html")
    if wants_html:
        html = flask.render_template("badge.html", info=info)
        return flask.Response(html, mimetype="text/html")
    return flask.jsonify(info)
