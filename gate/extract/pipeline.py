"""From a path to ``PackageFacts``: the one place that orders the extraction steps.

The file is mapped once. Each entry is inflated about once: the v1 signature check inflates every entry it must
digest and hands the bytes on to the network scanner, and the scanner inflates what v1 does not cover (on a large
package the two share the work on two threads, ``gate.extract.handoff``). The scanner sees the entries it wants in
file order, whichever thread inflated them. Problems never escape as exceptions: a package that cannot be read
yields facts with ``problems`` set, and the decision engine blocks it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gate.errors import PackageError
from gate.extract.container import DEFAULT_LIMITS, ApkContainer, ContainerLimits, EntryCallback, ZipEntry
from gate.extract.facts import NetworkFacts, PackageFacts, Problem, SignatureFacts
from gate.extract.handoff import EntryHandoff
from gate.extract.runtime import reading_settings
from gate.extract.trust import NO_EXTRA_ROOTS, TrustRoots

if TYPE_CHECKING:
    from gate.extract.network import NetworkScanner

# verify_apk_signatures with everything bound but ``on_entry``.
Verifier = Callable[..., SignatureFacts]

MANIFEST_NAME = "AndroidManifest.xml"
# Below this size a package is read on one thread: starting the digest and verifier threads costs more than the
# overlap saves (a 12 KB APK: about a third of its extraction time).
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
SMALL_KEEP_BYTES = 32 * 1024 * 1024  # inflated entries a small package's verification keeps for its scan
RESOURCES_NAME = "resources.arsc"


def extract_features(path: str | os.PathLike[str], *, limits: ContainerLimits = DEFAULT_LIMITS,
                     trust: TrustRoots = NO_EXTRA_ROOTS) -> PackageFacts:
    """Read one package the way the device does. Never raises for a bad package. ``trust``: the operator's extra
    roots (gate.extract.trust; Settings.trust_roots)."""
    shown = os.fspath(path)
    try:
        container = ApkContainer.open(path, limits=limits)
    except PackageError as exc:
        return PackageFacts(path=shown, problems=(Problem(exc.code, exc.message),))
    with container, reading_settings():
        return _extract(shown, container, trust)


def _extract(shown: str, container: ApkContainer, trust: TrustRoots) -> PackageFacts:
    if container.size < PARALLEL_MIN_BYTES:  # a small package: threads cost more than they overlap
        facts = _read_by_format(shown, container, trust)
        return dataclasses.replace(facts, sha256=hashlib.sha256(container.view(0, container.size)).hexdigest(),
                                   size=container.size)
    # The package digest (the check's identity) is hashed on a second core while the readers run. Imported here:
    # concurrent.futures brings logging along, which a small package's process never needs (start-up, issue #28).
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-digest") as background:
        digest = background.submit(_package_digest, container)
        facts = _read_by_format(shown, container, trust)
        return dataclasses.replace(facts, sha256=digest.result(), size=container.size)


def _package_digest(container: ApkContainer) -> str:
    """SHA-256 of the whole file, on a thread that yields its core to the readers (it is needed only at the end)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # pragma: no cover - not Linux: the thread keeps the usual priority
        pass
    return hashlib.sha256(container.view(0, container.size)).hexdigest()


def _read_by_format(shown: str, container: ApkContainer, trust: TrustRoots = NO_EXTRA_ROOTS) -> PackageFacts:
    """Hand the archive to the reader of the format its contents show (never its file name)."""
    from gate.extract.formats import detect_format

    detected = detect_format(container)
    if detected.format is None:
        return PackageFacts(path=shown, problems=(Problem("format_unknown", detected.found),))
    if detected.format == "apk":
        return read_apk(shown, container)[0]
    if detected.format in ("apks", "xapk", "apkm"):
        from gate.extract.splits import read_split_set
        return read_split_set(shown, container, detected.format, read_apk)
    if detected.format == "aab":
        from gate.extract.aab import read_aab
        return read_aab(shown, container)
    if detected.format in ("hap", "app"):
        from gate.extract.harmony import read_harmony
        return read_harmony(shown, container, detected.format, trust=trust)
    if detected.format == "rpk":
        from gate.extract.quickapp import read_rpk
        return read_rpk(shown, container)
    if detected.format == "rpks":
        from gate.extract.quickapp import read_rpks
        return read_rpks(shown, container)
    if detected.format == "ipa":
        from gate.extract.ios import apple_root, read_ipa
        return read_ipa(shown, container, roots=(apple_root(),) + trust.for_platform("ios"))
    return PackageFacts(path=shown, format=detected.format, platform=detected.platform, problems=(Problem(
        "format_unsupported", f"{detected.format} packages are not supported yet"),))


def read_apk(shown: str, container: ApkContainer, *, scanner: NetworkScanner | None = None,
             source_prefix: str = "") -> tuple[PackageFacts, str | None]:
    """The facts of one APK (no digest) and its split name (the manifest's ``split``; None for a base APK).

    ``scanner``: a NetworkScanner shared by the APKs of a split set, fed under ``source_prefix`` + entry name; its
    facts are then the caller's to take, and the APK's own ``network`` is left empty."""
    # Imported here so that `gate --help` and the container tests stay light.
    from gate.extract.arsc import MAX_RESOURCES_SIZE
    from gate.extract.filing_number import FilingNumberFinder
    from gate.extract.manifest import MAX_MANIFEST_SIZE, read_manifest
    from gate.extract.network import NetworkScanner
    from gate.extract.protection import ProtectionReader, native_libraries
    from gate.extract.signing import min_sdk_for_verification, verify_apk_signatures

    problems: list[Problem] = []
    fmt = "apk"

    def facts(**found: Any) -> PackageFacts:
        return PackageFacts(path=shown, platform="android", **found)

    # Step 1: manifest and resources, each size limit applied before inflating (not after a 1 GiB entry is in memory).
    manifest = None
    resources_bytes = None
    try:
        if container.get(MANIFEST_NAME) is None:
            raise PackageError("the package has no AndroidManifest.xml", code="manifest_missing")
        manifest_bytes = container.read(MANIFEST_NAME, max_size=MAX_MANIFEST_SIZE, keep=True)
        if container.get(RESOURCES_NAME) is not None:
            resources_bytes = container.read(RESOURCES_NAME, max_size=MAX_RESOURCES_SIZE, keep=True)
        manifest = read_manifest(manifest_bytes, resources_bytes)
    except PackageError as exc:
        problems.append(Problem(exc.code, exc.message))

    # Step 2: signatures (inflates what v1 digests, once) and network resources from the same bytes.
    shared = scanner is not None
    scanner = scanner if scanner is not None else NetworkScanner()
    numbers = FilingNumberFinder()
    protection = ProtectionReader()  # packers (加固): entry names here, stub classes from the DEX files below
    names = [entry.name for entry in container.entries]
    protection.feed_entry_names(names)
    if manifest is not None:
        protection.feed_application_class(manifest.application_class)
    scanned: set[str] = set()

    def on_entry(entry: ZipEntry, data: bytes) -> None:
        if entry.name not in scanned:
            scanned.add(entry.name)
            if scanner.wants(entry.name):
                scanner.feed(source_prefix + entry.name, data)
            numbers.feed(entry.name, data)
            protection.feed_dex(entry.name, data)

    def network() -> NetworkFacts:
        return NetworkFacts() if shared else scanner.facts()

    if manifest is not None:
        scanner.feed_manifest(manifest.document, source_prefix + MANIFEST_NAME)
        scanned.add(MANIFEST_NAME)
    if resources_bytes is not None and (resources_entry := container.get(RESOURCES_NAME)) is not None:
        on_entry(resources_entry, resources_bytes)
    # minSdk (as apksigner reads it, not as resolved for the device) decides which schemes apply on which platform
    # versions; targetSdk whether v1 alone may suffice (Android 11+ requires v2+ for targetSdk >= 30) and
    # targetSandboxVersion 2 the same from Android 8. An unreadable manifest leaves the strictest reading.
    verify = functools.partial(
        verify_apk_signatures,
        container,
        min_sdk=min_sdk_for_verification(manifest.min_sdk_value) if manifest is not None else 1,
        target_sdk=manifest.target_sdk if manifest is not None else None,
        target_sandbox=manifest.target_sandbox_version if manifest is not None else 1,
    )
    # Step 3: every other entry the scanner or the filing-number finder wants, in file order (the order, and so the
    # evidence chosen, never depends on which thread inflated what).
    wanted = [entry for entry in container.entries if not entry.is_directory and entry.name not in scanned
              and (scanner.wants(entry.name) or numbers.wants(entry.name))]
    unreadable: dict[str, PackageError] = {}
    scan = _verify_while_scanning if container.size >= PARALLEL_MIN_BYTES else _verify_then_scan
    signature = scan(container, verify, wanted, on_entry, unreadable)
    problems.extend(Problem(unreadable[e.name].code, unreadable[e.name].message)
                    for e in container.entries if e.name in unreadable)
    if not shared:  # a split set's shared scanner reports once, for the whole set
        problems.extend(Problem(code, message) for code, message in scanner.problems)

    if manifest is None:
        return facts(format=fmt, signature=signature, network=network(), problems=tuple(problems)), None
    split = manifest.document.root.get("split", None) if manifest.document is not None else None
    return facts(
        format=fmt,
        package=manifest.package,
        version_code=manifest.version_code,
        version_name=manifest.version_name,
        label=manifest.label,
        labels=dict(manifest.labels),
        min_sdk=manifest.min_sdk,
        target_sdk=manifest.target_sdk,
        permissions=tuple(manifest.permissions),
        signature=signature,
        network=network(),
        problems=tuple(problems),
        filing_numbers=numbers.facts(),
        application_class=manifest.application_class,
        native_libraries=native_libraries(names),
        protection=protection.facts(),
    ), (split.raw if split is not None else None)


def _verify_then_scan(container: ApkContainer, verify: Verifier, wanted: list[ZipEntry], on_entry: EntryCallback,
                      unreadable: dict[str, PackageError]) -> SignatureFacts:
    """Verify, then scan the wanted entries in file order, on this thread (small packages). The entries v1 inflates
    are kept for the scan, up to ``SMALL_KEEP_BYTES``, so most are inflated once."""
    names = {entry.name for entry in wanted}
    kept: dict[str, bytes] = {}
    room = SMALL_KEEP_BYTES

    def keep(entry: ZipEntry, data: bytes) -> None:
        nonlocal room
        if entry.name in names and len(data) <= room:
            kept[entry.name] = data
            room -= len(data)

    signature = verify(on_entry=keep)
    for entry in sorted(wanted, key=lambda e: e.local_header_offset):
        data = kept.pop(entry.name, None)
        if data is None:
            try:
                data = container.read(entry)
            except PackageError as exc:
                unreadable[entry.name] = exc
                continue
        on_entry(entry, data)
    return signature


def _verify_while_scanning(container: ApkContainer, verify: Verifier, wanted: list[ZipEntry],
                           on_entry: EntryCallback, unreadable: dict[str, PackageError]) -> SignatureFacts:
    """Run ``verify`` on a second thread while this thread scans the wanted entries (``gate.extract.handoff``).

    Inflating and hashing (isal, hashlib) release the GIL and the scan's regular expressions hold it, so on two
    cores verification costs little beyond the scan itself. The result is the same as ``_verify_then_scan``'s.
    """
    handoff = EntryHandoff(container, wanted)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["signature"] = verify(on_entry=handoff.verifier_read)
        except BaseException as exc:  # handed to the calling thread below
            outcome["error"] = exc
        finally:
            handoff.verifier_finished()

    worker = threading.Thread(target=run, name="gate-verify", daemon=True)
    worker.start()
    try:
        for entry, data in handoff.entries(unreadable):
            on_entry(entry, data)
    except BaseException:
        handoff.cancel()  # let the verifier finish instead of waiting for room
        raise
    finally:
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    signature: SignatureFacts = outcome["signature"]
    return signature
