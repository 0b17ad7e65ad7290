"""Trust roots (信任根) an operator adds per platform, beside the roots the gate ships.

The gate ships one root: Apple Root CA, for IPAs. No HarmonyOS root ships, because the roots that matter differ by
who signs: Huawei's AppGallery signing service for store builds, the OpenHarmony SDK's published test roots for
development builds, a device maker's own signing service for its preinstalled apps. An operator who distributes
such packages names the roots its platform trusts (``GATE_TRUST_ROOTS_HARMONY``, ``GATE_TRUST_ROOTS_IOS``; read by
gate/config.py), each either

* a certificate file (PEM, possibly several certificates, or DER): that certificate is a root; or
* a SHA-256 fingerprint of a root certificate's DER (hex, colons allowed): a certificate carried in the signature
  itself with that exact fingerprint is a root (the signature must then carry its whole chain, as hapsigner's
  output does).

Without any, the behaviour is what it was: HarmonyOS signatures are verified but never trusted, IPAs only under
Apple's root. Pure: this module parses bytes handed to it; the files are read by gate/config.py.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import field
from typing import Any

from gate.records import record

PLATFORMS = ("harmony", "ios")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class TrustRootError(ValueError):
    """A configured root that is neither a readable certificate nor a SHA-256 fingerprint."""


@record
class TrustedRoot:
    """One configured root: its fingerprint, and the certificate (DER) when it was given as a file."""

    platform: str
    sha256: str
    source: str  # the file name, or "fingerprint"
    subject: str | None = None
    der: bytes | None = field(default=None, repr=False)

    def __init__(self, platform: str, sha256: str, source: str, subject: str | None = None,
                 der: bytes | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "platform": platform, "sha256": sha256, "source": source, "subject": subject, "der": der
        })

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "sha256": self.sha256, "source": self.source, "subject": self.subject}


@record
class TrustRoots:
    """The extra roots of every platform. ``NO_EXTRA_ROOTS`` (empty) keeps the gate's own behaviour."""

    roots: tuple[TrustedRoot, ...] = ()

    def __init__(self, roots: tuple[TrustedRoot, ...] = ()) -> None:
        object.__setattr__(self, "__dict__", {"roots": roots})

    def for_platform(self, platform: str) -> tuple[bytes | str, ...]:
        """The platform's roots as the CMS verifier takes them: certificates (DER) and fingerprints (hex str)."""
        return tuple(r.der if r.der is not None else r.sha256 for r in self.roots if r.platform == platform)

    def any_for(self, platform: str) -> bool:
        return any(r.platform == platform for r in self.roots)

    def as_list(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.roots]


NO_EXTRA_ROOTS = TrustRoots()


def normalise_fingerprint(text: str) -> str | None:
    """``AB:CD:…`` or ``abcd…`` (64 hex digits) -> lowercase hex; None when it is not a SHA-256 fingerprint."""
    candidate = text.strip().replace(":", "").replace(" ", "").lower()
    return candidate if _FINGERPRINT.fullmatch(candidate) else None


def certificates_in(data: bytes, source: str) -> list[bytes]:
    """The DER certificates of a PEM (one or more) or DER file; TrustRootError when there are none."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            found = [x509.load_pem_x509_certificate(block).public_bytes(Encoding.DER)
                     for block in _PEM_CERT.findall(data)]
        else:
            found = [x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)]
    except ValueError as exc:
        raise TrustRootError(f"{source} holds no readable X.509 certificate ({exc})") from None
    if not found:  # a BEGIN line without its END (a truncated copy): no root, said now rather than trusted nothing
        raise TrustRootError(f"{source} holds no complete PEM certificate (BEGIN without END)")
    return found


def root_from_certificate(platform: str, der: bytes, source: str) -> TrustedRoot:
    from cryptography import x509

    subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return TrustedRoot(platform, hashlib.sha256(der).hexdigest(), source, subject, der)


def root_from_fingerprint(platform: str, text: str) -> TrustedRoot:
    fingerprint = normalise_fingerprint(text)
    if fingerprint is None:
        raise TrustRootError(f"{text!r} is neither a certificate file nor a SHA-256 fingerprint (64 hex digits)")
    return TrustedRoot(platform, fingerprint, "fingerprint")
