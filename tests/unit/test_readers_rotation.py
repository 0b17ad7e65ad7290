"""The rotation-min-SDK protection of v3.1 blocks, on packages signed here from the published format.

A v3.0 signer carrying the rotation-min-SDK attribute (0x559f8b02) says "a v3.1 block targets SDK N and up": if the
v3.1 block is stripped, or targets another SDK, Android 13+ (apksig's V3SchemeVerifier) rejects the APK. Debian's
apksigner 31 can neither write (no --rotation-min-sdk-version) nor read v3.1 blocks, so these packages are made by
re-signing the v3 signer of v3_only.apk (key A) with the attribute added; the v3.1 signer is an unrelated key. The
expected verdicts follow apksig's Android 13+ rules; the oracle cannot confirm them (stated in docs/readers.md).
"""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from fixtures import forge
from gate.extract.signing import block as blk
from tests.unit.test_signing_forged import _facts, _lp, _pairs, _read, _self_signed, _v31_block, _with_pairs

ROTATION_MIN_SDK_ATTR = 0x559F8B02
RSA_PKCS1_SHA256 = 0x0103


@pytest.fixture(scope="module")
def key_a():
    keystore = forge.__file__.replace("forge.py", "keys/rsa2048.p12")
    key, _cert, _chain = pkcs12.load_key_and_certificates(open(keystore, "rb").read(), b"password")
    return key


@pytest.fixture(scope="module")
def new_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _self_signed(key, "v3.1 rotation target")


def _v3_with_rotation_attribute(value: bytes, key, rotation_min_sdk: int) -> bytes:
    """The v3 block value with its signer's signed data carrying the rotation-min-SDK attribute, re-signed by key."""
    signer = forge._sequence(forge._sequence(value)[0])[0]
    signed, pos = forge._prefixed(signer, 0)
    min_sdk, max_sdk = struct.unpack_from("<ii", signer, pos)
    _signatures, pos = forge._prefixed(signer, pos + 8)
    public_key, _ = forge._prefixed(signer, pos)
    digests, at = forge._prefixed(signed, 0)
    certificates, at = forge._prefixed(signed, at)
    signed_min, signed_max = struct.unpack_from("<ii", signed, at)
    attributes, _ = forge._prefixed(signed, at + 8)
    attribute = _lp(struct.pack("<Ii", ROTATION_MIN_SDK_ATTR, rotation_min_sdk))
    digests = _lp(b"".join(_lp(d) for d in forge._sequence(digests)
                           if int.from_bytes(d[:4], "little") == RSA_PKCS1_SHA256))
    new_signed = (digests + _lp(certificates) + struct.pack("<ii", signed_min, signed_max)
                  + _lp(attributes + attribute))
    signature = key.sign(new_signed, padding.PKCS1v15(), hashes.SHA256())
    new_signer = (_lp(new_signed) + struct.pack("<ii", min_sdk, max_sdk)
                  + _lp(_lp(struct.pack("<I", RSA_PKCS1_SHA256) + _lp(signature))) + _lp(public_key))
    return _lp(_lp(new_signer))


def _package(key_a, new_signer, *, attribute: int | None, v31_min: int | None) -> bytes:
    data = _read("v3_only.apk")
    pairs = []
    for block_id, value in _pairs(data):
        if block_id == blk.V3_BLOCK_ID and attribute is not None:
            value = _v3_with_rotation_attribute(value, key_a, attribute)
        pairs.append((block_id, value))
    if v31_min is not None:
        pairs.append((blk.V31_BLOCK_ID, _v31_block(data, new_signer[0], new_signer[1], min_sdk=v31_min)))
    return _with_pairs(data, pairs)


def test_resigned_v3_signer_with_matching_v31_block_verifies(key_a, new_signer):
    facts = _facts(_package(key_a, new_signer, attribute=33, v31_min=33), min_sdk=28, target_sdk=34)
    assert facts.verified and facts.schemes["v3"] and facts.schemes["v31"], facts.errors


def test_stripped_v31_block_is_caught_by_the_rotation_min_sdk_attribute(key_a, new_signer):
    facts = _facts(_package(key_a, new_signer, attribute=33, v31_min=None), min_sdk=28, target_sdk=34)
    assert not facts.verified
    assert any(e.message.startswith("v31_block_missing:") for e in facts.errors), facts.errors


def test_v31_block_targeting_another_sdk_is_rejected(key_a, new_signer):
    facts = _facts(_package(key_a, new_signer, attribute=33, v31_min=34), min_sdk=28, target_sdk=34)
    assert not facts.verified
    assert any(e.message.startswith("v31_rotation_min_sdk_mismatch:") for e in facts.errors), facts.errors


def test_the_attribute_only_matters_to_platforms_that_know_v31(key_a, new_signer):
    # Verified only for Android 9-12 (max SDK 32): v3.1 does not exist there, the attribute is not checked.
    from gate.extract.container import ApkContainer
    from gate.extract.signing import verify_apk_signatures
    with ApkContainer.from_bytes(_package(key_a, new_signer, attribute=33, v31_min=None)) as container:
        facts = verify_apk_signatures(container, min_sdk=28, max_sdk=32, target_sdk=29)
    assert facts.verified, facts.errors
