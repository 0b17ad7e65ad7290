"""Operations endpoints: liveness with a database round trip, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import hmac
import ipaddress

import flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gate.api.service import service
from gate.errors import GateError
from gate.services import health, metrics

blueprint = flask.Blueprint("ops", __name__)


def _probe_database(gate) -> None:
    with gate.engine.connect() as conn:  # on the probe's thread: no Flask context here
        conn.execution_options(deadline_seconds=health.PROBE_STATEMENT_SECONDS).execute(text("SELECT 1"))


def _unavailable(code: str, message: str, **extra):
    response = flask.jsonify({"status": "unavailable", "database": {"code": code, "message": message}, **extra})
    response.headers["Retry-After"] = "5"
    return response, 503


@blueprint.get("/healthz")
def healthz():
    """200 when this instance can take work: the database answered within health.PROBE_SECONDS and a request
    thread is free; 503 with a code otherwise (gate.services.health)."""
    try:
        gate = service()
        health.HEALTH.run(lambda: _probe_database(gate))
    except GateError as exc:
        return _unavailable(exc.code, exc.message)
    except health.ProbeUnanswered as exc:
        return _unavailable("database_unavailable", str(exc))
    except SQLAlchemyError:
        return _unavailable("database_unavailable", "the query failed")
    threads = service().settings.serve_threads
    if threads > 1 and health.REQUESTS.count >= threads - 1:  # every thread but this probe's is busy
        response = flask.jsonify({"status": "overloaded", "database": "ok", "error": {
            "code": "overloaded", "message": f"all {threads} request threads of this process are busy"}})
        response.headers["Retry-After"] = "5"
        return response, 503
    # The operator's extra trust roots (gate.extract.trust): which signing services this instance trusts.
    return flask.jsonify({"status": "ok", "database": "ok", "trust_roots": service().settings.trust_roots.as_list()})


@blueprint.get("/metrics")
def prometheus_metrics():
    _metrics_allowed()
    gate = service()  # the collector runs on a probe thread, outside the request's context
    return flask.Response(metrics.render(lambda: gate.engine), mimetype=None,
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
    from gate.api.openapi import document

    return flask.jsonify(document())
