"""Normalising the identity material a filing lists: certificate fingerprints and public keys (公钥).

Filings and exports write the same value many ways: ``AB:CD:…`` or ``abcd…``, the RSA modulus in hex (with or
without the DER sign byte ``00``), base64 DER SubjectPublicKeyInfo, PEM, even a whole certificate. Everything is
normalised to what ``gate features`` reports, so matching is string equality:
- fingerprints: lowercase hex, no separators, exact length for the algorithm;
- public key: for RSA the modulus in lowercase hex without leading zeros; for other key types the DER
  SubjectPublicKeyInfo in lowercase hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from gate.filings.problems import FieldInvalid

FINGERPRINT_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
# RSA sizes signing keys are made with; anything else in a filing is a truncated or padded copy-paste.
RSA_MODULUS_BITS = frozenset({1024, 2048, 3072, 4096, 8192})

_SEPARATORS = re.compile(r"[\s:\-]")
_HEX = re.compile(r"^[0-9a-f]+$")
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.S)


def normalise_fingerprint(text: str, algorithm: str, *, field: str) -> str:
    """``AB:CD:…``/``ab cd …``/``ABCD…`` -> ``abcd…``; wrong length or non-hex raises FieldInvalid."""
    value = _SEPARATORS.sub("", str(text)).lower()
    if not _HEX.match(value):
        raise FieldInvalid(field, "fingerprint_syntax", f"{algorithm.upper()} fingerprint {text!r} is not hex")
    want = FINGERPRINT_HEX_LENGTHS[algorithm]
    if len(value) != want:
        raise FieldInvalid(field, "fingerprint_length",
                           f"{algorithm.upper()} fingerprint has {len(value)} hex digits, expected {want}")
    return value


def _from_spki_der(der: bytes, *, field: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError) as exc:  # cryptography's parse errors: never let them escape
        raise FieldInvalid(field, "public_key_syntax", f"not a DER SubjectPublicKeyInfo ({exc})") from None
    if isinstance(key, rsa.RSAPublicKey):
        return _checked_modulus(format(key.public_numbers().n, "x"), field=field)
    return der.hex()


def _from_certificate_der(der: bytes, *, field: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        cert = x509.load_der_x509_certificate(der)
        spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, TypeError) as exc:
        raise FieldInvalid(field, "public_key_syntax", f"not a DER certificate ({exc})") from None
    return _from_spki_der(spki, field=field)


def _checked_modulus(hex_modulus: str, *, field: str) -> str:
    modulus = int(hex_modulus, 16)
    bits = modulus.bit_length()
    if bits not in RSA_MODULUS_BITS:
        raise FieldInvalid(field, "public_key_length",
                           f"RSA modulus has {bits} bits; signing keys have {sorted(RSA_MODULUS_BITS)} bits")
    if modulus % 2 == 0:
        raise FieldInvalid(field, "public_key_syntax", "an RSA modulus is odd; this value is not a modulus")
    return format(modulus, "x")


def normalise_public_key(text: str, *, field: str = "public_key") -> str:
    """Any accepted notation of a public key -> the notation ``gate features`` reports (see module docstring)."""
    raw = str(text).strip()
    pem = _PEM.search(raw)
    if pem is not None:
        der = _b64(pem.group(2), field=field)
        if pem.group(1) == "CERTIFICATE":
            return _from_certificate_der(der, field=field)
        if pem.group(1) != "PUBLIC KEY":
            raise FieldInvalid(field, "public_key_syntax", f"PEM block {pem.group(1)!r} is not a public key")
        return _from_spki_der(der, field=field)
    compact = _SEPARATORS.sub("", raw)
    if not compact:
        raise FieldInvalid(field, "public_key_syntax", "empty public key")
    if _HEX.match(compact.lower()):
        hex_value = compact.lower()
        # A DER SEQUENCE (SPKI) starts 30 8x; a 1024+-bit modulus starts with 00 or a digit >= 8, never 3.
        if hex_value.startswith("30") and len(hex_value) % 2 == 0:
            return _from_spki_der(bytes.fromhex(hex_value), field=field)
        return _checked_modulus(hex_value, field=field)
    return _from_spki_der(_b64(compact, field=field), field=field)


def _b64(text: str, *, field: str) -> bytes:
    try:
        return base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise FieldInvalid(field, "public_key_syntax", "public key is neither hex, base64 nor PEM") from None


def public_key_digest(normalised: str) -> str:
    """Index key for a normalised public key (long RSA moduli are not indexed directly)."""
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()
