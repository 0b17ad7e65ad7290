"""Regression (found by fuzzing re-signed v2/v3 signer blocks): a certificate whose SubjectPublicKeyInfo
BIT STRING is empty made asn1crypto raise IndexError, which escaped parse_certificate and extract_features.

The certificate here is the real JAR signer of fixtures/apks/v1_only.apk with only that BIT STRING emptied.
"""

from __future__ import annotations

import pathlib
import zipfile

import pytest
from asn1crypto import cms, x509

from gate.extract.signing import certs

APK = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks" / "v1_only.apk"


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _certificate_with_empty_key_bits() -> bytes:
    with zipfile.ZipFile(APK) as apk:
        block = apk.read(next(n for n in apk.namelist() if n.endswith(".RSA")))
    cert = x509.Certificate.load(cms.ContentInfo.load(block)["content"]["certificates"][0].chosen.dump())
    tbs = cert["tbs_certificate"]
    empty_spki = _tlv(0x30, tbs["subject_public_key_info"]["algorithm"].dump() + b"\x03\x00")
    fields = b"".join(empty_spki if name == "subject_public_key_info" else tbs[name].dump() for name in tbs)
    return _tlv(0x30, _tlv(0x30, fields) + cert["signature_algorithm"].dump() + cert["signature_value"].dump())


def test_empty_public_key_bit_string_is_a_certificate_error():
    with pytest.raises(certs.CertificateError):
        certs.parse_certificate(_certificate_with_empty_key_bits())
    with pytest.raises(certs.CertificateError):
        certs.signer_certificate(_certificate_with_empty_key_bits())
