"""The APK Signature Scheme v2/v3 signature algorithms (apksig's SignatureAlgorithm): one table that the v2/v3
verifier, the proof-of-rotation lineage and the source stamp all read, in a module of its own so none of them has to
import another for it."""

from __future__ import annotations

from dataclasses import dataclass

from gate.extract.signing import block as blk

SDK_N, SDK_P = 24, 28


@dataclass(frozen=True)
class SignatureAlgorithm:
    id: int
    content_digest: str
    key_type: str
    hash: str
    pss: bool
    min_sdk: int


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
