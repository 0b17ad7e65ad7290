"""Personal data at rest (个人信息): sealed with AES-256-GCM under the key from ``GATE_PII_KEY``.

A filing application carries the sponsor's contacts (names, phones, e-mail) and may carry personal ID numbers
(证件号码). The gate keeps them only as long as the application needs them and never in clear text: the whole
application body is sealed before it is written, and only non-personal fields (identifier, service name, unit,
status) are stored in the clear for listing. Without a key, the gate refuses to take applications at all rather
than store personal data unsealed. Each seal has a fresh 96-bit nonce and binds an associated-data label (the
application id), so a sealed body cannot be swapped to another application unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import os

from gate.errors import ConfigError, GateError

KEY_BYTES = 32
NONCE_BYTES = 12


class PiiError(GateError):
    """Personal data cannot be sealed or opened (no key configured, or a sealed value that does not open)."""

    code = "pii_unavailable"
    status = 503


def parse_key(text: str, *, name: str = "GATE_PII_KEY") -> bytes:
    """A base64 (standard or URL-safe) 32-byte key; ConfigError otherwise. Make one: ``openssl rand -base64 32``."""
    try:
        key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/") + "==", validate=False)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{name} must be {KEY_BYTES} random bytes in base64 (openssl rand -base64 32)")
    return key


class Sealer:
    def __init__(self, key_text: str | None) -> None:
        self._key = parse_key(key_text) if key_text else None

    def require(self) -> None:
        """Raise PiiError now when no key is configured (before personal data is taken at all)."""
        self._aead()

    def _aead(self):
        if self._key is None:
            raise PiiError("GATE_PII_KEY is not set: filing applications hold personal data, which the gate only "
                           "stores sealed", code="pii_key_missing")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._key)

    def seal(self, plain: bytes, label: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return base64.b64encode(nonce + self._aead().encrypt(nonce, plain, label.encode("utf-8"))).decode("ascii")

    def open(self, sealed: str, label: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        aead = self._aead()
        try:
            raw = base64.b64decode(sealed)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise PiiError("a sealed value does not open with GATE_PII_KEY (another key, or damaged)",
                           code="pii_unreadable") from None
