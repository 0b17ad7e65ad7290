"""Who really signed an APK: APK signature schemes v1, v2, v3 and v3.1, decided as Android's apksigner decides.

``verify_apk_signatures`` never raises for a bad or forged signature: it answers ``verified=False`` with errors,
each starting with a stable rule tag (``v2_digest_mismatch: …``). Modules: ``certs`` (certificate facts and
signature checks), ``block`` (APK Signing Block and content digests), ``v2v3`` (v2/v3/v3.1 blocks), ``lineage``
(proof of rotation), ``manifest`` and ``v1`` (JAR signing), ``android`` (the rule across platform versions),
``form`` (the filing form's notation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate.extract.facts import SignatureFacts, SignatureIssue
from gate.extract.signing.android import NEWEST_SDK, decide, min_sdk_for_verification

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer, EntryCallback

__all__ = ["NEWEST_SDK", "min_sdk_for_verification", "verify_apk_signatures"]


def verify_apk_signatures(container: ApkContainer, *, min_sdk: int | None, max_sdk: int = NEWEST_SDK,
                          on_entry: EntryCallback | None = None,
                          target_sdk: int | None = None, target_sandbox: int = 1) -> SignatureFacts:
    """Verify every signature scheme Android would use for platform versions ``min_sdk``..``max_sdk``.

    ``min_sdk`` is None when apksigner could not determine it from the manifest (``min_sdk_for_verification``):
    apksigner then refuses to verify, and so does the gate.
    ``container`` is an ``ApkContainer``. ``on_entry(entry, data)`` is called once for each entry the JAR
    verifier inflates. ``target_sdk`` (from the manifest) enables "target SDK 30+ requires v2 or newer";
    ``target_sandbox`` the same rule for targetSandboxVersion 2. ``verified`` is true exactly when apksigner
    verify (same range) says "Verifies"; ``signers`` are the certificates it prints, plus any key another
    platform version would bind the app to without a verified lineage joining it to them.
    """
    if min_sdk is None:
        return SignatureFacts(errors=(SignatureIssue("min_sdk_undetermined", "android:minSdkVersion is neither an "
                                                                             "integer nor a codename, so apksigner "
                                                                             "cannot tell which platform versions to "
                                                                             "verify for"),))
    return decide(container, min_sdk=min_sdk, max_sdk=max_sdk, target_sdk=target_sdk,
                  target_sandbox=target_sandbox, on_entry=on_entry)
