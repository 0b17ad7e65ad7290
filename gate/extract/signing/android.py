"""Android's rule across platform versions: which scheme and which signer apply from minSdkVersion to the newest.

Mirrors apksig's ApkVerifier.verify (Android 14) step by step; the step numbers below are referred to in comments:
1. Android 13+ (T) verifies a v3.1 block, whose signers target newer platforms (rotation targeting).
2. Android 9+ (P) verifies the v3 block; it must exist when v3.1 does and, through the rotation-min-SDK
   attribute, protect the v3.1 block from being stripped. Its signers must cover every version below v3.1's.
3. Android 7–8 (N, O), or any version when no v3/v3.1 block exists, verifies v2; its stripping-protection
   attribute names the newer schemes that must have been found.
4. Android 8+ rejects an APK targeting sandbox version 2+ that has no v2/v3 signature.
5. Android < 7, or any version without a v2/v3/v3.1 signature, verifies JAR signing (v1), whose
   X-Android-APK-Signed attribute names the schemes that must have been found.
6. v1 and v2 must name the same signers; the v1/v2 signer must be v3's (or the root of v3's lineage).
7. Target SDK 30+ (R) requires v2 or newer.
The APK verifies when no step reports an error, i.e. on every platform version in range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate.extract.facts import SignatureFacts, SignatureIssue, VerifiedFromSdk
from gate.extract.signing import block as blk
from gate.extract.signing import certs
from gate.extract.signing import lineage as lin
from gate.extract.signing.stamp import StampEntryUnreadable, verify_source_stamp
from gate.extract.signing.v1 import V1Result, verify_v1
from gate.extract.signing.v2v3 import SchemeResult, verify_scheme

if TYPE_CHECKING:
    from gate.extract.axml import TypedValue
    from gate.extract.container import ApkContainer, EntryCallback

NEWEST_SDK = 0x7FFFFFFF  # apksigner's default maximum: every platform version, present and future
# apksig ApkUtils.getMinSdkVersionForCodename: a codename minSdkVersion counts as the release before the one its
# first letter names (pessimistic); letters past the table add one level each, "A"/"B" count as 1.
_CODENAME_LEVELS = {"C": 2, "D": 3, "E": 4, "F": 7, "G": 8, "H": 10, "I": 13, "J": 15, "K": 18, "L": 20, "M": 22,
                    "N": 23, "O": 25}
_TYPE_STRING, _TYPE_INT_DEC, _TYPE_INT_HEX = 0x03, 0x10, 0x11
SDK_N, SDK_O, SDK_P, SDK_R, SDK_T = 24, 26, 28, 30, 33
SCHEME_NAMES = {2: "APK Signature Scheme v2", 3: "APK Signature Scheme v3"}


def _supported_schemes(max_sdk: int) -> dict[int, str]:
    """Scheme ids the newest platform in range knows, for the stripping protections."""
    if max_sdk >= SDK_P:
        return dict(SCHEME_NAMES)
    if max_sdk >= SDK_N:
        return {2: SCHEME_NAMES[2]}
    return {}


def min_sdk_for_verification(value: TypedValue | None) -> int | None:
    """The minSdkVersion apksigner verifies from, read from the attribute as written (a ``TypedValue``, or None
    when absent); None when apksigner cannot determine it and refuses to verify.

    apksig takes decimal/hex integers (at least 1) and codenames, nothing else: a reference, a boolean or a float
    ends verification with MinSdkVersionException, although the device would resolve or coerce such a value. The
    gate follows apksigner, so such a manifest cannot pick which schemes get checked.
    """
    if value is None:
        return 1
    if value.type in (_TYPE_INT_DEC, _TYPE_INT_HEX):
        return max(1, value.signed)
    if value.type == _TYPE_STRING and value.string and "A" <= value.string[0] <= "Z":
        first = value.string[0]
        older = [letter for letter in _CODENAME_LEVELS if letter <= first]
        if not older:
            return 1
        newest = max(older)
        return _CODENAME_LEVELS[newest] + ord(first) - ord(newest)
    return None


class _Run:
    """State of one verification: results per scheme and the errors so far."""

    def __init__(self) -> None:
        self.v1: V1Result | None = None
        self.v2: SchemeResult | None = None
        self.v3: SchemeResult | None = None
        self.v31: SchemeResult | None = None
        self.found: set[int] = set()
        self.errors: list[SignatureIssue] = []

    def verified(self, name: str) -> bool:
        result = getattr(self, name)
        return result is not None and result.verified

    def verified_v1(self) -> V1Result | None:
        return self.v1 if self.v1 is not None and self.v1.verified else None

    def verified_scheme(self, name: str) -> SchemeResult | None:
        """The v2, v3 or v31 result when it verified."""
        result: SchemeResult | None = getattr(self, name)
        return result if result is not None and result.verified else None

    def schemes(self) -> dict[str, bool]:
        return {name: self.verified(name) for name in ("v1", "v2", "v3", "v31")}


def decide(container: ApkContainer, *, min_sdk: int, max_sdk: int = NEWEST_SDK, target_sdk: int | None = None,
           target_sandbox: int = 1, on_entry: EntryCallback | None = None) -> SignatureFacts:
    run = _Run()
    if min_sdk > max_sdk:
        return SignatureFacts(errors=(SignatureIssue("sdk_range_invalid", f"minSdkVersion {min_sdk} > maxSdkVersion "
                                                                          f"{max_sdk}"),))
    if container.zip64:
        # apksig refuses ZIP64 APKs, and Android ignores their APK Signing Block: nothing here can verify.
        return SignatureFacts(errors=(SignatureIssue("zip64_unsupported", "ZIP64 APKs cannot be verified (apksig "
                                                                          "refuses them)"),))
    _verify_schemes(run, container, min_sdk=min_sdk, max_sdk=max_sdk, target_sdk=target_sdk,
                    target_sandbox=target_sandbox, on_entry=on_entry)
    if run.errors:
        # apksigner reports "Verified using …" and signers only for an APK that verifies: nothing else is true.
        return SignatureFacts(verified=False, errors=tuple(run.errors),
                              verified_from_sdk=_verified_from_newer(run, container, min_sdk=min_sdk, max_sdk=max_sdk,
                                                                     target_sdk=target_sdk,
                                                                     target_sandbox=target_sandbox))
    printed = _printed_signers(run)
    extra = _unjoined_keys(run, printed, min_sdk=min_sdk)
    try:
        signers = tuple(certs.signer_certificate(d) for d in printed + extra)
        lineage = tuple(certs.signer_certificate(d) for d in _lineage(run))
    except certs.CertificateError as exc:
        # A certificate that cannot be described cannot be matched against a filing: not verified, never raised.
        return SignatureFacts(errors=(SignatureIssue("signer_certificate_unreadable", f"{exc}"),))
    try:
        stamp = verify_source_stamp(container, {"v1": run.v1, "v2": run.v2, "v3": run.v3}, min_sdk=min_sdk,
                                    max_sdk=max_sdk)
    except StampEntryUnreadable as exc:
        return SignatureFacts(errors=(SignatureIssue("source_stamp_unreadable", f"{exc}"),))
    return SignatureFacts(verified=True, schemes=run.schemes(), signers=signers, lineage=lineage, errors=(),
                          source_stamp=stamp)


def _verified_from_newer(run: _Run, container: ApkContainer, *, min_sdk: int, max_sdk: int, target_sdk: int | None,
                         target_sandbox: int) -> VerifiedFromSdk | None:
    """When only the oldest platform versions in range fail — below Android 7.0 (API 24) only JAR signing is checked
    (step 5) — what the newer versions verify. A v2 signature holds from 24 (the answer of ``apksigner verify
    --min-sdk-version 24``); a v3 signature alone from 28, since Android 7–8 do not read v3 (apksigner 31 does not
    model that and would say 24). The package stays unverified; this only names who signed it for those versions.
    """
    if run.verified("v2"):
        first = SDK_N
    elif run.verified("v3"):
        first = SDK_P
    else:
        return None
    if min_sdk >= first or max_sdk < first:
        return None
    # The JAR verifier already handed every entry over (on_entry) in the first run; this one reads no entry.
    newer = decide(container, min_sdk=first, max_sdk=max_sdk, target_sdk=target_sdk, target_sandbox=target_sandbox)
    if not newer.verified:
        return None
    return VerifiedFromSdk(min_sdk=first, unverified_sdks=(min_sdk, first - 1), schemes=dict(newer.schemes),
                           signers=newer.signers)


def _verify_schemes(run: _Run, container: ApkContainer, *, min_sdk: int, max_sdk: int, target_sdk: int | None,
                    target_sandbox: int, on_entry: EntryCallback | None) -> None:
    signing_block = blk.find_signing_block(container)
    supported = _supported_schemes(max_sdk)
    if max_sdk >= SDK_N:
        # 1. v3.1
        rotation_min = None
        if max_sdk >= SDK_T:
            run.v31 = verify_scheme(container, signing_block, "v31", min_sdk=max(min_sdk, SDK_T), max_sdk=max_sdk)
            if run.v31 is not None:
                run.found.add(31)
                rotation_min = min((s.min_sdk for s in run.v31.signers), default=0) or None
                if _collect(run, run.v31):
                    return
        # 2. v3
        if max_sdk >= SDK_P:
            run.v3 = verify_scheme(container, signing_block, "v3", min_sdk=max(min_sdk, SDK_P), max_sdk=max_sdk,
                                   rotation_min_sdk=rotation_min)
            if run.v3 is not None:
                run.found.add(3)
                if _collect(run, run.v3):
                    return
            elif 31 in run.found:
                run.errors.append(SignatureIssue("v31_without_v3", "a v3.1 block needs a v3 block for the platforms "
                                                                   "before it"))
                return
        # 3. v2
        if min_sdk < SDK_P or not run.found:
            run.v2 = verify_scheme(container, signing_block, "v2", min_sdk=max(min_sdk, SDK_N), max_sdk=max_sdk,
                                   found=run.found, supported=set(supported))
            if run.v2 is not None:
                run.found.add(2)
                if _collect(run, run.v2):
                    return
    # 4. sandbox version 2 needs v2+
    if max_sdk >= SDK_O and target_sandbox > 1 and not run.found:
        run.errors.append(SignatureIssue("no_sig_for_target_sandbox", f"targetSandboxVersion {target_sandbox} requires "
                                                                      "APK Signature Scheme v2 or newer"))
    # 5. v1
    if min_sdk < SDK_N or not run.found:
        run.v1 = verify_v1(container, min_sdk=min_sdk, max_sdk=max_sdk, supported=supported,
                           found=run.found, on_entry=on_entry)
        run.errors.extend(run.v1.all_errors())
    if run.errors:
        return
    # 6. the schemes must agree on who signed
    _check_cross_scheme(run)
    if run.errors:
        return
    # 7. target SDK 30+ requires v2 or newer (Android R)
    if target_sdk is not None and target_sdk >= SDK_R and max_sdk >= target_sdk:
        if not (run.verified("v2") or run.verified("v3") or run.verified("v31")):
            run.errors.append(SignatureIssue("min_scheme_for_target_sdk", f"targetSdkVersion {target_sdk} requires APK "
                                                                          "Signature Scheme v2 or newer"))


def _collect(run: _Run, result: SchemeResult) -> bool:
    errors = result.all_errors()
    run.errors.extend(errors)
    return bool(errors)


def _check_cross_scheme(run: _Run) -> None:
    v1, v2, v3 = run.verified_v1(), run.verified_scheme("v2"), run.verified_scheme("v3")
    v1_certs = [s.chain[0] for s in v1.signers] if v1 is not None else None
    v2_certs = [s.certs[0] for s in v2.signers] if v2 is not None else None
    if v1_certs is not None and v2_certs is not None:
        if any(c not in v2_certs for c in v1_certs):
            run.errors.append(SignatureIssue("v2_signer_missing", "a JAR signer has no matching v2 signer"))
        if any(c not in v1_certs for c in v2_certs):
            run.errors.append(SignatureIssue("v1_signer_missing", "a v2 signer has no matching JAR signer"))
    older = v1_certs if v1_certs is not None else v2_certs
    if v3 is not None and older is not None:
        if len(older) != 1:
            run.errors.append(SignatureIssue("v3_multiple_past_signers", "v3 allows a single v1/v2 signer"))
        old = older[0]
        lineage = v3.lineage
        if lineage is None:
            if len(v3.signers) != 1:
                run.errors.append(SignatureIssue("v3_multiple_signers", "several v3 signers without a lineage"))
            if v3.signers[0].certs[0] != old:
                run.errors.append(SignatureIssue("v3_past_signers_mismatch", "the v1/v2 signer is not the v3 signer"))
        else:
            sub = lin.sub_lineage(lineage, old)
            if sub is None or len(sub) != 1:
                run.errors.append(SignatureIssue("v3_past_signers_mismatch", "the v1/v2 signer is not the root of the "
                                                                             "v3 lineage"))


def _printed_signers(run: _Run) -> list[bytes]:
    """The certificates apksigner prints: the newest scheme's (for v3/v3.1 its last signer)."""
    if (v31 := run.verified_scheme("v31")) is not None:
        return [v31.signers[-1].certs[0]]
    if (v3 := run.verified_scheme("v3")) is not None:
        return [v3.signers[-1].certs[0]]
    if (v2 := run.verified_scheme("v2")) is not None:
        return [s.certs[0] for s in v2.signers]
    return [s.chain[0] for s in run.v1.signers] if run.v1 is not None else []


def _lineage(run: _Run) -> list[bytes]:
    for result in (run.v31, run.v3):
        if result is not None and result.verified and result.lineage is not None:
            return list(lin.certs_of(result.lineage))
    return []


def _unjoined_keys(run: _Run, printed: list[bytes], *, min_sdk: int) -> list[bytes]:
    """Certificates some platform version in range verifies the APK with that are neither printed nor in the
    verified lineage of the printed signer. apksigner names only the newest signer; the gate must name every key
    a device might bind the app to (a v3 signer for Android 9–12 and an unrelated v3.1 signer for 13+, say)."""
    joined = set(printed)
    for result in (run.v31, run.v3):
        if result is not None and result.verified:
            for signer in result.signers:
                if signer.certs and signer.certs[0] in printed and signer.lineage is not None:
                    joined.update(lin.certs_of(signer.lineage))
    seen: list[bytes] = []
    for result in (run.v31, run.v3, run.v2):
        if result is not None and result.verified:
            seen.extend(s.certs[0] for s in result.signers)
    if (v1 := run.verified_v1()) is not None:
        seen.extend(s.chain[0] for s in v1.signers)
    extra: list[bytes] = []
    for cert in seen:
        if cert not in joined and cert not in extra:
            extra.append(cert)
    return extra
