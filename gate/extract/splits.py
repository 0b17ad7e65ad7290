"""Split APK sets (``.apks`` from bundletool, ``.xapk``, ``.apkm``): each APK read and verified on its own, then
held together the way Android's package installer holds a multi-APK install session.

Android installs a set (``adb install-multiple``, a ``PackageInstaller`` session) only when:
  1. one APK has no split name (the base) and no split name repeats;
  2. every APK carries the base's package name and versionCode;
  3. every APK is signed by exactly the base's signers.
The gate adds 4.: every APK verifies on its own by apksigner's rules (a split is code too). A breach of 1-4 is a
``split_mismatch`` problem naming the APK, and the decision blocks the set (reason ``split_mismatch``). A split that
cannot be read at all keeps its own problem code, prefixed with its name (``package_malformed``).

Facts (identity, version, labels, SDKs, signers) come from the base; network resources from every APK, scanned by
one scanner (strings shared by several APKs are analysed once), each source named ``<APK entry>!/<entry inside>``
(the jar: URL convention the scanner uses for nested archives).

bundletool sets may carry standalone APKs (``standalones/``, full apps for Android 4.x devices) beside the splits:
those have no split name either, so several split-less APKs are allowed; each must match the base like a split,
and the base is the one under ``splits/`` (else the first by name).
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable

from gate.errors import GateError
from gate.extract.container import ApkContainer
from gate.extract.facts import PackageFacts, PartFacts, Problem, SignatureIssue
from gate.extract.network import NESTED_SEPARATOR

# One APK of the set: its entry name, its facts and its split name (None for the base).
SplitApk = tuple[str, PackageFacts, str | None]
# read_apk(name, container, scanner=, source_prefix=) -> (facts, split name): gate.extract.pipeline.read_apk.
ApkReader = Callable[..., tuple[PackageFacts, str | None]]

BUNDLETOOL_SPLITS_DIR = "splits/"


def read_split_set(shown: str, container: ApkContainer, fmt: str, read_apk: ApkReader) -> PackageFacts:
    """Facts of a split set. ``read_apk(name, ApkContainer, scanner=, source_prefix=) -> (PackageFacts, split name)``
    reads one APK."""
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    apks: list[SplitApk] = []
    for entry in container.entries:
        if entry.is_directory or posixpath.splitext(entry.name)[1].lower() != ".apk":
            continue
        try:
            with ApkContainer.from_bytes(container.read(entry), limits=container.limits) as inner:
                facts, split = read_apk(entry.name, inner, scanner=scanner,
                                        source_prefix=entry.name + NESTED_SEPARATOR)
        except GateError as exc:
            facts, split = PackageFacts(path=entry.name, problems=(Problem(exc.code, exc.message),)), None
        apks.append((entry.name, facts, split))

    bases = [(name, facts) for name, facts, split in apks if split is None and not facts.problems]
    if not bases:
        return PackageFacts(path=shown, format=fmt, platform="android", network=scanner.facts(), problems=(
            Problem("split_base_missing", f"the {fmt} set holds {len(apks)} APK(s) and none is a readable base APK "
                                          "(an APK without a split name)"),) + _read_problems(apks))
    base_name, base = min(bases, key=lambda item: (not item[0].startswith(BUNDLETOOL_SPLITS_DIR), item[0]))

    problems = list(_read_problems(apks)) + _mismatches(apks, base_name, base)
    parts = tuple(PartFacts(name=name, split=split, package=facts.package, version_code=facts.version_code,
                            verified=facts.signature.verified,
                            signers=tuple(s.cert_sha256 for s in facts.signature.signers),
                            problems=facts.problems) for name, facts, split in apks)
    mismatched = [p.message for p in problems if p.code == "split_mismatch"]
    signature = dataclasses.replace(
        base.signature,
        verified=base.signature.verified and not problems,
        errors=base.signature.errors + tuple(SignatureIssue("split_mismatch", f"{m}") for m in mismatched),
        verified_parts=tuple(f"{name}: apk_signature" for name, facts, _ in apks if facts.signature.verified))
    # Packers and native libraries of every APK of the set: the loaders ship in the ABI split, the stub in the base.
    from gate.extract.protection import merge_protection

    prefix = {name: name + NESTED_SEPARATOR for name, _, _ in apks}
    return dataclasses.replace(base, path=shown, format=fmt, signature=signature,
                               problems=tuple(problems) + scanner.problem_facts(), network=scanner.facts(),
                               parts=parts,
                               native_libraries=tuple(prefix[n] + lib for n, f, _ in apks for lib in f.native_libraries),
                               protection=merge_protection([(prefix[n], f.protection) for n, f, _ in apks]))


def _read_problems(apks: list[SplitApk]) -> tuple[Problem, ...]:
    """Problems of APKs that could not be read, each prefixed with the APK's name."""
    return tuple(Problem(p.code, f"{name}: {p.message}") for name, facts, _ in apks for p in facts.problems)


def _mismatches(apks: list[SplitApk], base_name: str, base: PackageFacts) -> list[Problem]:
    """Rules 1-4 of the module docstring, one problem per APK that breaks one (the first rule it breaks)."""
    problems: list[Problem] = []
    base_signers = {s.cert_sha256 for s in base.signature.signers}
    seen_splits: set[str] = set()
    for name, facts, split in apks:
        if facts.problems:
            continue  # already reported as unreadable
        signers = {s.cert_sha256 for s in facts.signature.signers}
        if split is not None and split in seen_splits:
            why = f"the split name {split!r} appears twice"
        elif facts.package != base.package:
            why = f"package {facts.package!r} differs from the base's {base.package!r} ({base_name})"
        elif facts.version_code != base.version_code:
            why = f"versionCode {facts.version_code} differs from the base's {base.version_code} ({base_name})"
        elif not facts.signature.verified:
            errors = "; ".join(e.message for e in facts.signature.errors) or "no signature"
            why = f"its signature does not verify ({errors})"
        elif signers != base_signers:
            why = f"signed by {sorted(signers)}, the base by {sorted(base_signers)}"
        else:
            why = None
        if split is not None:
            seen_splits.add(split)
        if why is not None:
            problems.append(Problem("split_mismatch", f"{name}: {why}"))
    return problems
