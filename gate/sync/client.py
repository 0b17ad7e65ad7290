"""HTTP client for the regulator's side of the protocol (docs/regulator-protocol.md).

One ``requests.Session`` (connection reuse), explicit connect/read timeouts, a ``filing-gate/<version>``
User-Agent, and retries with exponential backoff and full jitter on what a retry can cure: connection failures,
timeouts, 5xx and 429 (honouring ``Retry-After`` given as seconds or as an HTTP-date). Other 4xx answers are the
request's own fault and are raised at once.

Retrying ``POST /v1/reports`` is safe *because* every attempt carries the same ``Idempotency-Key``: when an earlier
attempt did reach the regulator but its answer was lost, the regulator answers the retry with the receipt it already
issued and records nothing new. A report must therefore be built once, keyed once, and then only re-sent.

Large reports (a million inventory items) are never held in memory twice: ``submit_report`` accepts a file object
(rewound to its starting position before every attempt and streamed by requests with a Content-Length) or a
zero-argument callable returning a fresh iterable of chunks (sent chunked). The caller should compute the
signature while writing the body (``gate.sync.signing.BodySigner``) and pass it as ``signature``; without it the
client makes one extra streaming pass over the body to sign it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import requests

import gate
from gate.sync import errors
from gate.sync.errors import RegulatorError
from gate.sync.signing import IDEMPOTENCY_HEADER, PLATFORM_HEADER, SIGNATURE_HEADER, sign_body, sign_file

log = logging.getLogger(__name__)

USER_AGENT = f"filing-gate/{gate.__version__}"
DEFAULT_TIMEOUT = (3.05, 30.0)  # (connect, read) seconds; connect slightly above a TCP retransmit multiple of 3 s
DEFAULT_FEED_LIMIT = 500
MAX_IDEMPOTENCY_KEY_LENGTH = 255
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})  # plus any other 5xx, see _retryable_status
FEED_PATH = "/v1/filings/feed"
REPORTS_PATH = "/v1/reports"
APPLICATIONS_PATH = "/v1/filings/applications"
APPLICATION_STATUSES = ("submitted", "returned", "approved", "rejected")
REPLAYED_HEADER = "Idempotent-Replayed"

# What submit_report accepts as a body: bytes, a seekable binary file, a re-iterable of byte chunks, or a
# zero-argument callable that returns a fresh iterable of chunks for each attempt.
ReportBody = bytes | BinaryIO | Iterable[bytes] | Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class FeedPage:
    """One page of the filings feed. ``next_cursor`` is opaque; store it and resume from it next time."""

    records: list[dict]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class Receipt:
    """The regulator's acknowledgement of a report (回执). ``replayed``: this key had been accepted before."""

    receipt_id: str
    accepted_items: int
    replayed: bool


class _Body:
    """Hands requests a fresh copy of the report body for each attempt, without copying it into memory."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self._start: int | None = None
        if isinstance(body, (bytes, bytearray, memoryview)):
            self._kind = "bytes"
        elif hasattr(body, "read"):
            if not (hasattr(body, "seek") and hasattr(body, "tell") and _seekable(body)):
                raise RegulatorError(errors.REPORT_BODY_NOT_REPLAYABLE,
                                     "a report body file must be seekable so that a retry can send it again")
            self._kind = "file"
            self._start = body.tell()
        elif callable(body):
            self._kind = "factory"
        elif isinstance(body, Iterable) and iter(body) is not body:
            self._kind = "iterable"
        else:
            # A generator can be consumed once; a retry would send an empty or truncated body under the same
            # idempotency key, which is exactly the silent corruption the key is meant to rule out.
            raise RegulatorError(errors.REPORT_BODY_NOT_REPLAYABLE,
                                 "a one-shot iterator cannot be re-sent on retry; pass bytes, a seekable file, "
                                 "or a callable returning a fresh iterable of chunks")

    def fresh(self) -> Any:
        if self._kind == "bytes":
            return bytes(self._body)
        if self._kind == "file":
            self._body.seek(self._start)
            return self._body
        chunks = self._body() if self._kind == "factory" else self._body
        return _chunks(chunks)

    def sign(self, secret: str) -> str:
        if self._kind == "bytes":
            return sign_body(secret, bytes(self._body))
        if self._kind == "file":
            self._body.seek(self._start)
            return sign_file(secret, self._body)  # returns to the start position
        return sign_body(secret, self.fresh())


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable()) if hasattr(stream, "seekable") else True
    except (OSError, ValueError):
        return False


def _chunks(iterable: Iterable[bytes]) -> Iterator[bytes]:
    # A generator makes requests use chunked transfer encoding instead of trying to form-encode a list.
    for chunk in iterable:
        if chunk:
            yield bytes(chunk)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def _remote_error(response: requests.Response) -> tuple[str | None, str | None]:
    """The server's ``{"error": {"code", "message"}}``, or (None, a short excerpt of whatever it sent)."""
    try:
        payload = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return None, text[:200] or None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return (code if isinstance(code, str) else None), (message if isinstance(message, str) else None)
    return None, None


class RegulatorClient:
    """Client for the regulator's filings feed and report submission. Use one per platform identity."""

    def __init__(self, base_url: str, platform_id: str, secret: str, *,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, max_attempts: int = 6,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, retry_after_cap: float = 300.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.platform_id = platform_id
        self._secret = secret
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # A server asking for a longer pause than this is treated as down: the scheduled job gives up and runs
        # again later instead of blocking a worker for an hour.
        self.retry_after_cap = retry_after_cap
        self._session = session or requests.Session()
        self._owns_session = session is None
        self._session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._rng = rng or random.Random()

    # -- the two calls -------------------------------------------------------------------------------------

    def fetch_feed(self, cursor: str | None, limit: int = DEFAULT_FEED_LIMIT) -> FeedPage:
        """One page of filing changes after ``cursor`` (None: from the beginning of the feed)."""
        params: dict[str, Any] = {"limit": int(limit)}
        if cursor:
            params["cursor"] = cursor
        headers = {PLATFORM_HEADER: self.platform_id, "Accept": "application/json"}
        response = self._send("GET", FEED_PATH, params=params, headers=headers)
        payload = self._json(response, "GET", FEED_PATH)
        records, next_cursor, has_more = (payload.get("records"), payload.get("next_cursor"),
                                          payload.get("has_more"))
        if (not isinstance(records, list) or not all(isinstance(r, dict) for r in records)
                or not isinstance(next_cursor, str) or not isinstance(has_more, bool)):
            raise RegulatorError(errors.REGULATOR_BAD_RESPONSE,
                                 f"GET {FEED_PATH}: answer lacks records/next_cursor/has_more",
                                 response.status_code)
        return FeedPage(records=records, next_cursor=next_cursor, has_more=has_more)

    def submit_report(self, body: ReportBody, idempotency_key: str, *, signature: str | None = None) -> Receipt:
        """Send one distribution report (the JSON body, see the protocol doc) and return its receipt.

        ``signature`` is the hex HMAC-SHA256 of exactly these bytes; compute it while writing the body to avoid a
        second pass. Every retry re-sends the same bytes under the same ``idempotency_key``.
        """
        _check_idempotency_key(idempotency_key)
        replayable = _Body(body)
        headers = {
            PLATFORM_HEADER: self.platform_id,
            IDEMPOTENCY_HEADER: idempotency_key,
            SIGNATURE_HEADER: signature or replayable.sign(self._secret),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        response = self._send("POST", REPORTS_PATH, headers=headers, body=replayable)
        payload = self._json(response, "POST", REPORTS_PATH)
        receipt_id, accepted = payload.get("receipt_id"), payload.get("accepted_items")
        if not isinstance(receipt_id, str) or not receipt_id or type(accepted) is not int:
            raise RegulatorError(errors.REGULATOR_BAD_RESPONSE,
                                 f"POST {REPORTS_PATH}: answer lacks receipt_id/accepted_items",
                                 response.status_code)
        replayed = payload.get("replayed") is True or response.headers.get(REPLAYED_HEADER, "") == "true"
        return Receipt(receipt_id=receipt_id, accepted_items=accepted, replayed=replayed)

    def submit_application(self, body: bytes, idempotency_key: str, *,
                           regulator_id: str | None = None) -> dict:
        """File an application (代为备案), or a correction of a returned one (``regulator_id``), and return
        ``{"application_id", "status", "replayed"}``. Retried like reports: the same bytes under the same key."""
        _check_idempotency_key(idempotency_key)
        path = APPLICATIONS_PATH if regulator_id is None else f"{APPLICATIONS_PATH}/{_segment(regulator_id)}/corrections"
        headers = {PLATFORM_HEADER: self.platform_id, IDEMPOTENCY_HEADER: idempotency_key,
                   SIGNATURE_HEADER: sign_body(self._secret, body), "Content-Type": "application/json",
                   "Accept": "application/json"}
        response = self._send("POST", path, headers=headers, body=_Body(body))
        payload = self._json(response, "POST", path)
        if not isinstance(payload.get("application_id"), str) or payload.get("status") not in APPLICATION_STATUSES:
            raise RegulatorError(errors.REGULATOR_BAD_RESPONSE, f"POST {path}: answer lacks application_id/status",
                                 response.status_code)
        replayed = payload.get("replayed") is True or response.headers.get(REPLAYED_HEADER, "") == "true"
        return {"application_id": payload["application_id"], "status": payload["status"], "replayed": replayed}

    def application_status(self, regulator_id: str) -> dict:
        """``{"application_id", "status", "reasons", "service_licence", …}`` of one application."""
        path = f"{APPLICATIONS_PATH}/{_segment(regulator_id)}"
        response = self._send("GET", path, headers={PLATFORM_HEADER: self.platform_id, "Accept": "application/json"})
        payload = self._json(response, "GET", path)
        if payload.get("status") not in APPLICATION_STATUSES or not isinstance(payload.get("reasons", []), list):
            raise RegulatorError(errors.REGULATOR_BAD_RESPONSE, f"GET {path}: answer lacks a known status",
                                 response.status_code)
        return payload

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> RegulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- retries -------------------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Full jitter (uniform in [0, min(cap, base·2^(attempt-1))]): spreads the retries of many clients."""
        return self._rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              headers: Mapping[str, str], body: _Body | None = None) -> requests.Response:
        url = self.base_url + path
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method, url, params=params, headers=dict(headers),
                    data=body.fresh() if body is not None else None,
                    timeout=self.timeout, allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                raise RegulatorError(errors.REGULATOR_TLS_ERROR, f"{method} {path}: TLS failure: {exc}",
                                     attempts=attempt) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
                if attempt == self.max_attempts:
                    raise RegulatorError(errors.REGULATOR_UNREACHABLE,
                                         f"{method} {path}: no answer after {attempt} attempts ({failure})",
                                         attempts=attempt) from None
            except requests.RequestException as exc:  # invalid URL, schema, headers: a configuration error
                raise RegulatorError(errors.REGULATOR_REJECTED, f"{method} {path}: cannot send: {exc}",
                                     attempts=attempt) from None
            else:
                status = response.status_code
                if 200 <= status <= 299:
                    return response
                remote_code, remote_message = _remote_error(response)
                failure = f"HTTP {status}" + (f" {remote_code}" if remote_code else "") + (
                    f": {remote_message}" if remote_message else "")
                if not _retryable_status(status):
                    code = (errors.REGULATOR_UNAUTHORIZED if status in (401, 403) else errors.REGULATOR_REJECTED)
                    raise RegulatorError(code, f"regulator refused {method} {path}: {failure}", status,
                                         remote_code=remote_code, remote_message=remote_message, attempts=attempt)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                if attempt == self.max_attempts or (retry_after or 0) > self.retry_after_cap:
                    raise RegulatorError(errors.REGULATOR_UNAVAILABLE,
                                         f"{method} {path}: regulator unavailable after {attempt} attempts "
                                         f"({failure})", status, remote_code=remote_code,
                                         remote_message=remote_message, attempts=attempt, retry_after=retry_after)
            wait = retry_after if retry_after is not None else self.backoff(attempt)
            log.warning("regulator %s %s attempt %d/%d failed (%s); retrying in %.2fs",
                        method, path, attempt, self.max_attempts, failure, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")  # the loop either returns or raises on its last attempt

    @staticmethod
    def _json(response: requests.Response, method: str, path: str) -> dict:
        try:
            payload = response.json()
        except (ValueError, RecursionError):  # RecursionError: a pathologically nested answer
            payload = None
        if not isinstance(payload, dict):
            raise RegulatorError(errors.REGULATOR_BAD_RESPONSE, f"{method} {path}: answer is not a JSON object",
                                 response.status_code)
        return payload


def _segment(value: str) -> str:
    """An id the regulator issued, as one URL path segment (never a way to reach another path)."""
    from urllib.parse import quote

    return quote(str(value), safe="")


def _check_idempotency_key(key: str) -> None:
    if (not isinstance(key, str) or not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH
            or not all(33 <= ord(c) <= 126 for c in key)):
        raise RegulatorError(errors.REGULATOR_REJECTED,
                             f"idempotency key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters")
