"""APK Signature Scheme v2, v3 and v3.1 blocks: parse every signer, verify its signatures and the APK's content.

Follows apksig's V2SchemeVerifier/V3SchemeVerifier (Android 14 rules). A v2 signer block is
``signed_data | signatures | public_key``; a v3/v3.1 signer adds ``min_sdk | max_sdk`` after the signed data and
inside it. The signed data holds the content digests, the certificate chain and additional attributes. Rules:
- the strongest signature algorithm known at each platform version in range must verify ("what the device picks");
- the first certificate's public key must equal the public-key record;
- the algorithm lists of the signatures and digests records must be identical, and every digest must match the
  APK's content (ZIP entries + CD + EOCD, see block.py);
- v2: the stripping-protection attribute names schemes that must also have been found (rollback protection);
- v3: SDK ranges must be continuous and cover the verified range; lineages (proof of rotation) must verify, end
  with the signer's certificate and extend one another; v3.0 signers carry the rotation-min-SDK attribute that
  must match the v3.1 block (stripping protection for v3.1).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import field
from typing import TYPE_CHECKING

from gate.extract.facts import SignatureIssue
from gate.extract.signing import block as blk
from gate.extract.signing import certs
from gate.extract.signing import lineage as lin
from gate.extract.signing.algorithms import SDK_P, SIGNATURE_ALGORITHMS, SignatureAlgorithm
from gate.extract.signing.wire import Reader, WireError
from gate.records import FACTORY, record

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer

MAX_APK_SIGNERS = 10  # Android 14 (apksig MAX_APK_SIGNERS) refuses more signers than this

STRIPPING_PROTECTION_ATTR_ID = 0xBEEFF00D
PROOF_OF_ROTATION_ATTR_ID = 0x3BA06F8C
ROTATION_MIN_SDK_VERSION_ATTR_ID = 0x559F8B02
SIGNER_TARGETS_DEV_RELEASE_ATTR_ID = 0xC2A6B3BA

SDK_T = 33
MIN_SDK_WITH_V31_SUPPORT = SDK_T

# Scheme ids as the stripping-protection attributes name them.
SCHEME_V2, SCHEME_V3, SCHEME_V31 = 2, 3, 31


# Android prefers SHA-512 over verity SHA-256 over SHA-256 when several signatures are present.
_DIGEST_STRENGTH = {blk.CHUNKED_SHA256: 0, blk.VERITY_CHUNKED_SHA256: 1, blk.CHUNKED_SHA512: 2}

SCHEMES = {"v2": blk.V2_BLOCK_ID, "v3": blk.V3_BLOCK_ID, "v31": blk.V31_BLOCK_ID}


@record(frozen=False)
class SchemeSigner:
    index: int
    certs: list[bytes] = field(default_factory=list)
    min_sdk: int = 0
    max_sdk: int = 0x7FFFFFFF
    digests: list[tuple[int, bytes]] = field(default_factory=list)
    attributes: list[tuple[int, bytes]] = field(default_factory=list)
    lineage: tuple[lin.LineageNode, ...] | None = None
    errors: list[SignatureIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __init__(self, index: int, certs: list[bytes] = FACTORY, min_sdk: int = 0, max_sdk: int = 0x7FFFFFFF,
                 digests: list[tuple[int, bytes]] = FACTORY, attributes: list[tuple[int, bytes]] = FACTORY,
                 lineage: tuple[lin.LineageNode, ...] | None = None, errors: list[SignatureIssue] = FACTORY,
                 warnings: list[str] = FACTORY) -> None:
        self.index = index
        self.certs = [] if certs is FACTORY else certs
        self.min_sdk = min_sdk
        self.max_sdk = max_sdk
        self.digests = [] if digests is FACTORY else digests
        self.attributes = [] if attributes is FACTORY else attributes
        self.lineage = lineage
        self.errors = [] if errors is FACTORY else errors
        self.warnings = [] if warnings is FACTORY else warnings

    @property
    def targets_dev_release(self) -> bool:
        return any(a == SIGNER_TARGETS_DEV_RELEASE_ATTR_ID for a, _ in self.attributes)


@record(frozen=False)
class SchemeResult:
    """What one scheme block says; ``verified`` only when neither it nor a signer has an error."""

    scheme: str
    signers: list[SchemeSigner] = field(default_factory=list)
    errors: list[SignatureIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lineage: tuple[lin.LineageNode, ...] | None = None

    def __init__(self, scheme: str, signers: list[SchemeSigner] = FACTORY, errors: list[SignatureIssue] = FACTORY,
                 warnings: list[str] = FACTORY, lineage: tuple[lin.LineageNode, ...] | None = None) -> None:
        self.scheme = scheme
        self.signers = [] if signers is FACTORY else signers
        self.errors = [] if errors is FACTORY else errors
        self.warnings = [] if warnings is FACTORY else warnings
        self.lineage = lineage

    def all_errors(self) -> list[SignatureIssue]:
        return self.errors + [e for s in self.signers for e in s.errors]

    @property
    def verified(self) -> bool:
        return not self.all_errors()


class _Stop(Exception):
    """Ends parsing of the current signer (apksig returns after the first error of a signer)."""


def signatures_to_verify(algorithms: list[SignatureAlgorithm], min_sdk: int, max_sdk: int,
                         ) -> list[SignatureAlgorithm] | None:
    """The signatures some platform version in [min_sdk, max_sdk] verifies: per version, the strongest known one.

    Returns None when a version in range knows none of them (apksig NoSupportedSignaturesException)."""
    best: dict[int, SignatureAlgorithm] = {}
    lowest = None
    for alg in algorithms:
        if alg.min_sdk > max_sdk:
            continue
        lowest = alg.min_sdk if lowest is None else min(lowest, alg.min_sdk)
        current = best.get(alg.min_sdk)
        if current is None or _DIGEST_STRENGTH[alg.content_digest] > _DIGEST_STRENGTH[current.content_digest]:
            best[alg.min_sdk] = alg
    if lowest is None or min_sdk < lowest:
        return None
    return sorted(best.values(), key=lambda a: a.id)


@record(frozen=False)
class _SchemeContext:
    """What the signers of one scheme block share while they are parsed."""

    supported: set[int]  # scheme ids the platform range knows (v2 stripping protection)
    expected: set[int]  # scheme ids a v2 signer says the APK is also signed with
    max_sdk: int
    rotation_min_sdk: int | None  # the lowest SDK the v3.1 signers target, checked by v3.0

    def __init__(self, supported: set[int], expected: set[int], max_sdk: int, rotation_min_sdk: int | None) -> None:
        self.supported = supported
        self.expected = expected
        self.max_sdk = max_sdk
        self.rotation_min_sdk = rotation_min_sdk


def _parse_signer(raw: Reader, signer: SchemeSigner, scheme: str, *, min_sdk: int, max_sdk: int,
                  content_algs: set[str], ctx: _SchemeContext) -> None:
    """One signer record, in apksig's order: the signatures over the signed data first (nothing in the signed data
    is believed before they verify), then its certificates, digests and attributes."""
    signed_data = raw.prefixed()
    if scheme != "v2":
        signer.min_sdk, signer.max_sdk = raw.i32(), raw.i32()
        if signer.min_sdk < 0 or signer.min_sdk > signer.max_sdk:
            signer.errors.append(SignatureIssue(f"{scheme}_invalid_sdk_versions",
                                                f"signer #{signer.index + 1} targets SDK "
                                                f"{signer.min_sdk}-{signer.max_sdk}"))
    signatures_rec = raw.prefixed()
    public_key_rec = raw.prefixed_bytes()
    signatures = _read_signatures(signatures_rec, signer, scheme)
    if scheme == "v2":
        lo, hi = min_sdk, max_sdk
    else:
        lo, hi = signer.min_sdk, signer.max_sdk
        if _signed_data_targets_dev_release(signed_data.data):
            lo += 1
    _verify_signed_data(bytes(signed_data.data), signatures, public_key_rec, signer, scheme, lo, hi, content_algs)

    digests_rec = signed_data.prefixed()
    certs_rec = signed_data.prefixed()
    if scheme != "v2":
        signed_min, signed_max = signed_data.i32(), signed_data.i32()
        if signed_min != signer.min_sdk:
            signer.errors.append(SignatureIssue(f"{scheme}_min_sdk_mismatch",
                                                f"signer record says {signer.min_sdk}, signed data {signed_min}"))
        if signed_max != signer.max_sdk:
            signer.errors.append(SignatureIssue(f"{scheme}_max_sdk_mismatch",
                                                f"signer record says {signer.max_sdk}, signed data {signed_max}"))
    attrs_rec = signed_data.prefixed()
    _read_certificates(certs_rec, public_key_rec, signer, scheme)
    _read_digests(digests_rec, [a for a, _ in signatures], signer, scheme)
    _read_attributes(attrs_rec, signer, scheme, ctx)
    if scheme == "v3" and ctx.rotation_min_sdk is not None and max_sdk >= MIN_SDK_WITH_V31_SUPPORT:
        if not any(a == ROTATION_MIN_SDK_VERSION_ATTR_ID for a, _ in signer.attributes):
            signer.warnings.append("v3_rotation_min_sdk_attr_missing: the v3.0 signer does not protect the "
                                   "v3.1 block against stripping")


def _read_signatures(signatures_rec: Reader, signer: SchemeSigner, tag: str) -> list[tuple[int, bytes]]:
    """(algorithm id, signature) of every signature record; unknown algorithms are kept (their ids must match the
    digests') but only warned about."""
    signatures: list[tuple[int, bytes]] = []
    while signatures_rec.remaining():
        try:
            sig = signatures_rec.prefixed()
            alg_id = sig.u32()
            sig_bytes = sig.prefixed_bytes()
        except WireError:
            signer.errors.append(SignatureIssue(f"{tag}_malformed_signature",
                                                f"signer #{signer.index + 1} signature #{len(signatures) + 1} is "
                                                "malformed"))
            raise _Stop from None
        signatures.append((alg_id, sig_bytes))
        if alg_id not in SIGNATURE_ALGORITHMS:
            signer.warnings.append(f"{tag}_unknown_signature_algorithm: {alg_id:#06x}")
    if not signatures:
        signer.errors.append(SignatureIssue(f"{tag}_no_signatures", f"signer #{signer.index + 1} has no signatures"))
        raise _Stop
    return signatures


def _verify_signed_data(signed_data: bytes, signatures: list[tuple[int, bytes]], public_key_rec: bytes,
                        signer: SchemeSigner, tag: str, lo: int, hi: int, content_algs: set[str]) -> None:
    """Verify, with the signer's public key, the signature each platform version in [lo, hi] would check."""
    known = [(SIGNATURE_ALGORITHMS[a], s) for a, s in signatures if a in SIGNATURE_ALGORITHMS]
    chosen = signatures_to_verify([a for a, _ in known], lo, hi)
    if chosen is None:
        signer.errors.append(SignatureIssue(f"{tag}_no_supported_signatures",
                                            f"signer #{signer.index + 1} has no signature that Android {lo}-{hi} can "
                                            "verify"))
        raise _Stop
    for alg in chosen:
        sig_bytes = next(s for a, s in known if a is alg)
        try:
            key = certs.load_public_key(public_key_rec)
        except certs.CertificateError as exc:
            signer.errors.append(SignatureIssue(f"{tag}_malformed_public_key", f"signer #{signer.index + 1}: {exc}"))
            raise _Stop from None
        if certs.key_type(key) != alg.key_type:
            signer.errors.append(SignatureIssue(f"{tag}_malformed_public_key",
                                                f"signer #{signer.index + 1} key is {certs.key_type(key)}, algorithm "
                                                f"{alg.id:#06x} needs {alg.key_type}"))
            raise _Stop
        if not certs.verify_signature(key, alg.key_type, alg.hash, signed_data, sig_bytes, pss=alg.pss):
            signer.errors.append(SignatureIssue(f"{tag}_signature_did_not_verify",
                                                f"signer #{signer.index + 1} signature {alg.id:#06x} over signed data "
                                                "does not verify"))
            raise _Stop
        content_algs.add(alg.content_digest)


def _read_certificates(certs_rec: Reader, public_key_rec: bytes, signer: SchemeSigner, tag: str) -> None:
    """The signer's certificates; the first must carry exactly the public key that verified the signatures (a
    transplanted certificate would otherwise name someone else as the signer)."""
    while certs_rec.remaining():
        der = certs_rec.prefixed_bytes()
        try:
            certs.parse_certificate(der)
        except certs.CertificateError as exc:
            signer.errors.append(SignatureIssue(f"{tag}_malformed_certificate",
                                                f"signer #{signer.index + 1} certificate #{len(signer.certs) + 1}: "
                                                f"{exc}"))
            raise _Stop from None
        signer.certs.append(der)
    if not signer.certs:
        signer.errors.append(SignatureIssue(f"{tag}_no_certificates", f"signer #{signer.index + 1} has no certificate"))
        raise _Stop
    cert_spki = certs.canonical_spki(certs.spki_der(certs.parse_certificate(signer.certs[0])))
    if cert_spki != public_key_rec:
        signer.errors.append(SignatureIssue(f"{tag}_public_key_mismatch", f"signer #{signer.index + 1} certificate key "
                                                                          "differs from the public key record"))
        raise _Stop


def _read_digests(digests_rec: Reader, signature_algs: list[int], signer: SchemeSigner, tag: str) -> None:
    """The content digests; they must name the same algorithms, in the same order, as the signatures."""
    while digests_rec.remaining():
        try:
            d = digests_rec.prefixed()
            signer.digests.append((d.u32(), d.prefixed_bytes()))
        except WireError:
            signer.errors.append(SignatureIssue(f"{tag}_malformed_digest", f"signer #{signer.index + 1} digest "
                                                                           f"#{len(signer.digests) + 1}"))
            raise _Stop from None
    if signature_algs != [a for a, _ in signer.digests]:
        signer.errors.append(SignatureIssue(f"{tag}_sig_alg_mismatch", f"signer #{signer.index + 1} signatures and "
                                                                       "digests name different algorithms"))
        raise _Stop


def _read_attributes(attrs_rec: Reader, signer: SchemeSigner, scheme: str, ctx: _SchemeContext) -> None:
    while attrs_rec.remaining():
        try:
            attr = attrs_rec.prefixed()
            attr_id = attr.u32()
            value = attr.rest()
            signer.attributes.append((attr_id, value))
            _check_attribute(signer, scheme, attr_id, value, ctx)
        except WireError:
            signer.errors.append(SignatureIssue(f"{scheme}_malformed_additional_attribute",
                                                f"signer #{signer.index + 1} attribute #{len(signer.attributes) + 1}"))
            raise _Stop from None


def _check_attribute(signer: SchemeSigner, scheme: str, attr_id: int, value: bytes, ctx: _SchemeContext) -> None:
    tag = scheme
    if scheme == "v2":
        if attr_id == STRIPPING_PROTECTION_ATTR_ID:
            scheme_id = Reader(value).u32()
            if scheme_id in ctx.supported:
                ctx.expected.add(scheme_id)
            else:
                signer.warnings.append(f"v2_unknown_scheme_id: stripping protection names scheme {scheme_id}")
        else:
            signer.warnings.append(f"v2_unknown_additional_attribute: {attr_id:#010x}")
        return
    if attr_id == PROOF_OF_ROTATION_ATTR_ID:
        try:
            nodes = lin.parse_lineage(value)
        except lin.LineageError as exc:
            rule = "por_did_not_verify" if exc.kind == "did_not_verify" else "malformed_lineage"
            signer.errors.append(SignatureIssue(f"{tag}_{rule}", f"signer #{signer.index + 1}: {exc}"))
            return
        signer.lineage = nodes
        if lin.sub_lineage(nodes, signer.certs[0]) != nodes:
            signer.errors.append(SignatureIssue(f"{tag}_por_cert_mismatch", f"signer #{signer.index + 1} certificate "
                                                                            "is not the last one of its lineage"))
    elif attr_id == ROTATION_MIN_SDK_VERSION_ATTR_ID:
        # v3.1 rotation targeting is understood from Android 13 (T); the attribute on a v3.0 signer protects the
        # v3.1 block from being stripped: it must match the lowest SDK the v3.1 signers target.
        if ctx.max_sdk >= MIN_SDK_WITH_V31_SUPPORT:
            attr_value = Reader(value).i32()
            expected = ctx.rotation_min_sdk
            if expected is None:
                signer.errors.append(SignatureIssue("v31_block_missing", "the v3 signer says rotation targets SDK "
                                                                         f"{attr_value} but there is no v3.1 block"))
            elif attr_value != expected:
                signer.errors.append(SignatureIssue("v31_rotation_min_sdk_mismatch",
                                                    f"v3 signer says {attr_value}, the v3.1 block targets {expected}"))
    elif attr_id == SIGNER_TARGETS_DEV_RELEASE_ATTR_ID:
        if scheme == "v3":
            signer.warnings.append("v31_dev_release_attr_on_v3_signer")
    else:
        signer.warnings.append(f"{tag}_unknown_additional_attribute: {attr_id:#010x}")


def _signed_data_targets_dev_release(signed_data: bytes | memoryview) -> bool:
    try:
        r = Reader(signed_data)
        r.prefixed()
        r.prefixed()
        r.i32()
        r.i32()
        attrs = r.prefixed()
        while attrs.remaining():
            if attrs.prefixed().u32() == SIGNER_TARGETS_DEV_RELEASE_ATTR_ID:
                return True
    except WireError:
        pass
    return False


def verify_scheme(container: ApkContainer, signing_block: blk.SigningBlock | None, scheme: str, *, min_sdk: int,
                  max_sdk: int, found: AbstractSet[int] = frozenset(), supported: AbstractSet[int] = frozenset(),
                  rotation_min_sdk: int | None = None) -> SchemeResult | None:
    """Verify one scheme block over [min_sdk, max_sdk]; None when the APK has no such block (Android then falls
    back to an older scheme).

    ``found``/``supported`` are the scheme ids already verified and the ids the platform range knows (for the v2
    stripping protection); ``rotation_min_sdk`` is the lowest SDK the v3.1 signers target, checked by v3.0.
    """
    if signing_block is None:
        return None
    value = blk.find_pair(signing_block, SCHEMES[scheme])
    if value is None:
        return None
    result = SchemeResult(scheme)
    ctx = _SchemeContext(set(supported), set(), max_sdk, rotation_min_sdk)
    content_algs: set[str] = set()
    try:
        signers = Reader(value).prefixed()
    except WireError:
        result.errors.append(SignatureIssue(f"{scheme}_malformed_signers", "the signer list is malformed"))
        return result
    if not signers.remaining():
        result.errors.append(SignatureIssue(f"{scheme}_no_signers", "the block has no signers"))
        return result
    while signers.remaining():
        signer = SchemeSigner(index=len(result.signers))
        result.signers.append(signer)
        try:
            _parse_signer(signers.prefixed(), signer, scheme, min_sdk=min_sdk, max_sdk=max_sdk,
                          content_algs=content_algs, ctx=ctx)
        except _Stop:
            pass
        except WireError as exc:
            signer.errors.append(SignatureIssue(f"{scheme}_malformed_signer", f"signer #{signer.index + 1}: {exc}"))
            break
    if len(result.signers) > MAX_APK_SIGNERS:
        result.errors.append(SignatureIssue(f"{scheme}_max_signers_exceeded",
                                            f"{len(result.signers)} signers, Android allows {MAX_APK_SIGNERS}"))
    for scheme_id in sorted(ctx.expected):
        if scheme_id not in found:
            result.errors.append(SignatureIssue("v2_stripped_scheme", "a v2 signer says the APK is also signed with "
                                                                      f"scheme v{scheme_id}, which was not found"))
    if result.all_errors():
        return result

    _verify_content(container, signing_block, result, content_algs)
    if scheme != "v2" and not result.all_errors():
        _check_sdk_coverage(result, min_sdk=min_sdk, max_sdk=max_sdk, scheme=scheme,
                            rotation_min_sdk=rotation_min_sdk)
    return result


def _verify_content(container: ApkContainer, signing_block: blk.SigningBlock, result: SchemeResult,
                    content_algs: set[str]) -> None:
    actual = blk.content_digests(container, signing_block, content_algs)
    for signer in result.signers:
        for alg_id, expected in signer.digests:
            alg = SIGNATURE_ALGORITHMS.get(alg_id)
            if alg is None or alg.content_digest not in content_algs:
                continue
            if actual.get(alg.content_digest) != expected:
                signer.errors.append(SignatureIssue(f"{result.scheme}_digest_mismatch",
                                                    f"signer #{signer.index + 1} {alg.content_digest} digest does not "
                                                    "match the APK's content"))


def _check_sdk_coverage(result: SchemeResult, *, min_sdk: int, max_sdk: int, scheme: str,
                        rotation_min_sdk: int | None) -> None:
    """v3/v3.1 signers must cover the platform range without holes or overlaps; lineages only grow with SDK."""
    # v3.0 covers from max(min_sdk, P); v3.1 only needs to reach the newest SDK (v3.0 covers what lies below).
    want_min = max_sdk if scheme == "v31" else max(min_sdk, SDK_P)
    want_max = rotation_min_sdk - 1 if (scheme == "v3" and rotation_min_sdk is not None) else max_sdk
    # Keyed by max SDK like apksig's TreeMap: of two signers with the same max SDK only the later one counts here.
    by_max = {s.max_sdk: s for s in result.signers}
    ordered = [by_max[k] for k in sorted(by_max)]
    first_min: int | None = None
    last_max = 0  # read only once first_min is set, and set with it
    last_lineage_len = 0
    lineages = []
    for signer in ordered:
        if first_min is None:
            first_min = signer.min_sdk
        elif signer.min_sdk != last_max + 1 and not (signer.min_sdk == last_max and signer.targets_dev_release):
            result.errors.append(SignatureIssue(f"{scheme}_inconsistent_sdk_versions",
                                                "signer SDK ranges overlap or leave a gap"))
            break
        last_max = signer.max_sdk
        if signer.lineage is not None:
            if len(signer.lineage) < last_lineage_len:
                result.errors.append(SignatureIssue(f"{scheme}_inconsistent_lineages",
                                                    "a signer for newer platforms has a shorter lineage"))
                break
            last_lineage_len = len(signer.lineage)
            lineages.append(signer.lineage)
    if first_min is not None and (first_min > want_min or last_max < want_max):
        result.errors.append(SignatureIssue(f"{scheme}_missing_sdk_versions",
                                            f"signers cover SDK {first_min}-{last_max}, Android {want_min}-{want_max} "
                                            "needs a signer"))
    try:
        result.lineage = lin.consolidate(lineages)
    except lin.LineageError:
        result.errors.append(SignatureIssue(f"{scheme}_inconsistent_lineages",
                                            "signer lineages do not extend one another"))
