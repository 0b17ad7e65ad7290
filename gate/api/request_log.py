"""Request ids and JSON logs: every log line of a request carries its id, and the id travels back to the caller.

A caller's ``X-Request-Id`` is kept when it is a plain token (so a store can correlate its own logs); anything else
— too long, or with characters that could forge log fields — is replaced by a fresh id.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

import flask

REQUEST_ID_HEADER = "X-Request-Id"
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LOGGER = logging.getLogger("gate.http")


def request_id() -> str | None:
    if flask.has_request_context():
        return flask.g.get("request_id")
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            entry["request_id"] = rid
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(fmt: str) -> None:
    """Install one stderr handler on the ``gate`` logger (idempotent: app factories run once per test too)."""
    logger = logging.getLogger("gate")
    for handler in list(logger.handlers):
        if getattr(handler, "_gate", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._gate = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def begin_request() -> None:
    incoming = flask.request.headers.get(REQUEST_ID_HEADER, "")
    flask.g.request_id = incoming if _TOKEN.fullmatch(incoming) else uuid.uuid4().hex
    flask.g.started = time.perf_counter()


def end_request(response: flask.Response) -> flask.Response:
    response.headers[REQUEST_ID_HEADER] = flask.g.get("request_id", "")
    elapsed = time.perf_counter() - flask.g.get("started", time.perf_counter())
    LOGGER.info("request", extra={"fields": {
        "method": flask.request.method, "path": flask.request.path, "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 1), "client": flask.g.get("client_name")}})
    return response
