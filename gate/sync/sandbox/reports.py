"""Receiving a distribution report: spool and authenticate the body, then parse and record it item by item.

Order matters: the body is streamed to a spool file while its HMAC is computed (a multi-hundred-MB report never
sits in memory), the signature is checked before a single byte is parsed (an unauthenticated body is untrusted
input), and only then is the idempotency key looked up, under the store lock, so that concurrent retries of one
report record it once.
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from gate.errors import GateError
from gate.sync.sandbox.report_stream import ReportSyntaxError, iter_report
from gate.sync.sandbox.store import PendingReport, SandboxStore, StoredReport
from gate.sync.signing import BodySigner, signature_matches

MAX_REPORT_BYTES = 2 << 30       # 2 GiB: a million inventory items is a few hundred MB
SPOOL_IN_MEMORY = 8 << 20        # bodies up to 8 MiB stay in memory, larger ones go to a temporary file
READ_BYTES = 1 << 20
REQUIRED_MEMBERS = ("platform_id", "period_start", "period_end", "events", "inventory")
REQUIRED_ITEM_FIELDS = {
    "events": ("action", "at", "platform", "identifier"),
    "inventory": ("service_licence", "platform", "identifier", "listed_since"),
}
EVENT_ACTIONS = ("listed", "delisted")


class ReportRejected(GateError):
    """The report is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class SpooledBody:
    file: IO[bytes]
    size: int
    sha256: str
    signature: str  # hex HMAC-SHA256 with the shared secret


def spool_body(stream: IO[bytes], secret: str, *, max_bytes: int = MAX_REPORT_BYTES) -> SpooledBody:
    """Copy the request body to a spool file, hashing and signing it in the same pass."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    signer, digest, size = BodySigner(secret), hashlib.sha256(), 0
    while chunk := stream.read(READ_BYTES):
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise ReportRejected(f"report body exceeds {max_bytes} bytes", code="report_too_large", status=413)
        signer.update(chunk)
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return SpooledBody(spool, size, digest.hexdigest(), signer.hexdigest())


def check_signature(body: SpooledBody, given: str | None) -> None:
    if not signature_matches(body.signature, given):
        raise ReportRejected("X-Signature is missing or is not the HMAC-SHA256 of the body with the shared secret",
                             code="signature_invalid", status=401)


def receive_report(store: SandboxStore, body: SpooledBody, *, platform_id: str,
                   idempotency_key: str) -> tuple[StoredReport, bool]:
    """Record an authenticated report, or find the one recorded under the same key: (report, replayed)."""
    with store.transaction() as conn:
        earlier = store.find_report(conn, platform_id, idempotency_key)
        if earlier is not None:
            if earlier.body_sha256 != body.sha256:
                # Reusing a key for different content is a client bug that would silently drop the new report.
                raise ReportRejected("this Idempotency-Key was already used for a different report body",
                                     code="idempotency_key_reused", status=409)
            store.bump("replays", conn=conn)
            return earlier, True
        pending = PendingReport(conn)
        fields = _parse_into(pending, body.file)
        header = _check_header(fields, platform_id)
        overlap, gap = store.period_defects(conn, platform_id, header["start_ts"], header["end_ts"])
        report = store.insert_report(conn, pending, platform_id=platform_id, key=idempotency_key,
                                     body_sha256=body.sha256, overlap=overlap, gap=gap, **header)
        return report, False


def _parse_into(pending: PendingReport, raw: IO[bytes]) -> dict[str, Any]:
    text = codecs.getreader("utf-8")(raw, "strict")
    fields: dict[str, Any] = {}
    try:
        for kind, name, value in iter_report(text):
            if kind in ("field", "array"):
                fields[name] = value
                continue
            problem = _item_problem(name, value)
            if problem:
                raise ReportRejected(f"{name}[{pending.counts[name]}]: {problem}", code="report_invalid",
                                     status=422)
            pending.add_item(name, value)
    except ReportSyntaxError as exc:
        raise ReportRejected(f"report body is not valid JSON: {exc}", code="report_malformed", status=400) from None
    except UnicodeDecodeError:
        raise ReportRejected("report body is not UTF-8", code="report_malformed", status=400) from None
    return fields


def _item_problem(kind: str, item: Any) -> str | None:
    if not isinstance(item, dict):
        return "must be a JSON object"
    missing = [f for f in REQUIRED_ITEM_FIELDS[kind] if item.get(f) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    if kind == "events" and item["action"] not in EVENT_ACTIONS:
        return f"action must be one of {', '.join(EVENT_ACTIONS)}"
    return None


def _check_header(fields: dict[str, Any], platform_id: str) -> dict[str, Any]:
    missing = [m for m in REQUIRED_MEMBERS if m not in fields]
    if missing:
        raise ReportRejected(f"report lacks {', '.join(missing)}", code="report_invalid", status=422)
    if fields["platform_id"] != platform_id:
        raise ReportRejected("platform_id in the body differs from X-Platform-Id", code="platform_mismatch",
                             status=422)
    start_ts = _instant(fields["period_start"], "period_start")
    end_ts = _instant(fields["period_end"], "period_end")
    if end_ts <= start_ts:
        raise ReportRejected("period_end must be after period_start", code="report_invalid", status=422)
    return {"period_start": fields["period_start"], "period_end": fields["period_end"],
            "start_ts": start_ts, "end_ts": end_ts}


def _instant(value: Any, name: str) -> float:
    """Seconds since the epoch of an ISO 8601 instant that states its UTC offset (e.g. +08:00)."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ReportRejected(f"{name} must be an ISO 8601 date-time with a UTC offset, e.g. "
                             "2024-06-01T00:00:00+08:00", code="report_invalid", status=422)
    return when.timestamp()


def drain(stream: IO[bytes]) -> None:
    """Read and discard a request body we refuse, so the client sees our answer rather than a reset."""
    while stream.read(READ_BYTES):
        pass
