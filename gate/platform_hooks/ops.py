"""Operations endpoints: liveness with a database round trip, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import hmac
import ipaddress

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
    _metrics_allowed()
    return flask.Response(metrics.render(lambda: service().engine), mimetype=None,
                          content_type=metrics.CONTENT_TYPE)


def _metrics_allowed() -> None:
    """/metrics is not public: it names routes, reasons and queue sizes. With GATE_METRICS_TOKEN set, the scraper
    sends it as a Bearer token; without, only a scraper on this host (loopback) is answered."""
    token = service().settings.metrics_token
    if token is not None:
        scheme, _, given = flask.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return
        raise GateError("send GATE_METRICS_TOKEN as `Authorization: Bearer <token>` to read /metrics",
                        code="metrics_forbidden")
    try:
        loopback = ipaddress.ip_address(flask.request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    # A reverse proxy on this host makes every caller look local: a forwarded request is never "on this host".
    forwarded = any(h in flask.request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
    loopback = loopback and not forwarded
    if not loopback:
        raise GateError("/metrics answers only on this host unless GATE_METRICS_TOKEN is set",
                        code="metrics_forbidden")


@blueprint.get("/openapi.json")
def openapi_document():
    from gate.platform_hooks.openapi import document

    return flask.jsonify(document())
