"""HarmonyOS packages: a module (``.hap``) or an App Pack (``.app``) — identity, signing block, profile.

Identity (OpenHarmony's published package structure):
* stage model ``module.json``: ``app.bundleName``, ``app.versionCode``, ``app.versionName``, ``app.label``,
  ``app.minAPIVersion``/``targetAPIVersion``, ``module.requestPermissions[].name``;
* FA model ``config.json``: ``app.bundleName``, ``app.version.code``/``name``, ``app.apiVersion.compatible``/``target``;
* an App Pack's ``pack.info``: ``summary.app.bundleName`` and ``summary.app.version``; each ``.hap`` inside is read as
  a module and must name the same bundleName and versionCode (``harmony_module_mismatch``).

The signing block (as OpenHarmony's hapsigner writes it) sits right before the ZIP central directory and ends with a
32-byte tail: block count (int32), block size (int64, the whole block), a 16-byte magic (``HAP Sig Block 42`` for
version 2, ``<hap sign block>`` for version 3) and the version (int32), all little-endian. It starts with one
12-byte head per sub-block (type, length, offset from the block start): ``0x20000000`` the signature (PKCS#7
SignedData whose content is the digest list: version, count, then (length, algorithm id, digest length, digest)),
``0x20000001`` proof of rotation, ``0x20000002`` the profile (a PKCS#7-signed JSON profile), ``0x20000003``
properties (code signing). The digest: 1 MiB chunks of the entries before the block, the central directory and the
end record (its directory offset pointing at the block start, as if there were no block), each hashed as
``H(0xa5 || length || chunk)``; then ``H(0x5a || chunk count || chunk hashes || every other sub-block's value)``.

What the gate verifies and what it only reads (``signature.verified_parts`` lists what verified):
* ``content_digest`` — the digest above matches the signed digest list;
* ``pkcs7_signature`` — the signature block's PKCS#7 signature verifies with its signer's certificate;
* ``profile_signature`` — the profile's PKCS#7 signature verifies with its own signer's certificate;
* ``profile_bundle_name`` and ``signer_in_profile`` — the profile names this bundleName and the signing certificate.
The certificate chains: the gate ships no HarmonyOS root certificate, so by default it cannot tell a certificate
issued by Huawei's AppGallery CA from a self-made one: ``signature.verified`` stays false with
``harmony_chain_unverified`` and the decision blocks, whatever else verified (fail closed). ``signers`` still names
the signing certificate for the filing form. An operator may name the roots its platform trusts
(``GATE_TRUST_ROOTS_HARMONY``, gate.extract.trust); then both the signing certificate and the profile's signer must
chain to one of them (``signing_chain``, ``profile_chain``; else ``harmony_cms_chain_untrusted`` /
``harmony_profile_cms_chain_untrusted``), and a package whose every part verified is ``verified``. The layout above
follows OpenHarmony's published description; no package signed by Huawei's own tools was available here to check it
against (docs/formats.md).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gate.errors import GateError, PackageError
from gate.extract.facts import PackageFacts, PartFacts, Problem, SignatureFacts, SignatureIssue
from gate.extract.trust import NO_EXTRA_ROOTS, TrustRoots

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer
    from gate.extract.ios.cms import CmsResult
    from gate.extract.network import NetworkScanner

MAGIC_V2 = b"HAP Sig Block 42"
MAGIC_V3 = b"<hap sign block>"
TAIL = struct.Struct("<iq16si")
HEAD = struct.Struct("<III")
SIGNATURE_BLOCK, ROTATION_BLOCK, PROFILE_BLOCK, PROPERTY_BLOCK = 0x20000000, 0x20000001, 0x20000002, 0x20000003
CHUNK = 1 << 20
MAX_JSON_SIZE = 4 << 20
MAX_SUB_BLOCKS = 16
DIGEST_BY_ALGORITHM = {1: "sha256", 2: "sha384", 3: "sha512"}  # low byte of the signature algorithm id
# What must have verified, besides a trusted chain, for ``signature.verified`` (module docstring).
REQUIRED_PARTS = ("pkcs7_signature", "content_digest", "profile_signature", "profile_bundle_name",
                  "signer_in_profile", "signing_chain", "profile_chain")


def read_harmony(shown: str, container: ApkContainer, fmt: str, *, trust: TrustRoots = NO_EXTRA_ROOTS) -> PackageFacts:
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    try:
        if fmt == "app":
            return _read_app_pack(shown, container, scanner, trust)
        identity = _identity(container)
        signature = verify_signing_block(container, identity["package"], trust=trust)
        _scan(container, scanner, "")
        return PackageFacts(path=shown, format="hap", platform="harmony", signature=signature,
                            network=scanner.facts(), problems=scanner.problem_facts(), **identity)
    except PackageError as exc:
        return PackageFacts(path=shown, format=fmt, platform="harmony", problems=(Problem(exc.code, exc.message),))


def _read_app_pack(shown: str, container: ApkContainer, scanner: NetworkScanner, trust: TrustRoots) -> PackageFacts:
    """An App Pack: pack.info names the app; every .hap inside is a module, read and verified like a .hap."""
    from gate.extract.container import ApkContainer

    pack = _json(container, "pack.info")
    app = (pack.get("summary") or {}).get("app") or {}
    bundle = app.get("bundleName")
    version = app.get("version") or {}
    if not isinstance(bundle, str) or not bundle:
        raise PackageError("pack.info names no summary.app.bundleName", code="harmony_bundle_name_missing")
    parts, problems, first = [], [], None
    for entry in container.entries:
        if entry.is_directory or not entry.name.endswith(".hap"):
            continue
        try:
            with ApkContainer.from_bytes(container.read(entry), limits=container.limits) as inner:
                identity = _identity(inner)
                signature = verify_signing_block(inner, identity["package"], trust=trust)
                _scan(inner, scanner, entry.name + "!/")
        except GateError as exc:
            problems.append(Problem(exc.code, f"{entry.name}: {exc.message}"))
            continue
        if identity["package"] != bundle or identity["version_code"] != version.get("code"):
            problems.append(Problem("harmony_module_mismatch", f"{entry.name}: {identity['package']} "
                                    f"{identity['version_code']} differs from pack.info's {bundle} "
                                    f"{version.get('code')}"))
        parts.append(PartFacts(entry.name, None, identity["package"], identity["version_code"], signature.verified,
                               tuple(s.cert_sha256 for s in signature.signers)))
        first = first or (identity, signature)
    if first is None:
        raise PackageError("the App Pack holds no readable .hap module", code="harmony_module_missing")
    identity, signature = first
    signers = {p.signers for p in parts}
    if len(signers) > 1:
        problems.append(Problem("harmony_module_mismatch", "the modules are signed by different certificates"))
    return PackageFacts(path=shown, format="app", platform="harmony", signature=signature, network=scanner.facts(),
                        problems=tuple(problems) + scanner.problem_facts(), parts=tuple(parts), **identity)


def _identity(container: ApkContainer) -> dict[str, Any]:
    if container.get("module.json") is not None:
        document = _json(container, "module.json")
        app, module = document.get("app") or {}, document.get("module") or {}
        version_code, version_name = app.get("versionCode"), app.get("versionName")
        min_api, target_api = app.get("minAPIVersion"), app.get("targetAPIVersion")
        permissions = [p.get("name") for p in module.get("requestPermissions") or () if isinstance(p, dict)]
    elif container.get("config.json") is not None:
        document = _json(container, "config.json")
        app, module = document.get("app") or {}, document.get("module") or {}
        version = app.get("version") or {}
        api = app.get("apiVersion") or {}
        version_code, version_name = version.get("code"), version.get("name")
        min_api, target_api = api.get("compatible"), api.get("target")
        permissions = [p.get("name") for p in module.get("reqPermissions") or () if isinstance(p, dict)]
    else:
        raise PackageError("the module has neither module.json nor config.json", code="harmony_module_json_missing")
    bundle = app.get("bundleName")
    if not isinstance(bundle, str) or not bundle:
        raise PackageError("the module names no app.bundleName", code="harmony_bundle_name_missing")
    label = app.get("label") if isinstance(app.get("label"), str) and not app["label"].startswith("$") else None
    return {"package": bundle, "version_code": version_code if isinstance(version_code, int) else None,
            "version_name": version_name if isinstance(version_name, str) else None, "label": label,
            "min_sdk": min_api if isinstance(min_api, int) else None,
            "target_sdk": target_api if isinstance(target_api, int) else None,
            "permissions": tuple(p for p in permissions if isinstance(p, str))}


def _json(container: ApkContainer, name: str) -> dict[str, Any]:
    try:
        document = json.loads(container.read(name, max_size=MAX_JSON_SIZE))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageError(f"{name} is not JSON ({exc})", code="harmony_json_malformed") from None
    if not isinstance(document, dict):
        raise PackageError(f"{name} is not a JSON object", code="harmony_json_malformed")
    return document


def _scan(container: ApkContainer, scanner: NetworkScanner, prefix: str) -> None:
    for entry in container.entries:
        if entry.is_directory or not scanner.wants(entry.name):
            continue
        data = container.read(entry)
        if entry.name.endswith(".abc"):
            # Ark bytecode keeps its strings NUL-terminated (after a length prefix): scanned as string data.
            scanner.feed_string_regions(prefix + entry.name, data, [(0, len(data))])
        else:
            scanner.feed(prefix + entry.name, data)


# --- the signing block -----------------------------------------------------------------------------------------

# (block start, central directory offset, end-record offset, sub-block values by type, (type, value) in order)
SigningBlockLayout = tuple[int, int, int, dict[int, list[bytes]], list[tuple[int, bytes]]]


def locate_signing_block(container: ApkContainer) -> SigningBlockLayout | None:
    """(block start, central directory offset, end-record offset, sub-block values by type, (type, value) in order),
    or None when there is no signing block."""
    cd_offset, eocd_offset = _directory_offsets(container)
    if cd_offset < TAIL.size:
        return None
    count, size, magic, version = TAIL.unpack(bytes(container.view(cd_offset - TAIL.size, cd_offset)))
    if magic not in (MAGIC_V2, MAGIC_V3):
        return None
    start = cd_offset - size
    if not 0 < count <= MAX_SUB_BLOCKS or size < TAIL.size + HEAD.size * count or start < 0:
        raise PackageError("the HarmonyOS signing block's tail is inconsistent", code="harmony_signing_block_invalid")
    block = bytes(container.view(start, cd_offset))
    by_type: dict[int, list[bytes]] = {}
    ordered: list[tuple[int, bytes]] = []
    for index in range(count):
        kind, length, offset = HEAD.unpack_from(block, index * HEAD.size)
        if offset + length > size - TAIL.size or offset < HEAD.size * count:
            raise PackageError(f"sub-block {kind:#x} lies outside the signing block",
                               code="harmony_signing_block_invalid")
        value = block[offset:offset + length]
        by_type.setdefault(kind, []).append(value)
        ordered.append((kind, value))
    return start, cd_offset, eocd_offset, by_type, ordered


def _directory_offsets(container: ApkContainer) -> tuple[int, int]:
    """Central directory offset and end-record offset, from the end record itself."""
    size = container.size
    tail = bytes(container.view(max(0, size - 0xFFFF - 22), size))
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise PackageError("no ZIP end record", code="harmony_signing_block_invalid")
    eocd = size - len(tail) + at
    return struct.unpack_from("<I", tail, at + 16)[0], eocd


def content_digest(container: ApkContainer, start: int, cd_offset: int, eocd_offset: int, others: list[bytes],
                   algorithm: str) -> bytes:
    """The digest the signature block signs (module docstring), recomputed from the file."""
    eocd = bytearray(container.view(eocd_offset, container.size))
    struct.pack_into("<I", eocd, 16, start)  # the directory offset as it was before the block went in
    sections = (container.view(0, start), container.view(cd_offset, eocd_offset), memoryview(bytes(eocd)))
    hashes, count = [], 0
    for section in sections:
        for at in range(0, len(section), CHUNK):
            chunk = section[at:at + CHUNK]
            hashes.append(hashlib.new(algorithm, b"\xa5" + struct.pack("<i", len(chunk)) + chunk).digest())
            count += 1
    return hashlib.new(algorithm, b"\x5a" + struct.pack("<i", count) + b"".join(hashes) + b"".join(others)).digest()


def _digest_list(content: bytes) -> list[tuple[int, bytes]]:
    version, count = struct.unpack_from("<ii", content, 0)
    if version != 2 or not 0 < count <= 8:
        raise PackageError(f"digest list version {version} / count {count}", code="harmony_signature_malformed")
    pairs, at = [], 8
    for _ in range(count):
        _length, algorithm, size = struct.unpack_from("<iii", content, at)
        pairs.append((algorithm, content[at + 12:at + 12 + size]))
        at += 12 + size
    return pairs


def verify_signing_block(container: ApkContainer, bundle: str, *, trust: TrustRoots = NO_EXTRA_ROOTS) -> SignatureFacts:
    """What of the signing block verifies (module docstring). ``verified`` only under a root the operator named."""
    from gate.extract.ios.cms import verify_signed_data
    from gate.extract.signing.certs import signer_certificate

    try:
        located = locate_signing_block(container)
    except struct.error:
        located = None
    if located is None:
        return SignatureFacts(errors=(SignatureIssue("harmony_unsigned", "no HarmonyOS signing block before the "
                                                                         "central directory"),))
    start, cd_offset, eocd_offset, by_type, ordered = located
    errors: list[SignatureIssue] = []
    parts: list[str] = []
    if len(by_type.get(SIGNATURE_BLOCK, ())) != 1:
        return SignatureFacts(errors=(SignatureIssue("harmony_signature_missing",
                                                     "the signing block has no (or several) signature sub-blocks"),))
    roots = trust.for_platform("harmony")
    configured = trust.any_for("harmony")
    main = verify_signed_data(by_type[SIGNATURE_BLOCK][0], detached_content=None, roots=roots)
    signer = None
    if main.signer_der is not None and all(e.code.startswith("cms_chain") for e in main.errors):
        parts.append("pkcs7_signature")
        _chain_outcome(main, configured, "signing_chain", "harmony_", errors, parts)
        signer = signer_certificate(main.signer_der)
        try:
            pairs = _digest_list(main.content or b"")
        except (struct.error, PackageError) as exc:
            pairs = []
            errors.append(SignatureIssue("harmony_signature_malformed", "the signed digest list cannot be read "
                                                                        f"({exc})"))
        others = [value for kind, value in ordered if kind != SIGNATURE_BLOCK]
        for algorithm_id, digest in pairs:
            algorithm = DIGEST_BY_ALGORITHM.get(algorithm_id & 0xFF)
            if algorithm is None:
                errors.append(SignatureIssue("harmony_digest_algorithm", f"{algorithm_id:#x} is not known"))
            elif content_digest(container, start, cd_offset, eocd_offset, others, algorithm) != digest:
                errors.append(SignatureIssue("harmony_digest_mismatch", "the package content does not match the "
                                                                        "signed digest"))
            else:
                parts.append("content_digest")
    else:
        errors += [e.within("harmony_") for e in main.errors if not e.code.startswith("cms_chain")]
    _verify_profile(by_type.get(PROFILE_BLOCK, ()), bundle, main.signer_der, errors, parts, roots, configured)
    if not configured:
        errors.append(SignatureIssue("harmony_chain_unverified", "no HarmonyOS root is configured "
                                                                 "(GATE_TRUST_ROOTS_HARMONY), so the signing and "
                                                                 "profile certificates' chains are read, not verified"))
    verified = configured and not errors and all(part in parts for part in REQUIRED_PARTS)
    return SignatureFacts(verified=verified, schemes={}, signers=(signer,) if signer else (), errors=tuple(errors),
                          verified_parts=tuple(parts))


def _chain_outcome(result: CmsResult, configured: bool, part: str, prefix: str, errors: list[SignatureIssue],
                   parts: list[str]) -> None:
    """A signature that verified: its chain is trusted (``part``), untrusted (an error), or not judged (no root)."""
    if result.verified:
        parts.append(part)
    elif configured:
        errors += [e.within(prefix) for e in result.errors]


def _verify_profile(values: Sequence[bytes], bundle: str, signer_der: bytes | None, errors: list[SignatureIssue],
                    parts: list[str], roots: tuple[bytes | str, ...], configured: bool) -> None:
    from gate.extract.ios.cms import verify_signed_data

    if len(values) != 1:
        errors.append(SignatureIssue("harmony_profile_missing", "the signing block carries no (or several) profiles"))
        return
    result = verify_signed_data(values[0], detached_content=None, roots=roots)
    if result.signer_der is None or not all(e.code.startswith("cms_chain") for e in result.errors):
        errors += [e.within("harmony_profile_") for e in result.errors]
        return
    parts.append("profile_signature")
    _chain_outcome(result, configured, "profile_chain", "harmony_profile_", errors, parts)
    try:
        profile = json.loads(result.content or b"")
        info = profile.get("bundle-info") or {}
    except (ValueError, UnicodeDecodeError, AttributeError):
        errors.append(SignatureIssue("harmony_profile_malformed", "the profile is not a JSON object"))
        return
    if info.get("bundle-name") != bundle:
        errors.append(SignatureIssue("harmony_profile_bundle_mismatch", "the profile is for "
                                                                        f"{info.get('bundle-name')!r}, not {bundle!r}"))
    else:
        parts.append("profile_bundle_name")
    certificate = info.get("distribution-certificate") or info.get("development-certificate")
    if signer_der is not None and isinstance(certificate, str):
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding
        try:
            listed = x509.load_pem_x509_certificate(certificate.encode()).public_bytes(Encoding.DER)
        except ValueError:
            listed = None
        if listed == signer_der:
            parts.append("signer_in_profile")
        else:
            errors.append(SignatureIssue("harmony_signer_not_in_profile", "the signing certificate is not the "
                                                                          "profile's certificate"))
