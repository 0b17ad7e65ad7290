"""``POST /api/v1/preinstall/checks``: a device maker's preinstall list (JSON or CSV) in, per-item verdicts out;
the checking is gate.services.preinstall's."""

from __future__ import annotations

import flask

from gate.api.access import client_for
from gate.api.body import read_json, read_text
from gate.api.service import service
from gate.db.exemptions import exemption_lookup
from gate.services.preinstall import check_items, database_lookup, parse_csv
from gate.services.uploads import UploadError

blueprint = flask.Blueprint("preinstall", __name__)


@blueprint.post("/api/v1/preinstall/checks")
def preinstall_checks():
    client_for("oem")
    request = flask.request
    if request.mimetype in ("text/csv", "application/csv"):
        items = parse_csv(read_text(request))
    elif request.mimetype == "application/json":
        body = read_json(request)
        items = body.get("items") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise UploadError('send a JSON array of items, or {"items": [...]}', code="body_invalid")
    else:
        raise UploadError("send application/json or text/csv", code="content_type_unsupported", status=415)
    return flask.jsonify(check_items(items, lookup=database_lookup(service().engine), policy=service().policy,
                                     exemptions=exemption_lookup(service().engine)))
