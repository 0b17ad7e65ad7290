"""Quick apps (快应用, the Quick App Alliance's ``.rpk``): identity from ``manifest.json``, the signature the official
packager writes, network resources from the JS bundles and the manifest.

Identity: ``manifest.json`` at the root — ``package`` (the identifier filings name), ``name`` (the label),
``versionName``, ``versionCode``, ``minPlatformVersion`` (as ``min_sdk``), ``icon``, ``features[].name`` (the
platform APIs it uses, e.g. ``system.fetch``; as ``permissions``), ``permissions``, ``config``.

The signature, as ``@hap-toolkit/packager`` (npm) writes it — ``lib/signature`` read as the format's reference, not
copied. A signing block sits right before the ZIP central directory, laid out like Android's APK Signing Block:
``u64 size | pairs (u64 length, u32 id, value) | u64 size | "RPK Sig Block 42"``, little-endian. Pairs:

* ``0x01000101`` the signers: a u32-length-prefixed sequence of signers, each ``signed data | signatures | public
  key`` (u32-length-prefixed). Signed data: digests (``algorithm, digest``), certificates (DER), additional
  attributes. Signatures: ``algorithm, signature`` over the signed data. Algorithm ids are apksig's (``0x0103``
  RSASSA-PKCS1-v1_5 with SHA-256, the packager's only one).
* ``0x01000201`` the per-file digests: ``u32 algorithm`` then, per file, ``u32 CRC-32 of the name, u16 length,
  SHA-256 of the content``, then one signature over those bytes (same key).

The content digest — not chunked by 1 MiB as APK v2 is: the packager hashes three whole sections, the entries
before the block, the central directory and the end record (its directory offset pointing at the block start, as if
there were no block), each as ``SHA-256(0xa5 || u32 length || section)``, then ``SHA-256(0x5a || u32 3 || the three
hashes)``. ``META-INF/CERT`` is a second, inner ZIP signed the same way, holding ``hash.json``
(``{"algorithm": "SHA-256", "digests": {path: hex}}``) for the engine's per-file checks.

Verified (``signature.verified_parts``): ``signature`` (each signer's signature over its signed data, with its public
key), ``certificate_key`` (the first certificate carries that public key), ``content_digest`` (the recomputed digest
equals the signed one), ``file_digests`` (the per-file list is signed by the same key and matches every file),
``cert_digest_list`` (META-INF/CERT verifies under the same certificate and its hash.json matches every file).
``signature.verified`` is true when all of them verified. Quick-app certificates are self-signed (the developer's
own key, as Android's): no chain is judged; the filing names the certificate, and the decision compares digests.
Tampering after signing changes a section, so ``rpk_digest_mismatch``; a package without the block is
``rpk_unsigned``. Limits: signing blocks over ``MAX_BLOCK_SIZE``, more than ``MAX_SIGNERS`` signers or a manifest
over ``MAX_MANIFEST_SIZE`` are refused.

A set (``.rpks``: an app's base package and sub-packages, each a signed ``.rpk``/``.srpk``) is signed again as a
whole by the packager's ``signForRpks``: the outer ZIP carries the same signing block (no META-INF/CERT). The set is
``verified`` when its own block and every package inside verify, all under the same certificate; identity comes
from the package with a ``manifest.json``, every package is a ``part``, and packages naming another package name or
version are ``rpk_set_mismatch`` problems.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import struct
from typing import TYPE_CHECKING, Any

from gate.errors import PackageError
from gate.extract.facts import PackageFacts, PartFacts, Problem, SignatureFacts, SignatureIssue
from gate.extract.signing.wire import Reader, WireError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from gate.extract.container import ApkContainer

# The facts manifest.json gives (package, version, label, permissions) and the rest it says, for details.
Identity = tuple[dict[str, Any], dict[str, Any]]

MAGIC = b"RPK Sig Block 42"
SIGNERS_ID, FILE_DIGESTS_ID = 0x01000101, 0x01000201
CERT_ENTRY = "META-INF/CERT"
MAX_BLOCK_SIZE = 1 << 20  # the packager's block is a few KiB: one certificate, one signature
MAX_SIGNERS = 4
MAX_MANIFEST_SIZE = 1 << 20
# apksig's algorithm ids (the packager writes 0x0103): (key type, hash, PSS)
ALGORITHMS = {0x0101: ("RSA", "sha256", True), 0x0102: ("RSA", "sha512", True), 0x0103: ("RSA", "sha256", False),
              0x0104: ("RSA", "sha512", False), 0x0201: ("EC", "sha256", False), 0x0202: ("EC", "sha512", False)}
REQUIRED_PARTS = ("signature", "certificate_key", "content_digest", "file_digests", "cert_digest_list")
SET_MEMBER_SUFFIXES = (".rpk", ".srpk")
MAX_SET_MEMBERS = 64


class _Malformed(Exception):
    """The signing block's structure cannot be read (becomes ``rpk_signature_malformed``)."""


_UNREADABLE = (_Malformed, WireError, struct.error)  # length-prefixed values are read by signing.wire


def read_rpk(shown: str, container: ApkContainer) -> PackageFacts:
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    try:
        identity, details = _identity(container)
        signature = verify_rpk(container)
        for entry in container.entries:
            if not entry.is_directory and entry.name != CERT_ENTRY and scanner.wants(entry.name):
                scanner.feed(entry.name, container.read(entry))
        return PackageFacts(path=shown, format="rpk", platform="quickapp", signature=signature,
                            network=scanner.facts(), details={"quickapp": details}, problems=scanner.problem_facts(),
                            **identity)
    except PackageError as exc:
        return PackageFacts(path=shown, format="rpk", platform="quickapp", problems=(Problem(exc.code, exc.message),))


def read_rpks(shown: str, container: ApkContainer) -> PackageFacts:
    """A set of quick-app packages (module docstring)."""
    from gate.extract.container import ApkContainer
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    try:
        outer = verify_rpk(container, inner_list=False)
        members = [e for e in container.entries if not e.is_directory and e.name.lower().endswith(SET_MEMBER_SUFFIXES)]
        if not 0 < len(members) <= MAX_SET_MEMBERS:
            raise PackageError(f"the set holds {len(members)} packages (1 to {MAX_SET_MEMBERS})",
                               code="rpk_set_invalid")
        parts: list[PartFacts] = []
        problems: list[Problem] = []
        errors = list(outer.errors)
        base: Identity | None = None
        for entry in members:
            with ApkContainer.from_bytes(container.read(entry), limits=container.limits) as inner:
                signature = verify_rpk(inner)
                found = _identity(inner) if inner.get("manifest.json") is not None else None
                for item in inner.entries:
                    if not item.is_directory and item.name != CERT_ENTRY and scanner.wants(item.name):
                        scanner.feed(f"{entry.name}!/{item.name}", inner.read(item))
            identity = found[0] if found else {}
            errors += [e.of_part(entry.name) for e in signature.errors]
            parts.append(PartFacts(entry.name, None, identity.get("package"), identity.get("version_code"),
                                   signature.verified, tuple(s.cert_sha256 for s in signature.signers)))
            if found and base is None:
                base = found
            elif found and base is not None and ((identity["package"], identity["version_code"])
                                                 != (base[0]["package"], base[0]["version_code"])):
                problems.append(Problem("rpk_set_mismatch",
                                        f"{entry.name} is {identity['package']} {identity['version_code']}, "
                                        f"not {base[0]['package']} {base[0]['version_code']}"))
        if base is None:
            raise PackageError("no package in the set has a manifest.json", code="rpk_manifest_missing")
        outer_signers = tuple(s.cert_sha256 for s in outer.signers)
        if any(p.signers != outer_signers for p in parts):
            errors.append(SignatureIssue("rpk_set_signer_mismatch", "the packages of the set are not all signed by "
                                                                    "the set's signer"))
        verified = outer.verified and all(p.verified for p in parts) and not errors
        signature = SignatureFacts(verified=verified, schemes={}, signers=outer.signers, errors=tuple(errors),
                                   verified_parts=outer.verified_parts + (("set_members",) if verified else ()))
        identity, details = base
        return PackageFacts(path=shown, format="rpks", platform="quickapp", signature=signature,
                            network=scanner.facts(), details={"quickapp": details},
                            problems=tuple(problems) + scanner.problem_facts(), parts=tuple(parts), **identity)
    except PackageError as exc:
        return PackageFacts(path=shown, format="rpks", platform="quickapp",
                            problems=(Problem(exc.code, exc.message),))


def _identity(container: ApkContainer) -> Identity:
    try:
        manifest = json.loads(container.read("manifest.json", max_size=MAX_MANIFEST_SIZE))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageError(f"manifest.json is not JSON ({exc})", code="rpk_manifest_malformed") from None
    if not isinstance(manifest, dict):
        raise PackageError("manifest.json is not a JSON object", code="rpk_manifest_malformed")
    package = manifest.get("package")
    if not isinstance(package, str) or not package:
        raise PackageError("manifest.json names no package", code="rpk_package_missing")

    def text(name: str) -> str | None:
        return manifest[name] if isinstance(manifest.get(name), str) else None

    def number(name: str) -> int | None:
        value = manifest.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # A field of the wrong type is read as absent, as text() and number() read theirs.
    def items(name: str) -> list[Any]:
        value = manifest.get(name)
        return value if isinstance(value, list) else []

    features = [f.get("name") for f in items("features") if isinstance(f, dict)]
    features = [f for f in features if isinstance(f, str)]
    details = {"icon": text("icon"), "min_platform_version": number("minPlatformVersion"), "features": features,
               "permissions": items("permissions")}
    return ({"package": package, "version_code": number("versionCode"), "version_name": text("versionName"),
             "label": text("name"), "min_sdk": number("minPlatformVersion"), "permissions": tuple(features)},
            details)


# --- the signing block -----------------------------------------------------------------------------------------

def _sections(data: memoryview) -> tuple[int, int, int] | None:
    """(block start, central directory offset, end record offset) from the end record; None without a block."""
    size = len(data)
    tail = bytes(data[max(0, size - 0xFFFF - 22):size])
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Malformed("no ZIP end record")
    eocd = size - len(tail) + at
    cd = struct.unpack_from("<I", tail, at + 16)[0]
    if cd < 32 or cd > eocd or bytes(data[cd - 16:cd]) != MAGIC:
        return None
    block_size = struct.unpack_from("<Q", bytes(data[cd - 24:cd - 16]))[0]
    start = cd - block_size - 8
    if not 24 <= block_size <= MAX_BLOCK_SIZE or start < 0 or \
            struct.unpack_from("<Q", bytes(data[start:start + 8]))[0] != block_size:
        raise _Malformed("the block's two size fields disagree or lie outside the file")
    return start, cd, eocd


def _pairs(block: bytes) -> dict[int, bytes]:
    pairs: dict[int, bytes] = {}
    at, end = 8, len(block) - 24
    while at < end:
        if at + 12 > end:
            raise _Malformed("a pair header runs past the block")
        length, kind = struct.unpack_from("<QI", block, at)
        if length < 4 or at + 8 + length > end:
            raise _Malformed(f"pair {kind:#x} runs past the block")
        pairs.setdefault(kind, block[at + 12:at + 8 + length])
        at += 8 + length
    return pairs


def _sequence(data: bytes) -> list[bytes]:
    """A u32-length-prefixed sequence of u32-length-prefixed values (the APK Signing Block's wire format)."""
    reader, items = Reader(data), []
    while reader.remaining():
        items.append(reader.prefixed_bytes())
    return items


def content_digest(data: memoryview, start: int, cd: int, eocd: int) -> bytes:
    """The packager's digest of the three sections (module docstring)."""
    end = bytearray(data[eocd:])
    struct.pack_into("<I", end, 16, start)
    hashes = [hashlib.sha256(b"\xa5" + struct.pack("<I", len(s)) + bytes(s)).digest()
              for s in (data[:start], data[cd:eocd], bytes(end))]
    return hashlib.sha256(b"\x5a" + struct.pack("<I", 3) + b"".join(hashes)).digest()


def _verify_block(data: memoryview,
                  ) -> tuple[list[bytes], dict[int, bytes], list[str], list[SignatureIssue], PublicKeyTypes | None]:
    """(certificates of the first signer, pairs, verified parts, errors, first signer's key) of one signed ZIP."""
    from gate.extract.signing.certs import PublicKeyError, canonical_spki, load_public_key, verify_signature

    located = _sections(data)
    if located is None:
        return [], {}, [], [SignatureIssue("rpk_unsigned", "no RPK signing block before the central directory")], None
    start, cd, eocd = located
    pairs = _pairs(bytes(data[start:cd]))
    if SIGNERS_ID not in pairs:
        return [], pairs, [], [SignatureIssue("rpk_signature_missing", "the signing block has no signer pair "
                                                                       "(0x01000101)")], None
    signers = _sequence(Reader(pairs[SIGNERS_ID]).prefixed_bytes())
    if not 0 < len(signers) <= MAX_SIGNERS:
        raise _Malformed(f"{len(signers)} signers")
    errors: list[SignatureIssue] = []
    parts: list[str] = []
    first_certs: list[bytes] = []
    first_key: PublicKeyTypes | None = None
    wanted = content_digest(data, start, cd, eocd)
    for index, signer in enumerate(signers):
        fields = Reader(signer)
        signed, signatures, spki = fields.prefixed_bytes(), fields.prefixed_bytes(), fields.prefixed_bytes()
        signed_fields = Reader(signed)
        digests_raw, certs = signed_fields.prefixed_bytes(), _sequence(signed_fields.prefixed_bytes())
        try:
            key = load_public_key(spki)
        except PublicKeyError as exc:
            errors.append(SignatureIssue("rpk_signature_invalid", f"signer {index + 1}'s public key cannot be read "
                                                                  f"({exc.message})"))
            continue
        verified_with = set()
        for item in _sequence(signatures):
            item_fields = Reader(item)
            algorithm_id, signature = item_fields.u32(), item_fields.prefixed_bytes()
            known = ALGORITHMS.get(algorithm_id)
            if known and verify_signature(key, known[0], known[1], signed, signature, pss=known[2]):
                verified_with.add(algorithm_id)
        if not verified_with:
            errors.append(SignatureIssue("rpk_signature_invalid", f"signer {index + 1}'s signature over its signed "
                                                                  "data does not verify with its public key"))
            continue
        if not certs or canonical_spki(_certificate_spki(certs[0])) != canonical_spki(spki):
            errors.append(SignatureIssue("rpk_certificate_mismatch", f"signer {index + 1}'s certificate does not carry "
                                                                     "the key that signed"))
            continue
        signed_digests = {}
        for item in _sequence(digests_raw):
            item_fields = Reader(item)
            algorithm_id = item_fields.u32()
            signed_digests[algorithm_id] = item_fields.prefixed_bytes()
        if not any(signed_digests.get(a) == wanted for a in verified_with if ALGORITHMS[a][1] == "sha256"):
            errors.append(SignatureIssue("rpk_digest_mismatch", "the package content does not match the signed digest "
                                                                "(changed after signing)"))
            continue
        if index == 0:
            first_certs, first_key = certs, key
    if not errors:
        parts += ["signature", "certificate_key", "content_digest"]
    return first_certs, pairs, parts, errors, first_key


def _certificate_spki(der: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        return x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER,
                                                                             PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, TypeError):
        return b""


def _file_digests(value: bytes, key: PublicKeyTypes) -> dict[int, bytes]:
    """CRC-32 of the name -> SHA-256, after checking the list's signature with ``key``; _Malformed otherwise."""
    from gate.extract.signing.certs import verify_signature

    chunk = Reader(value).prefixed()
    listing, signature_item = chunk.prefixed_bytes(), chunk.prefixed()
    algorithm_id, signature = signature_item.u32(), signature_item.prefixed_bytes()
    known = ALGORITHMS.get(algorithm_id)
    if not known or not verify_signature(key, known[0], known[1], listing, signature, pss=known[2]):
        raise _Malformed("the per-file digest list's signature does not verify")
    digests, at = {}, 4
    while at < len(listing):
        crc, length = struct.unpack_from("<IH", listing, at)
        digests[crc] = listing[at + 6:at + 6 + length]
        at += 6 + length
    return digests


def verify_rpk(container: ApkContainer, *, inner_list: bool = True) -> SignatureFacts:
    """What of the package's signature verifies (module docstring). ``inner_list``: META-INF/CERT is required (a
    package; a set's outer ZIP has none)."""
    from gate.extract.container import ApkContainer
    from gate.extract.signing.certs import signer_certificate

    data = container.view(0, container.size)
    try:
        certs, pairs, parts, errors, key = _verify_block(data)
    except _UNREADABLE as exc:
        return SignatureFacts(errors=(SignatureIssue("rpk_signature_malformed",
                                                     f"the signing block cannot be read ({exc})"),))
    signer = signer_certificate(certs[0]) if certs else None
    files = {e.name: e for e in container.entries if not e.is_directory and e.name != CERT_ENTRY}
    digests: dict[str, bytes] = {}  # each file inflated and hashed once for both per-file checks

    def digest(name: str) -> bytes:
        if name not in digests:
            digests[name] = hashlib.sha256(container.read(files[name])).digest()
        return digests[name]

    if not errors:
        try:
            listed = (_file_digests(pairs[FILE_DIGESTS_ID], key)
                      if FILE_DIGESTS_ID in pairs and key is not None else None)
        except _UNREADABLE as exc:
            listed, errors = None, [SignatureIssue("rpk_file_digests_invalid", f"{exc}")]
        if listed is not None:
            wrong = [n for n in files if listed.get(binascii.crc32(n.encode()) & 0xFFFFFFFF) != digest(n)]
            if wrong:
                errors.append(SignatureIssue("rpk_file_digests_invalid", f"{', '.join(sorted(wrong)[:5])} differ from "
                                                                         "the signed per-file digests"))
            else:
                parts.append("file_digests")
        elif not errors:
            errors.append(SignatureIssue("rpk_file_digests_missing", "the signing block has no per-file digest list "
                                                                     "(0x01000201)"))
    if not errors and inner_list:
        entry = container.get(CERT_ENTRY)
        try:
            if entry is None:
                raise _Malformed(f"no {CERT_ENTRY}")
            with ApkContainer.from_bytes(container.read(entry), limits=container.limits) as inner:
                inner_certs, _, inner_parts, inner_errors, _ = _verify_block(inner.view(0, inner.size))
                if inner_errors or "content_digest" not in inner_parts or inner_certs[:1] != certs[:1]:
                    raise _Malformed("; ".join(e.message for e in inner_errors) or "signed by another certificate")
                manifest = json.loads(inner.read("hash.json", max_size=MAX_MANIFEST_SIZE))
            hex_digests = manifest.get("digests") if isinstance(manifest, dict) else None
            if not isinstance(hex_digests, dict) or any(hex_digests.get(n) != digest(n).hex() for n in files):
                raise _Malformed("hash.json does not list every file with its SHA-256")
            parts.append("cert_digest_list")
        except (*_UNREADABLE, PackageError, ValueError, UnicodeDecodeError) as exc:
            errors.append(SignatureIssue("rpk_cert_invalid", f"{CERT_ENTRY} does not verify ({exc})"))
    required = REQUIRED_PARTS if inner_list else tuple(p for p in REQUIRED_PARTS if p != "cert_digest_list")
    verified = not errors and all(p in parts for p in required)
    return SignatureFacts(verified=verified, schemes={}, signers=(signer,) if signer else (), errors=tuple(errors),
                          verified_parts=tuple(parts))
