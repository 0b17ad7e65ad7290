"""X-Signature of regulator requests: hex HMAC-SHA256 of the raw body, keyed with the shared secret.

A distribution report may hold a million inventory items (hundreds of MB), so the signature is computed in one
streaming pass over chunks and compared in constant time (``hmac.compare_digest``) so that a forger cannot learn the
right signature byte by byte from response times.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import BinaryIO

SIGNATURE_HEADER = "X-Signature"
PLATFORM_HEADER = "X-Platform-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CHUNK_SIZE = 1 << 20  # 1 MiB: large enough to amortise per-call cost, small enough to keep memory flat


class BodySigner:
    """Incremental signer: ``update`` with each chunk as it is written or read, then ``hexdigest``."""

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        self._mac.update(chunk)

    def hexdigest(self) -> str:
        return self._mac.hexdigest()


def sign_body(secret: str | bytes, body: bytes | Iterable[bytes]) -> str:
    """The X-Signature value for a body given whole or as an iterable of chunks."""
    signer = BodySigner(secret)
    if isinstance(body, (bytes, bytearray, memoryview)):
        signer.update(bytes(body))
    else:
        for chunk in body:
            signer.update(chunk)
    return signer.hexdigest()


def sign_file(secret: str | bytes, stream: BinaryIO, *, chunk_size: int = CHUNK_SIZE) -> str:
    """Sign a seekable binary file from its current position to its end, then return to that position, so the
    same file object can be handed straight to ``RegulatorClient.submit_report``."""
    start = stream.tell()
    signer = BodySigner(secret)
    while chunk := stream.read(chunk_size):
        signer.update(chunk)
    stream.seek(start)
    return signer.hexdigest()


def signature_matches(expected_hex: str, given: str | None) -> bool:
    """Constant-time comparison of a computed signature with the header value (case-insensitive hex)."""
    if not given:
        return False
    return hmac.compare_digest(expected_hex.encode("ascii"), given.strip().lower().encode("ascii", "replace"))
