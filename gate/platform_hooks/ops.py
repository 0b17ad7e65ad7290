"""Operations endpoints: liveness with a database round trip, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gate.errors import GateError
from gate.platform_hooks import metrics
from gate.platform_hooks.service import service

blueprint = flask.Blueprint("ops", __name__)


@blueprint.get("/healthz")
def healthz():
    try:
        with service().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except GateError as exc:
        return flask.jsonify({"status": "unavailable", "database": exc.as_dict()}), 503
    except SQLAlchemyError:
        return flask.jsonify({"status": "unavailable",
                              "database": {"code": "database_unavailable", "message": "the query failed"}}), 503
    return flask.jsonify({"status": "ok", "database": "ok"})


@blueprint.get("/metrics")
def prometheus_metrics():
    return flask.Response(metrics.render(lambda: service().engine), mimetype=None,
                          content_type=metrics.CONTENT_TYPE)


@blueprint.get("/openapi.json")
def openapi_document():
    from gate.platform_hooks.openapi import document

    return flask.jsonify(document())
