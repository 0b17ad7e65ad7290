"""SourceStamp: the stamp signer's signatures over the APK's content digests, verified as apksigner verifies them.

A stamped APK carries ``stamp-cert-sha256`` (the SHA-256 of the stamp certificate, covered by the APK's own
signatures) and a V2 SourceStamp block (id 0x6dff800d) in the APK Signing Block:
``lp(lp(certificate) | lp(seq of lp(scheme id | lp(seq of lp(algorithm id | lp(signature))))) [| lp(attributes)
| lp(seq of attribute signatures)])``. For each scheme apksigner verified the APK with (v1: SHA-256 of
META-INF/MANIFEST.MF; v2, v3: the signers' content digests), the stamp must sign the length-prefixed sequence of
(digest algorithm id, digest) pairs, sorted by id.

The verdict rule is apksigner's (apksig ApkVerifier.verify with V2SourceStampVerifier, the oracle's version): every
stamp problem is a *warning* ("Verified for SourceStamp: false") and never changes whether the APK verifies; only a
``stamp-cert-sha256`` entry that cannot be read fails the whole verification. The stamp names the store or build
system that stamped the APK, not who signed it: it is reported, never used as a signer.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from gate.errors import PackageError
from gate.extract.signing import block as blk
from gate.extract.signing import certs
from gate.extract.signing import lineage as lin
from gate.extract.signing.algorithms import SIGNATURE_ALGORITHMS
from gate.extract.signing.v2v3 import signatures_to_verify
from gate.extract.signing.wire import Reader, WireError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from gate.extract.container import ApkContainer

STAMP_CERT_ENTRY = "stamp-cert-sha256"
V2_SOURCE_STAMP_BLOCK_ID = 0x6DFF800D
STAMP_LINEAGE_ATTR_ID = 0x9D6303F7
MIN_SDK_FOR_STAMP = 30  # apksigner verifies stamp signatures for max(minSdkVersion, R)
# apksig ContentDigestAlgorithm ids, the keys of the signed digest lists.
_DIGEST_IDS = {blk.CHUNKED_SHA256: 1, blk.CHUNKED_SHA512: 2, blk.VERITY_CHUNKED_SHA256: 3}
SHA256_DIGEST_ID = 4
_SCHEME_IDS = {"v1": 1, "v2": 2, "v3": 3}


class StampEntryUnreadable(Exception):
    """stamp-cert-sha256 exists but cannot be read: apksigner fails the APK ("Failed to read APK")."""


def verify_source_stamp(container: ApkContainer, results: dict[str, Any], *, min_sdk: int, max_sdk: int) -> bool:
    """True when apksigner would print "Verified for SourceStamp: true".

    ``results`` maps "v1"/"v2"/"v3" to the verification result of each scheme apksigner ran (V1Result or
    SchemeResult; absent or None when not run). Raises StampEntryUnreadable for an unreadable stamp-cert-sha256.
    """
    entry = container.get(STAMP_CERT_ENTRY)
    if entry is None:
        return False
    try:
        # Read (and CRC-checked) whatever its size, as apksig reads it; a digest of another length matches nothing.
        expected_cert_digest = container.read(entry)
    except PackageError as exc:
        raise StampEntryUnreadable(f"{STAMP_CERT_ENTRY}: {exc}") from None
    signing_block = blk.find_signing_block(container)
    value = blk.find_pair(signing_block, V2_SOURCE_STAMP_BLOCK_ID) if signing_block is not None else None
    if value is None:
        return False  # apksigner: "No SourceStamp signature" (a warning)
    digests = _scheme_digests(container, results)
    try:
        return _verify_block(Reader(value).prefixed(), expected_cert_digest, digests,
                             max(min_sdk, MIN_SDK_FOR_STAMP), max_sdk)
    except WireError:
        return False  # "Malformed SourceStamp signature"


def _scheme_digests(container: ApkContainer, results: dict[str, Any]) -> dict[int, bytes]:
    """scheme id -> the signed message: lp-sequence of (digest algorithm id, lp(digest)) sorted by id."""
    out: dict[int, bytes] = {}
    for name, scheme_id in _SCHEME_IDS.items():
        result = results.get(name)
        if result is None:
            continue
        by_id: dict[int, bytes] = {}
        if name == "v1":
            manifest = container.get("META-INF/MANIFEST.MF")
            if manifest is not None:
                by_id[SHA256_DIGEST_ID] = hashlib.sha256(container.read(manifest)).digest()
        else:
            for signer in result.signers:
                for alg_id, digest in signer.digests:
                    algorithm = SIGNATURE_ALGORITHMS.get(alg_id)
                    if algorithm is not None:
                        by_id[_DIGEST_IDS[algorithm.content_digest]] = digest
        out[scheme_id] = _encode_pairs(by_id)
    return out


def _encode_pairs(by_id: dict[int, bytes]) -> bytes:
    items = b"".join(_lp(struct.pack("<I", key) + _lp(value)) for key, value in sorted(by_id.items()))
    return items


def _lp(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


def _verify_block(data: Reader, expected_cert_digest: bytes, digests: dict[int, bytes], lo: int, hi: int) -> bool:
    der = data.prefixed_bytes()
    try:
        cert = certs.parse_certificate(der)
        key = certs.load_public_key(certs.canonical_spki(certs.spki_der(cert)))
    except certs.CertificateError:
        return False  # "Malformed certificate"
    if hashlib.sha256(der).digest() != bytes(expected_cert_digest):
        return False  # the block's certificate is not the one the APK's signatures cover
    signed_schemes: dict[int, Reader] = {}
    schemes = data.prefixed()
    while schemes.remaining():
        item = schemes.prefixed()
        scheme_id = item.u32()
        signed_schemes[scheme_id] = item.prefixed()
    for scheme_id, message in digests.items():
        signatures = signed_schemes.get(scheme_id)
        if signatures is None or not _signed(signatures, message, key, lo, hi):
            return False
    if data.remaining():
        attributes = data.prefixed()
        attribute_signatures = data.prefixed()
        if not _signed(attribute_signatures, bytes(attributes.data), key, lo, hi):
            return False
        return _attributes_valid(attributes, der)
    return True


def _signed(signatures: Reader, message: bytes, key: PublicKeyTypes, lo: int, hi: int) -> bool:
    """apksig verifySourceStampSignature: every signature a platform in [lo, hi] would check must verify; an
    unknown algorithm or none at all is a failure."""
    found = []
    while signatures.remaining():
        record = signatures.prefixed()
        alg_id = record.u32()
        signature = record.prefixed_bytes()
        algorithm = SIGNATURE_ALGORITHMS.get(alg_id)
        if algorithm is None:
            return False  # "Unknown signature algorithm" is a warning, and any warning fails the stamp
        found.append((algorithm, signature))
    if not found:
        return False
    chosen = signatures_to_verify([a for a, _ in found], lo, hi)
    if chosen is None:
        return False
    for algorithm in chosen:
        signature = next(s for a, s in found if a is algorithm)
        if not certs.verify_signature(key, algorithm.key_type, algorithm.hash, message, signature,
                                      pss=algorithm.pss):
            return False
    return True


def _attributes_valid(attributes: Reader, stamp_cert: bytes) -> bool:
    """Stamp attributes: only the stamp lineage is known; it must verify and end with the stamp certificate."""
    sequence = attributes.prefixed()
    while sequence.remaining():
        attribute = sequence.prefixed()
        attr_id = attribute.u32()
        if attr_id != STAMP_LINEAGE_ATTR_ID:
            return False
        try:
            nodes = lin.parse_lineage(attribute.rest())
        except lin.LineageError:
            return False
        if not nodes or nodes[-1].cert != stamp_cert:
            return False
    return True
