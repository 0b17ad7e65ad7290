"""Regression: a v3 proof-of-rotation that names a certificate twice must not verify.

rotated_v3_three_keys.apk (apksigner rotate/sign with fixtures/keys, lineage K1 -> K2 -> K3) is re-signed here with
the same fixture keys, its lineage rebuilt as K1 -> K2 -> K1 -> K3 (every node properly signed by its predecessor).
Debian's apksigner 0.9 says "DOES NOT VERIFY ... proof-of-rotation record with signature(s) that did not verify" for
exactly this file (apksig keeps a set of the lineage's certificates and refuses a repeat); the control rebuild
K1 -> K2 -> K3 verifies there. The gate used to accept the repeat.
"""

from __future__ import annotations

import functools
import pathlib
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12

from gate.extract.container import ApkContainer
from gate.extract.signing import block as blk
from gate.extract.signing import lineage as lin
from gate.extract.signing import verify_apk_signatures

ROOT = pathlib.Path(__file__).resolve().parents[2]
APK = ROOT / "fixtures" / "apks" / "rotated_v3_three_keys.apk"
POR_ATTR = 0x3BA06F8C
RSA_PKCS1_SHA256 = 0x0103


def _lp(b: bytes) -> bytes:
    return struct.pack("<I", len(b)) + b


def _items(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def _take(data: bytes, pos: int) -> tuple[bytes, int]:
    """The uint32-length-prefixed value at ``pos`` and the position after it."""
    (n,) = struct.unpack_from("<I", data, pos)
    return data[pos + 4:pos + 4 + n], pos + 4 + n


@functools.lru_cache(maxsize=1)
def _fixture_keys() -> dict[bytes, object]:
    """DER certificate -> private key, for the RSA fixture keystores (password from fixtures/toolchain.py)."""
    keys = {}
    for path in (ROOT / "fixtures" / "keys").glob("rsa*.p12"):
        key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), b"password")
        keys[cert.public_bytes(serialization.Encoding.DER)] = key
    return keys


def _sign(key, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _resigned_with_lineage(order: list[int]) -> bytes:
    """The fixture with its v3 signer's lineage rebuilt from its own certificates in ``order`` and re-signed."""
    data = APK.read_bytes()
    with ApkContainer.from_bytes(data) as c:
        block = blk.find_signing_block(c)
        start, cd, eocd = block.offset, c.central_directory_offset, c.eocd_offset
    body, pairs, pos = data[start + 8:cd - 24], [], 0
    while pos < len(body):
        (length,) = struct.unpack_from("<Q", body, pos)
        pairs.append((struct.unpack_from("<I", body, pos + 8)[0], body[pos + 12:pos + 8 + length]))
        pos += 8 + length
    signer = _items(_items(dict(pairs)[blk.V3_BLOCK_ID])[0])[0]
    signed_data, at = _take(signer, 0)
    sdk_range = signer[at:at + 8]
    signatures, at = _take(signer, at + 8)
    public_key, _ = _take(signer, at)
    digests, at = _take(signed_data, 0)
    certificates, at = _take(signed_data, at)
    signed_sdk = signed_data[at:at + 8]
    attributes = _items(_take(signed_data, at + 8)[0])
    por = next(a for a in attributes if struct.unpack_from("<I", a, 0)[0] == POR_ATTR)
    certs = [node.cert for node in lin.parse_lineage(por[4:])]
    keys = _fixture_keys()
    chain = [certs[i] for i in order]
    nodes = []
    for i, cert in enumerate(chain):
        node_signed = _lp(cert) + struct.pack("<I", RSA_PKCS1_SHA256 if i else 0)
        signature = _sign(keys[chain[i - 1]], node_signed) if i else b""
        next_alg = RSA_PKCS1_SHA256 if i < len(chain) - 1 else 0
        nodes.append(_lp(_lp(node_signed) + struct.pack("<II", 23, next_alg) + _lp(signature)))
    new_por = struct.pack("<II", POR_ATTR, 1) + b"".join(nodes)
    new_attributes = b"".join(_lp(new_por if a is por else a) for a in attributes)
    new_signed = _lp(digests) + _lp(certificates) + signed_sdk + _lp(new_attributes)
    new_signatures = b"".join(_lp(s[:4] + _lp(_sign(keys[chain[-1]], new_signed))) for s in _items(signatures))
    new_signer = _lp(new_signed) + sdk_range + _lp(new_signatures) + _lp(public_key)
    new_pairs = [(i, _lp(_lp(new_signer)) if i == blk.V3_BLOCK_ID else v) for i, v in pairs]
    block_body = b"".join(struct.pack("<QI", len(v) + 4, i) + v for i, v in new_pairs)
    new_block = struct.pack("<Q", len(block_body) + 24) + block_body + struct.pack("<Q", len(block_body) + 24)
    new_block += blk.MAGIC
    tail = bytearray(data[eocd:])
    struct.pack_into("<I", tail, 16, start + len(new_block))
    return data[:start] + new_block + data[cd:eocd] + bytes(tail)


def _verify(data: bytes):
    with ApkContainer.from_bytes(data) as container:
        return verify_apk_signatures(container, min_sdk=24, target_sdk=34)


@pytest.mark.skipif(not APK.exists(), reason="fixture APKs not built")
def test_rebuilt_lineage_control_verifies():
    facts = _verify(_resigned_with_lineage([0, 1, 2]))
    assert facts.verified and len(facts.lineage) == 3


@pytest.mark.skipif(not APK.exists(), reason="fixture APKs not built")
def test_lineage_repeating_a_certificate_does_not_verify():
    facts = _verify(_resigned_with_lineage([0, 1, 0, 2]))
    assert not facts.verified and facts.signers == ()
    assert facts.errors[0].message.startswith("v3_por_did_not_verify:")
