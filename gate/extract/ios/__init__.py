"""iOS App Store packages (IPA): identity, verified code signature, provisioning profile and network resources.

An IPA is a ZIP with one ``Payload/<Name>.app/`` bundle. Read (nothing is trusted before it is verified):
  1. ``Info.plist`` (XML or binary; plistlib): Bundle ID (``CFBundleIdentifier``), versions, names; localized names
     from ``<lang>.lproj/InfoPlist.strings`` (``zh-Hans`` first for the filing form).
  2. The main executable (``CFBundleExecutable``; thin or universal Mach-O, slices through lief): every slice carries
     an embedded signature (``LC_CODE_SIGNATURE`` -> SuperBlob). For each slice, offline:
     a. the CMS signature over the slot-0 CodeDirectory verifies and its signer chains to Apple Root CA
        (``gate/data/apple_root_ca.cer``, SHA-256 pinned below) and may sign code;
     b. every alternate CodeDirectory is named by the CMS signed attributes;
     c. every CodeDirectory's page hashes match the executable;
     d. the special slots match ``Info.plist``, the requirements, ``_CodeSignature/CodeResources`` and the
        entitlements; an Info.plist or CodeResources that is not sealed is an error (the Bundle ID must be bound);
     every slice names the same signer.
  3. The resource seal: each file of the bundle is listed in CodeResources ``files2`` with its hash (or omitted by
     a sealed omit rule); nested code (dylibs, frameworks, extensions) sealed by cdhash is verified like the main
     executable, recursively, and must carry the sealed cdhash.
  4. ``embedded.mobileprovision`` (CMS, Apple-signed): it verifies and chains to Apple Root CA, lists the signing
     certificate among its ``DeveloperCertificates``, and its App ID covers the Bundle ID. Its expiry is reported,
     not enforced (the gate has no clock here).
An ad-hoc signature (no certificate) can pass a-d for integrity but names no signer: never enough for a filing.

``signature.verified`` is true only when all of 2-4 hold; ``signature.verified_parts`` lists what did verify;
``signature.signers`` holds the code-signing certificate (what the filing form's 公钥 / MD5 / SHA-1 describe) as soon
as the CMS signature over the CodeDirectory verifies, so that the form can be filled for a package still failing
other checks. Network resources: Mach-O string sections, bundle text files, Info.plist (including App Transport
Security exception domains) and the ``com.apple.developer.associated-domains`` entitlement.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import plistlib
import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gate.errors import PackageError
from gate.extract.facts import PackageFacts, Problem, SignatureFacts, SignatureIssue, SignerCertificate
from gate.extract.ios import codesign
from gate.extract.ios.cms import verify_signed_data
from gate.extract.ios.macho import MachOError, read_slices

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer
    from gate.extract.network import NetworkScanner

# Trusted roots as the CMS verifier takes them: certificates (DER) and SHA-256 fingerprints (gate.extract.trust).
Roots = tuple[bytes | str, ...]

APPLE_ROOT_CA_SHA256 = "b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024"  # Apple's published value
MAX_PLIST_SIZE = 8 << 20
MAX_EXECUTABLE_SIZE = 1 << 30
PREFERRED_LABEL_LANGUAGES = ("zh-Hans", "zh_CN", "zh-Hans-CN", "zh")
_APP_DIR = re.compile(r"(Payload/[^/]+\.app/)Info\.plist")
_STRINGS_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)"\s*;')
PLIST_ERRORS = (plistlib.InvalidFileException, ValueError, TypeError, KeyError, IndexError, OverflowError,
                UnicodeError)
CODE_RESOURCES = "_CodeSignature/CodeResources"
PROFILE = "embedded.mobileprovision"


@functools.cache
def apple_root() -> bytes:
    """Apple Root CA (DER), checked against the SHA-256 Apple publishes before it is trusted."""
    der = importlib.resources.files("gate").joinpath("data/apple_root_ca.cer").read_bytes()
    if hashlib.sha256(der).hexdigest() != APPLE_ROOT_CA_SHA256:
        raise RuntimeError("gate/data/apple_root_ca.cer is not Apple Root CA (SHA-256 differs)")
    return der


def read_ipa(shown: str, container: ApkContainer, *, roots: Roots | None = None) -> PackageFacts:
    """Facts of an IPA. ``roots``: trusted root certificates (DER); default Apple Root CA only."""
    from gate.extract.network import NetworkScanner

    roots = roots if roots is not None else (apple_root(),)
    scanner = NetworkScanner()
    try:
        return _read(shown, container, roots, scanner)
    except PackageError as exc:
        return PackageFacts(path=shown, format="ipa", platform="ios", network=scanner.facts(),
                            problems=(Problem(exc.code, exc.message),))


def _read(shown: str, container: ApkContainer, roots: Roots, scanner: NetworkScanner) -> PackageFacts:
    apps = sorted({m.group(1) for name in container.names() if (m := _APP_DIR.fullmatch(name))})
    if len(apps) != 1:
        raise PackageError(f"the IPA holds {len(apps)} app bundles under Payload/ ({', '.join(apps)}); exactly one "
                           "is installed", code="ios_bundle_ambiguous")
    app = apps[0]
    # 1. Info.plist.
    info_bytes = container.read(app + "Info.plist", max_size=MAX_PLIST_SIZE)
    info = _plist(info_bytes, "Info.plist", code="ios_info_plist_malformed")
    bundle_id, executable = info.get("CFBundleIdentifier"), info.get("CFBundleExecutable")
    if not isinstance(bundle_id, str) or not bundle_id:
        raise PackageError("Info.plist has no CFBundleIdentifier (Bundle ID)", code="ios_bundle_id_missing")
    if not isinstance(executable, str) or not executable or "/" in executable:
        raise PackageError("Info.plist names no main executable (CFBundleExecutable)", code="ios_executable_missing")
    labels = _localized_names(container, app)
    label = next((labels[k] for k in PREFERRED_LABEL_LANGUAGES if k in labels), None) or _text(
        info.get("CFBundleDisplayName")) or _text(info.get("CFBundleName"))
    bundle_version = _text(info.get("CFBundleVersion"))
    details: dict[str, Any] = {"minimum_os_version": _text(info.get("MinimumOSVersion")),
                               "bundle_version": bundle_version, "executable": executable}

    # 2. The main executable's code signature.
    executable_name = app + executable
    if container.get(executable_name) is None:
        raise PackageError(f"the main executable {executable_name} is missing", code="ios_executable_missing")
    binary = container.read(executable_name, max_size=MAX_EXECUTABLE_SIZE)
    code_resources = container.read(app + CODE_RESOURCES, max_size=MAX_PLIST_SIZE) \
        if container.get(app + CODE_RESOURCES) is not None else None
    errors: list[SignatureIssue] = []
    verified_parts: list[str] = []
    signer_der, entitlements, code_details = _verify_executable(
        binary, info_bytes, code_resources, roots, errors, verified_parts, scanner, executable_name)
    code_details.pop("cdhashes", None)
    details.update(code_details)
    if entitlements:
        details["entitlements"] = _plain(entitlements)
    if entitlements.get("com.apple.developer.associated-domains"):
        domains = [d.split(":", 1)[1].split("?", 1)[0] for d in entitlements["com.apple.developer.associated-domains"]
                   if isinstance(d, str) and ":" in d]
        scanner.feed_hosts(f"{executable_name}#entitlements:com.apple.developer.associated-domains", domains,
                           how="deep_link")

    # 3. The resource seal.
    if code_resources is None:
        errors.append(SignatureIssue("ios_resources_unsealed", "the bundle has no _CodeSignature/CodeResources"))
    else:
        _verify_resource_seal(container, app, executable, code_resources, errors, verified_parts, roots=roots,
                              scanner=scanner)

    # 4. The provisioning profile.
    team_prefix = _verify_profile(container, app, bundle_id, signer_der, entitlements, roots, errors, verified_parts,
                                  details)

    # Network: Info.plist, App Transport Security exceptions, bundle text files.
    scanner.feed(app + "Info.plist", "\n".join(_strings(info)).encode("utf-8"))
    ats = info.get("NSAppTransportSecurity")
    if isinstance(ats, dict) and isinstance(ats.get("NSExceptionDomains"), dict):
        scanner.feed_hosts(app + "Info.plist#NSAppTransportSecurity", [k for k in ats["NSExceptionDomains"]
                                                                       if isinstance(k, str)])
    for entry in container.entries:
        if (entry.is_directory or not entry.name.startswith(app) or entry.name in (executable_name, app + PROFILE,
                                                                                      app + "Info.plist")
                or entry.name.startswith(app + "_CodeSignature/") or not scanner.wants(entry.name)):
            continue
        scanner.feed(entry.name, container.read(entry))

    signers: tuple[SignerCertificate, ...] = ()
    if signer_der is not None:
        from gate.extract.signing.certs import signer_certificate
        signers = (signer_certificate(signer_der),)
    if team_prefix:
        details["team_id"] = team_prefix
    return PackageFacts(
        path=shown, format="ipa", platform="ios", package=bundle_id, version_name=_text(
            info.get("CFBundleShortVersionString")),
        version_code=int(bundle_version) if bundle_version and bundle_version.isdigit() else None,
        label=label, labels=labels,
        signature=SignatureFacts(verified=not errors and signer_der is not None, schemes={}, signers=signers,
                                 errors=tuple(dict.fromkeys(errors)), verified_parts=tuple(verified_parts)),
        network=scanner.facts(), problems=scanner.problem_facts(), details={"ios": details})


def _verify_executable(binary: bytes, info_bytes: bytes | None, code_resources: bytes | None, roots: Roots,
                       errors: list[SignatureIssue], verified_parts: list[str], scanner: NetworkScanner, name: str, *,
                       bundle: bool = True) -> tuple[bytes | None, dict[str, Any], dict[str, Any]]:
    """Steps 2a-2d on every slice; returns (signer DER or None, entitlements, details).

    ``bundle``: the executable of a bundle, whose Info.plist and CodeResources its signature must seal (a bare
    nested dylib has neither). ``details["cdhashes"]`` lists every CodeDirectory's hash, truncated to 20 bytes, as
    a containing bundle's seal names nested code."""
    try:
        slices = read_slices(binary)
    except MachOError as exc:
        raise PackageError(exc.message, code=exc.code) from None
    signers: set[bytes] = set()
    entitlements: dict[str, Any] = {}
    details: dict[str, Any] = {"architectures": [s.arch for s in slices], "cdhashes": []}
    regions = []
    for piece in slices:
        image = binary[piece.offset:piece.offset + piece.size]
        regions += [(piece.offset + a, piece.offset + b) for a, b in piece.string_regions]
        if piece.signature is None:
            errors.append(SignatureIssue("ios_unsigned", f"the {piece.arch} slice has no code signature"))
            continue
        start, size = piece.signature
        try:
            signature = codesign.parse_superblob(image[start:start + size])
        except codesign.CodeSignatureError as exc:
            errors.append(SignatureIssue(exc.code, f"{piece.arch}: {exc.message}"))
            continue
        first = signature.code_directories[0]
        details.setdefault("identifier", first.identifier)
        details.setdefault("code_directory_team_id", first.team_id)
        details.setdefault("code_directories", [d.algorithm for d in signature.code_directories])
        entitlements = entitlements or signature.entitlements
        details["cdhashes"] += [d.cdhash()[:20] for d in signature.code_directories]
        # c. and d.
        slice_errors: list[SignatureIssue] = []
        for directory in signature.code_directories:
            slice_errors += codesign.page_hash_errors(directory, image)
            slot_errors, sealed = codesign.special_slot_errors(directory, signature, info_plist=info_bytes,
                                                               code_resources=code_resources)
            slice_errors += slot_errors
            for required in ("Info.plist", "CodeResources") if bundle else ():
                if required not in sealed and not slot_errors:
                    slice_errors.append(SignatureIssue("ios_special_slot_unsealed",
                                                       f"{piece.arch}: the code signature does not seal the "
                                                       f"{required}: the bundle's identity is not bound to it"))
        if not any(e.code.startswith("ios_page_hash") for e in slice_errors):
            verified_parts.append(f"{piece.arch}: page_hashes ({', '.join(d.algorithm for d in signature.code_directories)})")
        # a. and b.
        if first.adhoc or signature.cms is None:
            slice_errors.append(SignatureIssue("ios_adhoc", f"the {piece.arch} slice is signed ad hoc: integrity only, "
                                                            "no signer"))
        else:
            result = verify_signed_data(signature.cms, detached_content=first.raw, roots=roots, code_signing=True)
            broken = ("cms_signature", "cms_message", "cms_content", "cms_no_signed", "cms_signer")
            if result.signer_der is not None and not any(e.code.startswith(broken) for e in result.errors):
                signers.add(result.signer_der)
                verified_parts.append(f"{piece.arch}: cms_signature")
                details.setdefault("signer_not_after", result.not_after)
            slice_errors += [e.at(piece.arch) for e in result.errors]
            if result.verified:
                verified_parts.append(f"{piece.arch}: chain_to_trusted_root")
                slice_errors += codesign.bound_directory_errors(signature, result.signed_attributes)
        errors += slice_errors
        if not slice_errors:
            verified_parts.append(f"{piece.arch}: special_slots (Info.plist, CodeResources, entitlements)")
    scanner.feed_string_regions(name, binary, regions)
    if len(signers) > 1:
        errors.append(SignatureIssue("ios_signers_differ", "the slices of the executable are signed by different "
                                                           "certificates"))
        return None, entitlements, details
    return (next(iter(signers)) if signers else None), entitlements, details


def _verify_resource_seal(container: ApkContainer, app: str, executable: str, code_resources: bytes,
                          errors: list[SignatureIssue], verified_parts: list[str], *, roots: Roots, scanner: NetworkScanner,
                          depth: int = 0) -> None:
    seal = _plist(code_resources, CODE_RESOURCES, code="ios_code_resources_malformed")
    files = seal.get("files2")
    rules = seal.get("rules2")
    if not isinstance(files, dict):
        errors.append(SignatureIssue("ios_resources_unsealed", "CodeResources has no files2 seal"))
        return
    omit = []
    for pattern, rule in (rules or {}).items():
        if isinstance(rule, dict) and rule.get("omit") is True:
            try:
                omit.append(re.compile(pattern))
            except re.error:
                errors.append(SignatureIssue("ios_code_resources_malformed", f"rule {pattern!r} is not a regular "
                                                                             "expression"))
    present = {e.name[len(app):]: e for e in container.entries if e.name.startswith(app) and not e.is_directory}
    skipped = {executable, "Info.plist", CODE_RESOURCES}
    nested = sorted(name for name, rule in files.items() if isinstance(rule, dict) and "cdhash" in rule)
    for relative in nested:  # nested code (frameworks, dylibs, extensions): verified as code, by its cdhash
        _verify_nested(container, app, relative, files[relative], roots, errors, verified_parts, scanner, depth)
    checked = 0
    for relative, entry in sorted(present.items()):
        if relative in skipped or relative in files and relative in nested \
                or any(relative.startswith(n + "/") for n in nested):
            continue
        rule = files.get(relative)
        if rule is None:
            if not any(p.search(relative) for p in omit):
                errors.append(SignatureIssue("ios_resource_unsealed", f"{relative} is not in the resource seal (added "
                                                                      "after signing)"))
            continue
        if isinstance(rule, bytes):
            rule = {"hash": rule}
        if not isinstance(rule, dict) or not isinstance(rule.get("hash2") or rule.get("hash"), bytes):
            errors.append(SignatureIssue("ios_resource_unverified", f"{relative} is sealed as a symlink or in a form "
                                                                    "the gate does not verify"))
            continue
        algorithm, expected = ("sha256", rule["hash2"]) if isinstance(rule.get("hash2"), bytes) else ("sha1", rule["hash"])
        if hashlib.new(algorithm, container.read(entry)).digest() != expected:
            errors.append(SignatureIssue("ios_resource_modified", f"{relative} does not match its hash in the resource "
                                                                  "seal"))
        else:
            checked += 1
    for relative, rule in files.items():
        optional = isinstance(rule, dict) and rule.get("optional") is True
        if relative not in present and not optional and not any(p.startswith(relative + "/") for p in present):
            errors.append(SignatureIssue("ios_resource_missing", f"{relative} is sealed but missing from the bundle"))
    if not any(e.code.startswith(("ios_resource", "ios_code_resources")) for e in errors):
        verified_parts.append(f"resource_seal ({checked} files)")


MAX_NESTING = 3  # app -> extension -> framework: deeper nesting is not something Xcode produces


def _verify_nested(container: ApkContainer, app: str, relative: str, rule: dict[str, Any], roots: Roots,
                   errors: list[SignatureIssue], verified_parts: list[str], scanner: NetworkScanner, depth: int) -> None:
    """Nested code named by cdhash in a seal: a bare Mach-O (a dylib) or a bundle (framework, app extension) with
    its own Info.plist, executable and CodeResources. Verified like the main executable, recursively."""
    path = app + relative
    own: list[SignatureIssue] = []
    if depth >= MAX_NESTING:
        own.append(SignatureIssue("ios_nested_code_unverified", f"nested deeper than {MAX_NESTING} levels"))
    elif container.get(path) is not None:
        binary = container.read(path, max_size=MAX_EXECUTABLE_SIZE)
        _signer, _ent, details = _verify_executable(binary, None, None, roots, own, [], scanner, path, bundle=False)
        _check_cdhash(rule, details, own)
    elif container.get(path + "/Info.plist") is not None:
        inner = path + "/"
        info_bytes = container.read(inner + "Info.plist", max_size=MAX_PLIST_SIZE)
        executable = _plist(info_bytes, relative + "/Info.plist", code="ios_info_plist_malformed").get(
            "CFBundleExecutable")
        if not isinstance(executable, str) or "/" in executable or container.get(inner + executable) is None:
            own.append(SignatureIssue("ios_nested_code_missing", "its Info.plist names no executable that is present"))
        else:
            resources = container.read(inner + CODE_RESOURCES, max_size=MAX_PLIST_SIZE) \
                if container.get(inner + CODE_RESOURCES) is not None else None
            binary = container.read(inner + executable, max_size=MAX_EXECUTABLE_SIZE)
            _signer, _ent, details = _verify_executable(binary, info_bytes, resources, roots, own, [], scanner,
                                                        inner + executable)
            _check_cdhash(rule, details, own)
            if resources is None:
                own.append(SignatureIssue("ios_resources_unsealed", "the nested bundle has no "
                                                                    "_CodeSignature/CodeResources"))
            else:
                _verify_resource_seal(container, inner, executable, resources, own, [], roots=roots, scanner=scanner,
                                      depth=depth + 1)
    else:
        own.append(SignatureIssue("ios_nested_code_missing", "the sealed nested code is not in the bundle"))
    errors += [e.at(relative) for e in own]
    if not own:
        verified_parts.append(f"nested_code: {relative}")


def _check_cdhash(rule: dict[str, Any], details: dict[str, Any], errors: list[SignatureIssue]) -> None:
    sealed = rule.get("cdhash")
    if not isinstance(sealed, bytes) or sealed[:20] not in details.get("cdhashes", ()):
        errors.append(SignatureIssue("ios_nested_code_mismatch", "its code signature is not the one the containing "
                                                                 "seal names"))


def _verify_profile(container: ApkContainer, app: str, bundle_id: str, signer_der: bytes | None,
                    entitlements: dict[str, Any], roots: Roots, errors: list[SignatureIssue], verified_parts: list[str],
                    details: dict[str, Any]) -> str | None:
    """Step 4; returns the team ID (App ID prefix) the profile names, if any."""
    if container.get(app + PROFILE) is None:
        errors.append(SignatureIssue("ios_profile_missing", "the bundle has no embedded.mobileprovision"))
        return None
    result = verify_signed_data(container.read(app + PROFILE, max_size=MAX_PLIST_SIZE), detached_content=None,
                                roots=roots)
    if result.content is None:
        errors.append(SignatureIssue("ios_profile_malformed", "embedded.mobileprovision carries no property list"))
        return None
    profile = _plist(result.content, PROFILE, code="ios_profile_malformed")
    found = profile.get("Entitlements")
    profile_entitlements: dict[str, Any] = found if isinstance(found, dict) else {}
    app_id = profile_entitlements.get("application-identifier")
    teams = [t for t in profile.get("TeamIdentifier") or () if isinstance(t, str)]
    certificates = [c for c in profile.get("DeveloperCertificates") or () if isinstance(c, bytes)]
    details["profile"] = {
        "name": _text(profile.get("Name")), "uuid": _text(profile.get("UUID")), "app_id": _text(app_id),
        "app_id_name": _text(profile.get("AppIDName")), "team_identifier": teams, "team_name": _text(
            profile.get("TeamName")), "expiration_date": str(profile.get("ExpirationDate") or "") or None,
        "developer_certificates_sha1": [hashlib.sha1(c).hexdigest() for c in certificates],
        "entitlements": _plain(profile_entitlements), "signature_verified": result.verified}
    if result.verified:
        verified_parts.append("profile_signature")
    else:
        errors += [e.within("ios_profile_") for e in result.errors]
    if signer_der is not None:
        if signer_der in certificates:
            verified_parts.append("signer_in_profile")
        else:
            errors.append(SignatureIssue("ios_signer_not_in_profile", "the code-signing certificate is not one of the "
                                                                      "provisioning profile's DeveloperCertificates"))
    team = teams[0] if teams else None
    if not isinstance(app_id, str) or team is None or not _app_id_covers(app_id, f"{team}.{bundle_id}"):
        errors.append(SignatureIssue("ios_profile_app_id_mismatch", f"the profile's App ID {app_id!r} does not cover "
                                                                    f"{team}.{bundle_id}"))
    else:
        verified_parts.append("profile_app_id")
    signed_app_id = entitlements.get("application-identifier")
    if signed_app_id is not None and signed_app_id != f"{team}.{bundle_id}":
        errors.append(SignatureIssue("ios_entitlements_app_id_mismatch", "the signed entitlements name "
                                                                         f"{signed_app_id!r}, not {team}.{bundle_id}"))
    return team


def _app_id_covers(app_id: str, wanted: str) -> bool:
    if app_id.endswith("*"):
        return wanted.startswith(app_id[:-1])
    return app_id == wanted


def _localized_names(container: ApkContainer, app: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for name in container.names():
        if not (name.startswith(app) and name.endswith(".lproj/InfoPlist.strings")):
            continue
        language = posixpath.basename(posixpath.dirname(name))[: -len(".lproj")]
        table = _strings_table(container.read(name, max_size=MAX_PLIST_SIZE))
        value = table.get("CFBundleDisplayName") or table.get("CFBundleName")
        if value:
            names[language] = value
    return names


def _strings_table(data: bytes) -> dict[str, str]:
    """An ``InfoPlist.strings`` table: a binary plist, or the text format ``"key" = "value";`` (UTF-8/UTF-16)."""
    if data.startswith(b"bplist"):
        try:
            table = plistlib.loads(data)
        except PLIST_ERRORS:
            return {}
        return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)} \
            if isinstance(table, dict) else {}
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", "replace")
    else:
        text = data.decode("utf-8-sig", "replace")
    return {_unescape(k): _unescape(v) for k, v in _STRINGS_PAIR.findall(text)}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _plist(data: bytes, what: str, *, code: str) -> dict[str, Any]:
    try:
        loaded = plistlib.loads(data)
    except PLIST_ERRORS as exc:
        raise PackageError(f"{what} is not a property list ({exc})", code=code) from None
    if not isinstance(loaded, dict):
        raise PackageError(f"{what} is not a dictionary", code=code)
    return loaded


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: object) -> Iterator[str]:
    """Every key and string value of a plist, for the network scan (not the XML around them)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _plain(value: object) -> Any:
    """A plist value as JSON-friendly data (bytes in hex, dates in ISO 8601)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
