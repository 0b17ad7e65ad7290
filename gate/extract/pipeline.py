"""From a path to ``PackageFacts``: the one place that orders the extraction steps.

The file is mapped once. Each entry is inflated at most once: the v1 signature check inflates every entry it must
digest and hands the bytes on (``on_entry``) to the network scanner; afterwards only the entries the scanner still
wants and v1 did not cover are inflated. Problems never escape as exceptions: a package that cannot be read yields
facts with ``problems`` set, and the decision engine blocks it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import os
import queue
import threading

from gate.errors import PackageError
from gate.extract.container import ApkContainer, ContainerLimits, DEFAULT_LIMITS, ZipEntry
from gate.extract.facts import NetworkFacts, PackageFacts, Problem

MANIFEST_NAME = "AndroidManifest.xml"
HANDOFF_ENTRIES = 4  # inflated entries waiting between the verifier thread and the scanner
# Below this size a package is read on one thread: starting the digest and verifier threads costs more than the
# overlap saves (a 12 KB APK: about a third of its extraction time).
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
RESOURCES_NAME = "resources.arsc"


def extract_features(path: str | os.PathLike, *, limits: ContainerLimits = DEFAULT_LIMITS) -> PackageFacts:
    """Read one package the way the device does. Never raises for a bad package."""
    shown = os.fspath(path)
    try:
        container = ApkContainer.open(path, limits=limits)
    except PackageError as exc:
        return PackageFacts(path=shown, problems=(Problem(exc.code, exc.message),))
    with container:
        return _extract(shown, container)


def _extract(shown: str, container: ApkContainer) -> PackageFacts:
    if container.size < PARALLEL_MIN_BYTES:  # a small package: threads cost more than they overlap
        facts = _read_by_format(shown, container)
        return dataclasses.replace(facts, sha256=hashlib.sha256(container.view(0, container.size)).hexdigest(),
                                   size=container.size)
    # The package digest (the check's identity) is hashed on a second core while the readers run.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-digest") as background:
        digest = background.submit(lambda: hashlib.sha256(container.view(0, container.size)).hexdigest())
        facts = _read_by_format(shown, container)
        return dataclasses.replace(facts, sha256=digest.result(), size=container.size)


def _read_by_format(shown: str, container: ApkContainer) -> PackageFacts:
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
        return read_harmony(shown, container, detected.format)
    if detected.format == "ipa":
        from gate.extract.ios import read_ipa
        return read_ipa(shown, container)
    return PackageFacts(path=shown, format=detected.format, platform=detected.platform, problems=(Problem(
        "format_unsupported", f"{detected.format} packages are not supported yet"),))


def read_apk(shown: str, container: ApkContainer, *, scanner=None,
             source_prefix: str = "") -> tuple[PackageFacts, str | None]:
    """The facts of one APK (no digest) and its split name (the manifest's ``split``; None for a base APK).

    ``scanner``: a NetworkScanner shared by the APKs of a split set, fed under ``source_prefix`` + entry name; its
    facts are then the caller's to take, and the APK's own ``network`` is left empty."""
    # Imported here so that `gate --help` and the container tests stay light.
    from gate.extract.arsc import MAX_RESOURCES_SIZE
    from gate.extract.filing_number import FilingNumberFinder
    from gate.extract.manifest import MAX_MANIFEST_SIZE, read_manifest
    from gate.extract.network import NetworkScanner
    from gate.extract.signing import min_sdk_for_verification, verify_apk_signatures

    problems: list[Problem] = []
    fmt = "apk"

    def facts(**found) -> PackageFacts:
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
    scanner = scanner if shared else NetworkScanner()
    numbers = FilingNumberFinder()
    scanned: set[str] = set()

    def on_entry(entry: ZipEntry, data: bytes) -> None:
        if entry.name not in scanned:
            scanned.add(entry.name)
            scanner.feed(source_prefix + entry.name, data)
            numbers.feed(entry.name, data)

    def network():
        return NetworkFacts() if shared else scanner.facts()

    if manifest is not None:
        scanner.feed_manifest(manifest.document, source_prefix + MANIFEST_NAME)
        scanned.add(MANIFEST_NAME)
    if resources_bytes is not None:
        on_entry(container.get(RESOURCES_NAME), resources_bytes)
    # minSdk (as apksigner reads it, not as resolved for the device) decides which schemes apply on which platform
    # versions; targetSdk whether v1 alone may suffice (Android 11+ requires v2+ for targetSdk >= 30) and
    # targetSandboxVersion 2 the same from Android 8. An unreadable manifest leaves the strictest reading.
    verify = _verify_while_scanning if container.size >= PARALLEL_MIN_BYTES else _verify_here
    signature = verify(
        functools.partial(
            verify_apk_signatures,
            container,
            min_sdk=min_sdk_for_verification(manifest.min_sdk_value) if manifest is not None else 1,
            target_sdk=manifest.target_sdk if manifest is not None else None,
            target_sandbox=manifest.target_sandbox_version if manifest is not None else 1,
        ),
        on_entry,
    )

    # Step 3: whatever the scanner still wants that v1 did not inflate.
    for entry in container.entries:
        if entry.name in scanned or entry.is_directory or not (scanner.wants(entry.name)
                                                                or numbers.wants(entry.name)):
            continue
        try:
            on_entry(entry, container.read(entry))
        except PackageError as exc:
            problems.append(Problem(exc.code, exc.message))

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
    ), (split.raw if split is not None else None)


def _verify_here(verify, on_entry):
    """``verify`` on this thread, handing each entry to ``on_entry`` as it goes (small packages)."""
    return verify(on_entry=on_entry)


def _verify_while_scanning(verify, on_entry):
    """Run ``verify(on_entry=...)`` on a second thread while this thread scans the entries it inflates.

    Inflating and hashing (isal, hashlib) release the GIL and the scan's regular expressions hold it, so on two
    cores verification costs little beyond the scan itself. The bounded hand-off keeps at most a few inflated
    entries alive at once. The result is the same as calling ``verify(on_entry=on_entry)`` directly.
    """
    handoff: queue.Queue = queue.Queue(maxsize=HANDOFF_ENTRIES)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["signature"] = verify(on_entry=lambda entry, data: handoff.put((entry, data)))
        except BaseException as exc:  # handed to the calling thread below
            outcome["error"] = exc
        finally:
            handoff.put(None)

    worker = threading.Thread(target=run, name="gate-verify", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not None:
            on_entry(*item)
    except BaseException:
        while handoff.get() is not None:  # let the verifier finish instead of blocking on a full queue
            pass
        raise
    finally:
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["signature"]
