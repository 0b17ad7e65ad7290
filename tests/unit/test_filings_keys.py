"""Fingerprint and public-key normalisation, checked against apksigner's digests of the fixture keys."""

import base64
import hashlib
import json
import pathlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

from gate.filings.keys import normalise_fingerprint, normalise_public_key
from gate.filings.problems import FieldInvalid

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures"
ORACLE = json.loads((FIXTURES / "apks" / "oracle.json").read_text())["apks"]


def _keystore(name):
    _key, cert, _ = pkcs12.load_key_and_certificates((FIXTURES / "keys" / name).read_bytes(), b"password")
    return cert


@pytest.fixture(scope="module")
def rsa2048():
    cert = _keystore("rsa2048.p12")
    signer = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]
    # The fixture key is the one apksigner reported for hello_zh.apk (its digests come from apksigner, not us).
    assert hashlib.md5(cert.public_bytes(Encoding.DER)).hexdigest() == signer["cert_md5"]
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert hashlib.sha256(spki).hexdigest() == signer["public_key_sha256"]
    return cert, spki


def test_every_notation_of_an_rsa_key_normalises_to_the_modulus(rsa2048):
    cert, spki = rsa2048
    modulus = format(cert.public_key().public_numbers().n, "x")
    pem_key = cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    notations = [
        modulus, modulus.upper(), "00" + modulus,
        ":".join(modulus[i:i + 2] for i in range(0, len(modulus), 2)),
        base64.b64encode(spki).decode(), pem_key, cert.public_bytes(Encoding.PEM).decode(), spki.hex(),
    ]
    assert {normalise_public_key(n) for n in notations} == {modulus}


def test_ec_keys_normalise_to_spki_hex():
    cert = _keystore("ec256.p12")
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert normalise_public_key(base64.b64encode(spki).decode()) == spki.hex()
    assert hashlib.sha256(spki).hexdigest() == ORACLE["key_ec256.apk"]["apksigner"]["signers"][0]["public_key_sha256"]


@pytest.mark.parametrize("mutate,code", [
    (lambda m: m[:-2], "public_key_length"),          # a byte short: 2040 bits
    (lambda m: m + "ab", "public_key_length"),
    (lambda m: m[:-1] + "0", "public_key_syntax"),    # even: not a modulus
    (lambda m: "zz" + m, "public_key_syntax"),
    (lambda m: "MIIB" + "!" * 10, "public_key_syntax"),
])
def test_wrong_public_keys_are_rejected(rsa2048, mutate, code):
    modulus = format(rsa2048[0].public_key().public_numbers().n, "x")
    with pytest.raises(FieldInvalid) as exc:
        normalise_public_key(mutate(modulus))
    assert exc.value.code == code


def test_fingerprints_in_any_notation():
    md5 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]
    colon = ":".join(md5[i:i + 2] for i in range(0, 32, 2)).upper()
    assert normalise_fingerprint(colon, "md5", field="f") == md5
    assert normalise_fingerprint(md5.upper(), "md5", field="f") == md5


@pytest.mark.parametrize("value,algorithm,code", [
    ("0176d8d0130a8b0d3729e7833d7cb8", "md5", "fingerprint_length"),
    ("0176d8d0130a8b0d3729e7833d7cb8cc", "sha1", "fingerprint_length"),
    ("g176d8d0130a8b0d3729e7833d7cb8cc", "md5", "fingerprint_syntax"),
])
def test_wrong_fingerprints_are_rejected(value, algorithm, code):
    with pytest.raises(FieldInvalid) as exc:
        normalise_fingerprint(value, algorithm, field="signature_md5")
    assert exc.value.code == code
