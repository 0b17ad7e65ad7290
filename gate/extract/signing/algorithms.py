"""The APK Signature Scheme v2/v3 signature algorithms (apksig's SignatureAlgorithm): one table that the v2/v3
verifier, the proof-of-rotation lineage and the source stamp all read, in a module of its own so none of them has to
import another for it."""

from __future__ import annotations

from gate.extract.signing import block as blk
from gate.records import record

SDK_N, SDK_P = 24, 28


@record
class SignatureAlgorithm:
    """A signature algorithm id of the APK signing block and what it means (digest, key type, first platform)."""

    id: int
    content_digest: str
    key_type: str
    hash: str
    pss: bool
    min_sdk: int

    def __init__(self, id: int, content_digest: str, key_type: str, hash: str, pss: bool, min_sdk: int) -> None:
        object.__setattr__(self, "__dict__", {
            "id": id, "content_digest": content_digest, "key_type": key_type, "hash": hash, "pss": pss,
            "min_sdk": min_sdk
        })


SIGNATURE_ALGORITHMS = {a.id: a for a in (
    SignatureAlgorithm(0x0101, blk.CHUNKED_SHA256, "RSA", "sha256", True, SDK_N),
    SignatureAlgorithm(0x0102, blk.CHUNKED_SHA512, "RSA", "sha512", True, SDK_N),
    SignatureAlgorithm(0x0103, blk.CHUNKED_SHA256, "RSA", "sha256", False, SDK_N),
    SignatureAlgorithm(0x0104, blk.CHUNKED_SHA512, "RSA", "sha512", False, SDK_N),
    SignatureAlgorithm(0x0201, blk.CHUNKED_SHA256, "EC", "sha256", False, SDK_N),
    SignatureAlgorithm(0x0202, blk.CHUNKED_SHA512, "EC", "sha512", False, SDK_N),
    SignatureAlgorithm(0x0301, blk.CHUNKED_SHA256, "DSA", "sha256", False, SDK_N),
    SignatureAlgorithm(0x0421, blk.VERITY_CHUNKED_SHA256, "RSA", "sha256", False, SDK_P),
    SignatureAlgorithm(0x0423, blk.VERITY_CHUNKED_SHA256, "EC", "sha256", False, SDK_P),
    SignatureAlgorithm(0x0425, blk.VERITY_CHUNKED_SHA256, "DSA", "sha256", False, SDK_P),
)}
