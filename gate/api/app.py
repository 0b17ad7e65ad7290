"""The Flask application factory (flaskr style: no module-level app, extensions bound in the factory).

``create_app(settings)`` builds an app whose database engine is opened on first use, so building the app (for the
OpenAPI test, for gunicorn's master) touches nothing. One JSON error handler answers every failure as
``{"error": {"code", "message"}}``; an unexpected exception becomes a 500 carrying the request id, never a
traceback page.
"""

from __future__ import annotations

import logging
import time

import flask
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gate.api import request_log
from gate.api.body import MULTIPART_OVERHEAD, GateRequest, discard_spools
from gate.api.limits import RateLimited, RateLimits
from gate.api.service import GateService
from gate.config import Settings, load_settings
from gate.errors import GateError
from gate.services import health, metrics

LOGGER = logging.getLogger("gate.http")

# GateError codes that are the caller's fault or the service's state, when the error class names no status.
STATUS_BY_CODE = {"database_unavailable": 503, "schema_outdated": 503, "usage_error": 400,
                  "metrics_forbidden": 403}


def error_response(code: str, message: str, status: int) -> flask.Response:
    if flask.has_request_context() and flask.request.path.startswith("/console"):
        from gate.web.kit import html_error  # people in a browser get a page in their language, not JSON

        return html_error(code, message, status)
    response = flask.jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _handle_gate_error(exc: GateError):
    status = getattr(exc, "status", None) or STATUS_BY_CODE.get(exc.code, 500)
    if status >= 500:
        LOGGER.error("gate error", extra={"fields": {"code": exc.code, "error": exc.message}})
    response = error_response(exc.code, exc.message, status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:  # the gate's state (a full spool): when to come back
        response.headers["Retry-After"] = str(retry_after)
    return response


def _handle_http_error(exc: HTTPException):
    code = {413: "upload_too_large", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.code or 500, _snake(type(exc).__name__))
    return error_response(code, exc.description or exc.name, exc.code or 500)


def _handle_unexpected(exc: Exception):
    rid = request_log.request_id()
    LOGGER.exception("unhandled error", extra={"fields": {"error_type": type(exc).__name__}})
    return error_response("internal_error", f"unexpected error; quote request id {rid} when reporting it", 500)


def _observe(response: flask.Response) -> flask.Response:
    rule = flask.request.url_rule.rule if flask.request.url_rule else "unmatched"
    elapsed = time.perf_counter() - flask.g.get("started", time.perf_counter())
    metrics.observe_request(rule, flask.request.method, response.status_code, elapsed)
    return response


def _database_unavailable(exc: SQLAlchemyError):
    # The database went away mid-request (a restart, a failover, a killed backend): the caller may retry, so this is
    # the service's state (503), not a bug (500). Raised by SQLAlchemy, it never reaches the GateError handler.
    LOGGER.error("database unavailable", extra={"fields": {"error_type": type(exc).__name__}})
    response = error_response("database_unavailable", "the database is unavailable; retry later", 503)
    response.headers["Retry-After"] = "5"
    return response


# Every response, pages and JSON alike. The pages need their own stylesheet block and the copy fields'
# onclick="this.select()" handler (allowed by its hash, nothing else inline); the pre-check page's upload script
# posts to its own origin (connect-src, for the progress bar); nothing may frame them, and nothing
# the gate serves is to be sniffed into another type. A view that needs a different policy sets its own header.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                "script-src 'self' 'unsafe-hashes' "
                                "'sha256-biFQTroSCI3Z5BmsMGyEE2jFZdwjjG1Oe7JLytgH6jM='; form-action 'self'; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


_SECURITY_HEADERS_BY_KEY = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())


def _security_headers(response: flask.Response) -> flask.Response:
    # What setdefault per header did (the missing ones appended in this order), with the response's header names read
    # once: werkzeug's setdefault scans them twice per header, on every response.
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for key, name, value in _SECURITY_HEADERS_BY_KEY:
        if key not in present:
            headers.add(name, value)
    return response


def _count_in_flight():
    if flask.request.path not in ("/healthz", "/metrics"):  # the saturation /healthz reports (gate...health)
        health.REQUESTS.enter()
        flask.g.counted = True


class QueryInvalid(GateError):
    """A query-string value no filter can hold (HTTP 400): a page in the console, JSON elsewhere."""

    code = "query_invalid"
    status = 400


def _refuse_nul_in_path():
    # No package name, licence or check id contains NUL, and PostgreSQL refuses it inside a query parameter.
    if "\x00" in flask.request.path:
        return error_response("path_invalid", "the request path contains a NUL character", 400)
    # The same for filters (?package=%00 on the console's list pages was a 500 on PostgreSQL): no stored text
    # holds NUL, so no filter with one could match anything; say so instead of sending it to the database.
    for name, value in flask.request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise QueryInvalid(f"the query parameter {name.replace(chr(0), '?')[:64]!r} contains a NUL character")
    return None


def refusal_response(exc: RateLimited):
    """429 in the caller's form: a page for the pages (the console's or the pre-check page's), JSON for the API.
    Here in the composition root, the one module that knows both the console and the machine API."""
    path = flask.request.path
    if path.startswith("/console"):
        from gate.web.kit import error_page

        response = flask.make_response(error_page(exc))
    elif path == "/" or path.startswith("/precheck"):
        from gate.api.developer import rate_limited_page

        response = flask.make_response(rate_limited_page(exc))
    else:
        response = flask.jsonify({"error": exc.as_dict()})
        response.status_code = 429
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def create_app(settings: Settings | None = None, test_config: dict | None = None) -> flask.Flask:
    settings = settings or load_settings()
    app = flask.Flask("gate.api", template_folder="templates", static_folder=None)
    app.request_class = GateRequest
    # werkzeug refuses a larger Content-Length before reading, and caps chunked bodies while streaming.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + MULTIPART_OVERHEAD
    app.config["JSON_AS_ASCII"] = False
    json_provider = app.json
    if not isinstance(json_provider, DefaultJSONProvider):  # the two settings below are DefaultJSONProvider's
        raise TypeError("the gate's JSON answers need flask's DefaultJSONProvider")
    json_provider.ensure_ascii = False
    json_provider.sort_keys = False
    if test_config:
        app.config.update(test_config)
    app.extensions["gate"] = GateService(settings)
    request_log.configure_logging(settings.log_format)

    if settings.proxy_hops:
        # Behind TLS-terminating proxies: the caller's address and scheme are the ones they forward.
        app.wsgi_app = ProxyFix(app.wsgi_app,  # type: ignore[method-assign]  # Flask's documented way to wrap it
                                x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    rate_limits = RateLimits(storage=settings.rate_limit_storage, client=settings.rate_limit_client,
                             address=settings.rate_limit_address, upload=settings.rate_limit_upload)
    from gate.web.login_throttle import EXTENSION_KEY, LoginThrottle

    app.extensions[EXTENSION_KEY] = LoginThrottle(rate_limits.storage)

    app.before_request(request_log.begin_request)
    app.before_request(_count_in_flight)
    app.before_request(_refuse_nul_in_path)
    app.before_request(rate_limits.check)
    app.after_request(_observe)
    app.after_request(_security_headers)
    app.after_request(request_log.end_request)

    @app.teardown_request
    def _cleanup(_exc):  # nothing a request spooled outlives it unless a job claimed it
        if flask.request:
            discard_spools(flask.request)
        if flask.g.pop("counted", False):
            health.REQUESTS.leave()

    app.register_error_handler(RateLimited, refusal_response)
    app.register_error_handler(GateError, _handle_gate_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    for transient in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(transient, _database_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)

    from gate.api import applications, developer, filings_api, miniprogram_checks, ops, preinstall, store_hooks

    for module in (ops, store_hooks, preinstall, developer, filings_api, applications, miniprogram_checks):
        app.register_blueprint(module.blueprint)
    from gate.web import register as register_console  # the staff console under /console

    register_console(app)
    return app
