"""The sandbox regulator's Flask application: the protocol endpoints plus ``/_sandbox/`` inspection.

``create_app`` takes its store, secret and fault plan as arguments (no module-level app, no environment), so tests
and the CLI build exactly the server they want.
"""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Iterator

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from gate.errors import GateError
from gate.sync.sandbox import page
from gate.sync.sandbox.applications import MAX_APPLICATION_BYTES, ApplicationDesk, ApplicationScript
from gate.sync.sandbox.faults import FaultPlan
from gate.sync.sandbox.feed import FeedError, check_records, decode_cursor, encode_cursor
from gate.sync.sandbox.reports import MAX_REPORT_BYTES, check_signature, drain, receive_report, spool_body
from gate.sync.sandbox.store import SandboxStore, StoredReport
from gate.sync.signing import IDEMPOTENCY_HEADER, PLATFORM_HEADER, SIGNATURE_HEADER, sign_body, signature_matches

OPENAPI_PATH = pathlib.Path(__file__).resolve().parent.parent / "regulator-openapi.json"
DEFAULT_FEED_LIMIT = 100
MAX_FEED_LIMIT = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


class ApiError(GateError):
    """An error answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, message: str, *, code: str, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.headers = headers or {}


def create_app(store: SandboxStore, *, secret: str, faults: FaultPlan | None = None,
               max_report_bytes: int = MAX_REPORT_BYTES, applications: ApplicationScript | None = None) -> Flask:
    app = Flask("gate.sync.sandbox")
    faults = faults or FaultPlan()
    desk = ApplicationDesk(store, applications or ApplicationScript())
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.errorhandler(GateError)
    def _gate_error(exc: GateError):
        status = getattr(exc, "status", 400)
        return _error(exc.code, exc.message, status, getattr(exc, "headers", None))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(code, exc.description or exc.name, exc.code or 500)

    @app.before_request
    def _latency() -> None:
        if faults.latency > 0 and request.path.startswith("/v1/"):
            time.sleep(faults.latency)

    @app.get("/openapi.json")
    def openapi():
        return Response(OPENAPI_PATH.read_bytes(), mimetype="application/json")

    @app.get("/v1/filings/feed")
    def filings_feed():
        _platform_id()
        limit = _limit(request.args.get("limit"))
        key = store.cursor_key()
        cursor = request.args.get("cursor") or ""
        try:
            after = decode_cursor(key, cursor) if cursor else 0
        except FeedError as exc:
            raise ApiError(exc.message, code=exc.code, status=400) from None
        if after > store.feed_size():
            raise ApiError("cursor points past the end of this feed", code="cursor_invalid", status=400)
        rows = store.feed_after(after, limit + 1)  # one extra row tells whether more remain
        page_rows, has_more = rows[:limit], len(rows) > limit
        last = page_rows[-1][0] if page_rows else after
        return {"records": [record for _, record in page_rows], "next_cursor": encode_cursor(key, last),
                "has_more": has_more}

    @app.post("/v1/reports")
    def submit_report():
        store.bump("attempts")
        stream = request.stream
        try:
            if faults.take_failure():
                raise ApiError("the regulator is temporarily unavailable (injected by --fail-first)",
                               code="unavailable", status=503, headers={"Retry-After": str(faults.retry_after)})
            platform_id = _platform_id()
            key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
            if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise ApiError(f"{IDEMPOTENCY_HEADER} header is required (1-{MAX_IDEMPOTENCY_KEY_LENGTH} chars)",
                               code="idempotency_key_missing", status=400)
            body = spool_body(stream, secret, max_bytes=max_report_bytes)
        except GateError:
            drain(stream)
            raise
        with body.file:
            check_signature(body, request.headers.get(SIGNATURE_HEADER))
            report, replayed = receive_report(store, body, platform_id=platform_id, idempotency_key=key)
        answer = {"receipt_id": report.receipt_id, "accepted_items": report.accepted_items, "replayed": replayed}
        response = app.json.response(answer)
        response.status_code = 200 if replayed else 201
        response.headers[REPLAYED_HEADER] = "true" if replayed else "false"
        return response

    def _signed_application(application_id: str | None):
        platform_id = _platform_id()
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ApiError(f"{IDEMPOTENCY_HEADER} header is required (1-{MAX_IDEMPOTENCY_KEY_LENGTH} chars)",
                           code="idempotency_key_missing", status=400)
        if (request.content_length or 0) > MAX_APPLICATION_BYTES:
            raise ApiError("the application is too large", code="application_too_large", status=413)
        raw = request.get_data(cache=False)
        if not signature_matches(sign_body(secret, raw), request.headers.get(SIGNATURE_HEADER)):
            raise ApiError("X-Signature is missing or is not the HMAC-SHA256 of the body with the shared secret",
                           code="signature_invalid", status=401)
        answer, replayed = desk.submit(platform_id=platform_id, key=key, raw=raw, application_id=application_id)
        response = app.json.response(answer)
        response.status_code = 200 if replayed else 201
        response.headers[REPLAYED_HEADER] = "true" if replayed else "false"
        return response

    @app.post("/v1/filings/applications")
    def submit_application():
        return _signed_application(None)

    @app.post("/v1/filings/applications/<application_id>/corrections")
    def correct_application(application_id: str):
        return _signed_application(application_id)

    @app.get("/v1/filings/applications/<application_id>")
    def application_status(application_id: str):
        return desk.status(application_id, _platform_id())

    @app.get("/_sandbox/applications")
    def sandbox_applications():
        return {"applications": desk.all()}

    @app.get("/_sandbox/reports")
    def sandbox_reports():
        with_items = request.args.get("items", "1") not in ("0", "false", "no")
        return Response(_reports_json(store, with_items), mimetype="application/json")

    @app.post("/_sandbox/feed")
    def sandbox_feed():
        payload = request.get_json(silent=True)
        if payload is None:
            raise ApiError("body must be JSON: a filing record, an array of them, or {\"records\": [...]}",
                           code="feed_invalid", status=400)
        try:
            records = check_records(payload, source="request body")
        except FeedError as exc:
            raise ApiError(exc.message, code=exc.code, status=422) from None
        appended = store.append_feed(records)
        return {"appended": appended, "feed_size": store.feed_size()}

    @app.get("/_sandbox/")
    def sandbox_page():
        return Response(page.render(store.reports(), store.counters(), store.feed_size()),
                        mimetype="text/html")

    return app


def _error(code: str, message: str, status: int, headers: dict[str, str] | None = None):
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json", headers=headers or {})


def _platform_id() -> str:
    platform_id = request.headers.get(PLATFORM_HEADER, "").strip()
    if not platform_id:
        raise ApiError(f"{PLATFORM_HEADER} header is required", code="platform_id_missing", status=400)
    return platform_id


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_FEED_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FEED_LIMIT:
        raise ApiError(f"limit must be an integer from 1 to {MAX_FEED_LIMIT}", code="limit_invalid", status=400)
    return int(raw)


def _reports_json(store: SandboxStore, with_items: bool) -> Iterator[str]:
    """``GET /_sandbox/reports`` streamed: a million inventory items are written out without a list in memory."""
    counters = store.counters()
    yield '{"reports": ['
    for index, report in enumerate(store.reports()):
        yield ("," if index else "") + _report_head(report)
        for kind in ("events", "inventory"):
            if with_items:
                yield f', "{kind}": ['
                for number, item in enumerate(store.report_items(report.id, kind)):
                    yield ("," if number else "") + item
                yield "]"
        yield "}"
    yield "], " + ", ".join(f'"{name}": {counters.get(name, 0)}'
                            for name in ("attempts", "replays", "overlaps", "gaps", "dropped")) + "}"


def _report_head(report: StoredReport) -> str:
    head = {"idempotency_key": report.idempotency_key, "receipt_id": report.receipt_id,
            "platform_id": report.platform_id, "period_start": report.period_start,
            "period_end": report.period_end, "received_at": report.received_at,
            "events_count": report.events_count, "inventory_count": report.inventory_count,
            "overlap": report.overlap, "gap": report.gap}
    return json.dumps(head, ensure_ascii=False)[:-1]  # left open: the item arrays follow
