"""Webhook signatures: ``X-Gate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>." + raw body)>``.

The same scheme signs the callbacks the gate sends to stores. The HMAC is computed incrementally so a large upload
is authenticated while it streams to disk, never by holding the body in memory. Signatures are compared in constant
time, and a timestamp outside the replay window is refused even when the HMAC is right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from gate.errors import GateError

HEADER = "X-Gate-Signature"
REPLAY_WINDOW_SECONDS = 300
# ASCII only: header values arrive decoded as latin-1, and str.isdigit() accepts digits int() refuses ("²") or
# reads in other scripts, while hmac.compare_digest raises TypeError on non-ASCII text. Twelve digits reach year 33658.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAC = re.compile(r"[0-9a-fA-F]{64}")


class SignatureError(GateError):
    """A webhook whose signature is missing, malformed, wrong or stale (HTTP 401)."""

    code = "signature_invalid"
    status = 401


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The header value for ``body`` (used for outgoing callbacks and by tests and docs)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def parse_header(value: str | None) -> tuple[int, list[str]]:
    if not value:
        raise SignatureError(f"the {HEADER} header is missing", code="signature_missing")
    timestamp, macs = None, []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and _TIMESTAMP.fullmatch(item):
            timestamp = int(item)
        elif key == "v1" and _MAC.fullmatch(item):
            macs.append(item.lower())
    if timestamp is None or not macs:
        raise SignatureError(f"the {HEADER} header must look like t=<unix seconds>,v1=<64 hex digits>",
                             code="signature_malformed")
    return timestamp, macs


class StreamingVerifier:
    """Feed the raw body with ``update``; ``verify`` then raises SignatureError unless it was signed with ``secret``."""

    def __init__(self, header: str | None, secret: str, *, now: float | None = None,
                 window: int = REPLAY_WINDOW_SECONDS) -> None:
        self.timestamp, self._macs = parse_header(header)
        current = time.time() if now is None else now
        if abs(current - self.timestamp) > window:
            raise SignatureError(f"the signature timestamp is more than {window} s from now (replayed or clock skew)",
                                 code="signature_stale")
        self._hmac = hmac.new(secret.encode(), f"{self.timestamp}.".encode(), hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        self._hmac.update(chunk)

    def verify(self) -> None:
        expected = self._hmac.hexdigest()
        # Every candidate is compared, in constant time, so timing tells nothing about which one was close.
        if not any([hmac.compare_digest(expected, mac) for mac in self._macs]):
            raise SignatureError("the webhook signature does not match the body", code="signature_mismatch")


def verify(header: str | None, body: bytes, secret: str, *, now: float | None = None,
           window: int = REPLAY_WINDOW_SECONDS) -> None:
    verifier = StreamingVerifier(header, secret, now=now, window=window)
    verifier.update(body)
    verifier.verify()
