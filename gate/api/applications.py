"""Developers file through the platform (代为备案): create, follow and correct filing applications over the API.

The work is in gate.sync.applications; this module authenticates (developer clients, each seeing only its own
applications), reads the JSON, and tries the submission once right after the commit with a short-lived regulator
client. If the regulator cannot be reached the application stays ``pending`` and ``gate sync applications`` (or the
next call) sends the same bytes under the same key.
"""

from __future__ import annotations

from typing import Any

import flask

from gate.api.access import client_for
from gate.api.body import gate_request, read_json
from gate.api.service import service
from gate.errors import ConfigError
from gate.pii import Sealer
from gate.sync import applications

blueprint = flask.Blueprint("applications", __name__)
SEND_ATTEMPTS = 2  # inside a request: one retry, then the sync job takes over


def _answer_error(exc: applications.ApplicationError):
    body: dict[str, dict[str, Any]] = {"error": {"code": exc.code, "message": exc.message}}
    if exc.problems:
        body["error"]["problems"] = exc.problems
    response = flask.jsonify(body)
    response.status_code = exc.status
    return response


def _try_send(application_id: str, sealer: Sealer) -> None:
    from gate.sync.jobs import regulator_client

    try:
        regulator = regulator_client(service().settings, max_attempts=SEND_ATTEMPTS, retry_after_cap=5)
    except ConfigError:
        return  # not configured here: stays pending for `gate sync applications` on a configured instance
    with regulator:
        applications.send_pending(service().engine, regulator, sealer, application_id=application_id)


@blueprint.post("/api/v1/filing-applications")
def create_application():
    client = client_for("developer")
    sealer = Sealer(service().settings.pii_key)
    try:
        created = applications.create(service().engine, client=client, raw=read_json(gate_request()), sealer=sealer,
                                      name_similarity_min=service().policy.name_similarity)
    except applications.ApplicationError as exc:
        return _answer_error(exc)
    _try_send(created["application_id"], sealer)
    response = flask.jsonify(applications.load(service().engine, created["application_id"], client_id=client.id))
    response.status_code = 201
    return response


@blueprint.get("/api/v1/filing-applications/<application_id>")
def get_application(application_id: str):
    client = client_for("developer")
    try:
        return flask.jsonify(applications.load(service().engine, application_id,
                                               client_id=None if client.role == "admin" else client.id))
    except applications.ApplicationError as exc:
        return _answer_error(exc)


@blueprint.post("/api/v1/filing-applications/<application_id>/corrections")
def correct_application(application_id: str):
    client = client_for("developer")
    sealer = Sealer(service().settings.pii_key)
    try:
        applications.correct(service().engine, client=client, application_id=application_id,
                             raw=read_json(gate_request()), sealer=sealer,
                             name_similarity_min=service().policy.name_similarity)
    except applications.ApplicationError as exc:
        return _answer_error(exc)
    _try_send(application_id, sealer)
    return flask.jsonify(applications.load(service().engine, application_id, client_id=client.id))
