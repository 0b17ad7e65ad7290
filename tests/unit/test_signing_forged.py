"""Forged variants of real fixtures: what attackers do to filed apps (strip, transplant, tamper, add a v3.1 block).

The inputs are real apksigner output (fixtures/apks) changed byte-wise here. Expected verdicts follow apksig's
rules (Android 14); where Debian's apksigner 0.9 cannot speak (v3.1 blocks) the comment says so.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import pathlib
import struct
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from gate.extract.container import ApkContainer
from gate.extract.signing import block as blk
from gate.extract.signing import verify_apk_signatures

APKS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"
pytestmark = pytest.mark.skipif(not (APKS / "v1_v2_v3.apk").exists(), reason="fixture APKs not built")


def _facts(data: bytes, *, min_sdk: int, target_sdk: int = 29):
    with ApkContainer.from_bytes(data) as container:
        return verify_apk_signatures(container, min_sdk=min_sdk, target_sdk=target_sdk)


def _sections(data: bytes):
    with ApkContainer.from_bytes(data) as c:
        b = blk.find_signing_block(c)
        return (b.offset if b else c.central_directory_offset), c.central_directory_offset, c.eocd_offset


def _pairs(data: bytes) -> list[tuple[int, bytes]]:
    start, cd, _ = _sections(data)
    body, out, pos = data[start + 8:cd - 24], [], 0
    while pos < len(body):
        (length,) = struct.unpack_from("<Q", body, pos)
        out.append((struct.unpack_from("<I", body, pos + 8)[0], body[pos + 12:pos + 8 + length]))
        pos += 8 + length
    return out


def _with_pairs(data: bytes, pairs: list[tuple[int, bytes]] | None) -> bytes:
    """The APK with its signing block replaced (None: removed), CD offset in the EOCD fixed up."""
    start, cd, eocd = _sections(data)
    new_block = b""
    if pairs is not None:
        body = b"".join(struct.pack("<QI", len(v) + 4, i) + v for i, v in pairs)
        size = len(body) + 24
        new_block = struct.pack("<Q", size) + body + struct.pack("<Q", size) + blk.MAGIC
    tail = bytearray(data[eocd:])
    struct.pack_into("<I", tail, 16, start + len(new_block))
    return data[:start] + new_block + data[cd:eocd] + bytes(tail)


def _read(name: str) -> bytes:
    return (APKS / name).read_bytes()


def _lp(b: bytes) -> bytes:
    return struct.pack("<I", len(b)) + b


def test_untouched_fixture_verifies() -> None:
    assert _facts(_read("v1_v2_v3.apk"), min_sdk=21, target_sdk=34).verified


def test_tampered_entry_fails_the_newest_scheme() -> None:
    data = bytearray(_read("v1_v2_v3.apk"))
    with ApkContainer.from_bytes(bytes(data)) as c:
        entry = c.get("resources.arsc")  # stored, so a flipped byte stays a valid ZIP entry
        data[entry.data_offset + 10] ^= 0xFF
    facts = _facts(bytes(data), min_sdk=21, target_sdk=34)
    assert not facts.verified and facts.signers == ()
    assert facts.errors[0].message.startswith("v3_digest_mismatch:")


def test_stripped_signing_block_is_caught_by_v1_stripping_protection() -> None:
    # apksigner's .SF says X-Android-APK-Signed: 2, 3; removing the block must not fall back to v1 quietly.
    facts = _facts(_with_pairs(_read("v1_v2_v3.apk"), None), min_sdk=21, target_sdk=29)
    assert not facts.verified
    assert any(e.message.startswith("v1_stripped_scheme:") for e in facts.errors)


def test_stripped_v3_is_caught_by_v2_stripping_protection() -> None:
    pairs = [(i, v) for i, v in _pairs(_read("v2_v3.apk")) if i != blk.V3_BLOCK_ID]
    facts = _facts(_with_pairs(_read("v2_v3.apk"), pairs), min_sdk=24, target_sdk=34)
    assert not facts.verified
    assert any(e.message.startswith("v2_stripped_scheme:") for e in facts.errors)


def test_transplanted_signing_block_does_not_verify() -> None:
    # A filed app's block copied onto another package: the signatures verify, the content digests cannot.
    donor = _pairs(_read("v2_v3.apk"))
    facts = _facts(_with_pairs(_read("v3_only.apk"), donor), min_sdk=28, target_sdk=34)
    assert not facts.verified
    assert facts.errors[0].message.startswith("v3_digest_mismatch:")


def test_appended_entry_breaks_v1_only_apk() -> None:
    buf = io.BytesIO(_read("v1_only.apk"))
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("assets/evil.txt", b"not signed")
    facts = _facts(buf.getvalue(), min_sdk=21, target_sdk=29)
    assert not facts.verified
    assert any(e.code == "v1_entry_not_in_manifest" and "assets/evil.txt" in e.message for e in facts.errors)


def test_unknown_pair_before_v2_is_ignored() -> None:
    pairs = [(0x12345678, b"junk")] + _pairs(_read("v2_v3.apk"))
    assert _facts(_with_pairs(_read("v2_v3.apk"), pairs), min_sdk=24, target_sdk=34).verified


def test_broken_v2_matters_only_below_android_9() -> None:
    # minSdk 28: v2 is not consulted when v3 exists, so a broken v2 block does not matter (apksig step order).
    pairs = [(i, (v[:-1] + bytes([v[-1] ^ 1])) if i == blk.V2_BLOCK_ID else v) for i, v in _pairs(_read("v2_v3.apk"))]
    forged = _with_pairs(_read("v2_v3.apk"), pairs)
    assert _facts(forged, min_sdk=28, target_sdk=34).verified
    assert not _facts(forged, min_sdk=24, target_sdk=34).verified


# --- v3.1 (Android 13+ rotation targeting; Debian's apksigner 0.9 can neither make nor check these) --------------

def _self_signed(key, cn: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(12345).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def _v31_block(data: bytes, key, cert: bytes, *, min_sdk: int = 33) -> bytes:
    """A v3.1 signer block (RSA PKCS#1 SHA-256) over the APK's real content digest."""
    with ApkContainer.from_bytes(data) as c:
        digest = blk.content_digests(c, blk.find_signing_block(c), {blk.CHUNKED_SHA256})[blk.CHUNKED_SHA256]
    alg = 0x0103
    signed = (_lp(_lp(struct.pack("<I", alg) + _lp(digest))) + _lp(_lp(cert))
              + struct.pack("<ii", min_sdk, 0x7FFFFFFF) + _lp(b""))
    signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    signer = _lp(signed) + struct.pack("<ii", min_sdk, 0x7FFFFFFF) + _lp(_lp(struct.pack("<I", alg) + _lp(signature))) + _lp(spki)
    return _lp(_lp(signer))


@pytest.fixture(scope="module")
def new_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _self_signed(key, "Unrelated v3.1 key")


def test_v31_signer_without_lineage_is_reported_with_the_v3_signer(new_key) -> None:
    key, cert = new_key
    data = _read("v3_only.apk")
    pairs = _pairs(data) + [(blk.V31_BLOCK_ID, _v31_block(data, key, cert))]
    facts = _facts(_with_pairs(data, pairs), min_sdk=28, target_sdk=34)
    # Android 14 verifies v3.1 for 13+ and v3 for 9-12: two different keys, no lineage joining them. apksigner
    # would print only the v3.1 key; the gate must name both (the old key is what Android 9-12 binds to).
    assert facts.verified and facts.schemes["v31"] and facts.schemes["v3"]
    assert facts.signers[0].cert_sha256 == hashlib.sha256(cert).hexdigest()
    v3_only = _facts(data, min_sdk=28, target_sdk=34)
    assert [s.cert_sha256 for s in facts.signers[1:]] == [v3_only.signers[0].cert_sha256]


def test_v31_without_v3_block_is_rejected(new_key) -> None:
    key, cert = new_key
    data = _read("v3_only.apk")
    pairs = [p for p in _pairs(data) if p[0] != blk.V3_BLOCK_ID] + [(blk.V31_BLOCK_ID, _v31_block(data, key, cert))]
    facts = _facts(_with_pairs(data, pairs), min_sdk=28, target_sdk=34)
    assert not facts.verified
    assert any(e.message.startswith("v31_without_v3:") for e in facts.errors)


def test_v31_signer_with_corrupt_key_record_is_rejected(new_key) -> None:
    key, cert = new_key
    data = _read("v3_only.apk")
    block = bytearray(_v31_block(data, key, cert))
    pairs = _pairs(data) + [(blk.V31_BLOCK_ID, bytes(block[:-8]) + b"\x00" * 8)]  # corrupt its key record
    facts = _facts(_with_pairs(data, pairs), min_sdk=28, target_sdk=34)
    assert not facts.verified and facts.errors[0].message.startswith("v31_")
