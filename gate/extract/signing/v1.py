"""JAR signing (APK Signature Scheme v1), verified the way Android verifies it (apksig V1SchemeVerifier).

Steps (numbered as the code refers to them):
1. MANIFEST.MF must exist; every section it names must be an entry of the APK.
2. Signers are the ``META-INF/…(.RSA|.DSA|.EC)`` blocks with a matching ``.SF``; at most MAX_APK_SIGNERS.
3. Each block is PKCS#7 SignedData whose SignerInfo signs the .SF (directly or through signed attributes whose
   message digest is the .SF's), with a digest/signature algorithm pair every platform version in range supports.
   Before Android N only the first SignerInfo counts; from N the first one that verifies.
4. Each .SF must carry Signature-Version; from N it must not name an APK signature scheme (X-Android-APK-Signed)
   that the platform knows but did not find — the protection against stripping v2/v3 to fall back to v1. The
   whole-manifest digest (or, failing that, each section's digest) and the main-section digest must match.
5. Every entry outside META-INF/ must be in the manifest with a matching digest of its inflated contents, and be
   covered by the same set of signers as every other such entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import field
from typing import TYPE_CHECKING, Any

from asn1crypto import cms

from gate.errors import PackageError
from gate.extract.facts import SignatureIssue
from gate.extract.signing import certs
from gate.extract.signing.manifest import Section, parse_sections
from gate.records import FACTORY, record

if TYPE_CHECKING:
    from asn1crypto.x509 import Certificate

    from gate.extract.container import ApkContainer, EntryCallback, ZipEntry

MANIFEST = "META-INF/MANIFEST.MF"
MAX_APK_SIGNERS = 10
SDK_JELLY_BEAN_MR2, SDK_KITKAT, SDK_N, SDK_GINGERBREAD = 18, 19, 24, 9
INF = 0x7FFFFFFF

_DIGEST_OIDS = {
    "1.2.840.113549.2.5": "md5", "1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512",
}
# signature OID -> (key type, hash or None when the digest algorithm OID decides it)
_SIG_OIDS = {
    "1.2.840.113549.1.1.1": ("RSA", None), "1.2.840.113549.1.1.4": ("RSA", "md5"),
    "1.2.840.113549.1.1.5": ("RSA", "sha1"), "1.2.840.113549.1.1.14": ("RSA", "sha224"),
    "1.2.840.113549.1.1.11": ("RSA", "sha256"), "1.2.840.113549.1.1.12": ("RSA", "sha384"),
    "1.2.840.113549.1.1.13": ("RSA", "sha512"),
    "1.2.840.10040.4.1": ("DSA", None), "1.2.840.10040.4.3": ("DSA", "sha1"),
    "2.16.840.1.101.3.4.3.1": ("DSA", "sha224"), "2.16.840.1.101.3.4.3.2": ("DSA", "sha256"),
    "1.2.840.10045.2.1": ("EC", None), "1.2.840.10045.4.1": ("EC", "sha1"),
    "1.2.840.10045.4.3.1": ("EC", "sha224"), "1.2.840.10045.4.3.2": ("EC", "sha256"),
    "1.2.840.10045.4.3.3": ("EC", "sha384"), "1.2.840.10045.4.3.4": ("EC", "sha512"),
}


def _supported_ranges(digest: str, key: str, sig_hash: str | None) -> list[tuple[int, int]]:
    """API levels on which Android verifies a SignerInfo with this digest and signature algorithm (apksig's
    table, measured on real platforms): mismatched digest/signature pairs only worked on Lollipop/Marshmallow."""
    lollipop_marshmallow = [(21, 23)]
    if sig_hash is None:  # plain rsaEncryption / dsa / ecPublicKey: the digest OID decides
        table = {
            "RSA": {"md5": [(0, INF)], "sha1": [(0, INF)], "sha224": [(0, 8), (21, INF)],
                    "sha256": [(0, 8), (18, INF)], "sha384": [(18, INF)], "sha512": [(18, INF)]},
            "DSA": {"sha1": [(0, INF)], "sha224": [(22, INF)], "sha256": [(22, INF)]},
            "EC": {"sha1": [(18, INF)], "sha224": [(21, INF)], "sha256": [(18, INF)], "sha384": [(18, INF)],
                   "sha512": [(18, INF)]},
        }
        return table[key].get(digest, [])
    if digest == sig_hash:
        same = {
            "RSA": {"md5": [(0, 8), (21, INF)], "sha1": [(0, INF)], "sha224": [(0, 8), (21, INF)],
                    "sha256": [(0, 8), (18, INF)], "sha384": [(21, INF)], "sha512": [(21, INF)]},
            "DSA": {"sha1": [(9, INF)], "sha224": [(21, INF)], "sha256": [(21, INF)]},
            "EC": {"sha1": [(18, INF)], "sha224": [(21, INF)], "sha256": [(21, INF)], "sha384": [(21, INF)],
                   "sha512": [(21, INF)]},
        }
        return same[key].get(digest, [])
    if key == "RSA" and (digest, sig_hash) in (("sha224", "sha256"), ("sha256", "sha1"), ("sha512", "sha384")):
        return [(21, 21)]
    return lollipop_marshmallow


def _unsupported_levels(ranges: list[tuple[int, int]], lo: int, hi: int) -> bool:
    covered = lo
    for a, b in sorted(ranges):
        if a > covered:
            break
        covered = max(covered, b + 1 if b < INF else INF + 1)
    return covered <= hi


@record(frozen=False, eq=False)  # identity matters: signer sets are compared by object
class V1Signer:
    name: str
    block_name: str
    sf_name: str
    chain: list[bytes] = field(default_factory=list)  # DER, signing certificate first
    sf_bytes: bytes = b""
    sf_entry_names: set[str] = field(default_factory=set)
    errors: list[SignatureIssue] = field(default_factory=list)
    ignored: bool = False

    def __init__(self, name: str, block_name: str, sf_name: str, chain: list[bytes] = FACTORY, sf_bytes: bytes = b"",
                 sf_entry_names: set[str] = FACTORY, errors: list[SignatureIssue] = FACTORY,
                 ignored: bool = False) -> None:
        self.name = name
        self.block_name = block_name
        self.sf_name = sf_name
        self.chain = [] if chain is FACTORY else chain
        self.sf_bytes = sf_bytes
        self.sf_entry_names = set() if sf_entry_names is FACTORY else sf_entry_names
        self.errors = [] if errors is FACTORY else errors
        self.ignored = ignored


@record(frozen=False)
class V1Result:
    signers: list[V1Signer] = field(default_factory=list)
    errors: list[SignatureIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def all_errors(self) -> list[SignatureIssue]:
        return self.errors + [e for s in self.signers if not s.ignored for e in s.errors]

    @property
    def verified(self) -> bool:
        return bool(self.signers) and not self.all_errors() and self._done

    _done: bool = False

    def __init__(self, signers: list[V1Signer] = FACTORY, errors: list[SignatureIssue] = FACTORY,
                 warnings: list[str] = FACTORY, _done: bool = False) -> None:
        self.signers = [] if signers is FACTORY else signers
        self.errors = [] if errors is FACTORY else errors
        self.warnings = [] if warnings is FACTORY else warnings
        self._done = _done


class _Reader:
    """Inflates each entry once and hands it to ``on_entry``.

    Only the signature files (META-INF/) are remembered, since they are read again; every other entry is read once
    to be digested, and keeping it would hold the whole inflated package in memory.
    """

    def __init__(self, container: ApkContainer, on_entry: EntryCallback | None) -> None:
        self.container, self.on_entry = container, on_entry
        self.cache: dict[str, bytes] = {}

    def read(self, entry: ZipEntry) -> bytes:
        data = self.cache.get(entry.name)
        if data is None:
            data = self.container.read(entry)
            if self.on_entry is not None:
                self.on_entry(entry, data)
            if entry.name.startswith("META-INF/"):
                self.cache[entry.name] = data
        return data


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


_JB_MR2_ORDER = ("sha512", "sha384", "sha256", "sha1")
_JAR_NAMES = {"sha512": "SHA-512", "sha384": "SHA-384", "sha256": "SHA-256", "sha1": "SHA1"}
_LEGACY_NAMES = {"MD5": "md5", "SHA": "sha1", "SHA1": "sha1", "SHA-1": "sha1", "SHA-256": "sha256",
                 "SHA-384": "sha384", "SHA-512": "sha512"}
_LEGACY_MIN_SDK = {"md5": 0, "sha1": 0, "sha256": 0, "sha384": SDK_GINGERBREAD, "sha512": SDK_GINGERBREAD}


def digests_to_verify(section: Section, suffix: str, lo: int, hi: int) -> list[tuple[str, bytes | None]]:
    """The (algorithm, expected digest) pairs some platform version in range checks for ``section``.

    Before JB MR2 Android walks the Digest-Algorithms list (default "SHA SHA1") and takes the first it knows;
    from JB MR2 it takes the strongest of SHA-512, SHA-384, SHA-256, SHA-1."""
    result: list[tuple[str, bytes | None]] = []
    if lo < SDK_JELLY_BEAN_MR2:
        for alg in (section.get("Digest-Algorithms") or "SHA SHA1").split():
            value = section.get(alg + suffix)
            if value is None:
                continue
            canonical = _LEGACY_NAMES.get(alg.upper())
            if canonical is None or _LEGACY_MIN_SDK[canonical] > lo:
                continue
            result.append((canonical, _b64(value)))
            break
        if not result:
            return result
    if hi >= SDK_JELLY_BEAN_MR2:
        for alg in _JB_MR2_ORDER:
            value = section.get(_JAR_NAMES[alg] + suffix)
            if value is None:
                continue
            digest = _b64(value)
            if not any(a == alg and d == digest for a, d in result):
                result.append((alg, digest))
            break
    return result


def verify_v1(container: ApkContainer, *, min_sdk: int, max_sdk: int, supported: dict[int, str], found: set[int],
              on_entry: EntryCallback | None = None, reader: _Reader | None = None) -> V1Result:
    result = V1Result()
    reader = reader or _Reader(container, on_entry)
    entries = [e for e in container.entries if not e.name.endswith("/")]
    names = {e.name for e in entries}
    try:
        _verify(result, reader, entries, names, min_sdk=min_sdk, max_sdk=max_sdk, supported=supported,
                found=found)
    except PackageError as exc:  # an entry Android cannot inflate
        result.errors.append(SignatureIssue("v1_entry_unreadable", f"{exc}"))
    return result


def _verify(result: V1Result, reader: _Reader, entries: list[ZipEntry], names: set[str], *, min_sdk: int,
            max_sdk: int, supported: dict[int, str], found: set[int]) -> None:
    # 1. the manifest
    manifest_entry = next((e for e in entries if e.name == MANIFEST), None)
    sf_entries, block_entries = {}, []
    for e in entries:
        if not e.name.startswith("META-INF/") or e is manifest_entry:
            continue
        if e.name.endswith(".SF"):
            sf_entries[e.name] = e
        elif e.name.endswith((".RSA", ".DSA", ".EC")):
            block_entries.append(e)
    if manifest_entry is None:
        result.errors.append(SignatureIssue("v1_no_manifest", "META-INF/MANIFEST.MF is missing"))
        return
    manifest_bytes = reader.read(manifest_entry)
    sections = parse_sections(manifest_bytes)
    main = sections[0] if sections else Section(0, 0, ())
    by_name: dict[str, Section] = {}
    for number, section in enumerate(sections[1:], start=1):
        name = section.name
        if name is None:
            result.errors.append(SignatureIssue("v1_unnamed_manifest_section",
                                                f"manifest section #{number} has no Name"))
        elif name in by_name:
            result.errors.append(SignatureIssue("v1_duplicate_manifest_section", f"{name}"))
        else:
            by_name[name] = section
            if name not in names:
                result.errors.append(SignatureIssue("v1_manifest_names_missing_entry",
                                                    f"the manifest lists {name}, which is not in the APK"))
    if result.errors:
        return

    # 2. signers
    signers: list[V1Signer] = []
    for block_entry in block_entries:
        sf_name = block_entry.name[:block_entry.name.rfind(".")] + ".SF"
        if sf_name not in sf_entries:
            result.warnings.append(f"v1_missing_sf: {block_entry.name} has no {sf_name}")
            continue
        signers.append(V1Signer(block_entry.name[len("META-INF/"):], block_entry.name, sf_name))
    if not signers:
        result.errors.append(SignatureIssue("v1_no_signatures", "no JAR signatures"))
        return
    if len(signers) > MAX_APK_SIGNERS:
        result.errors.append(SignatureIssue("v1_max_signers_exceeded", f"{len(signers)} JAR signers, Android allows "
                                                                       f"{MAX_APK_SIGNERS}"))
        return
    by_entry_name = {e.name: e for e in entries}

    # 3. each signature block against its .SF
    for signer in signers:
        signer.sf_bytes = reader.read(sf_entries[signer.sf_name])
        _verify_block(signer, reader.read(by_entry_name[signer.block_name]), min_sdk, max_sdk)
        if signer.errors:
            result.signers.append(signer)
    if result.all_errors():
        return

    # 4. each .SF against the manifest
    remaining = []
    for signer in signers:
        _verify_sf(signer, manifest_bytes, main, by_name, supported, found, min_sdk, max_sdk)
        if signer.ignored:
            result.warnings.extend(f"(ignored signer {signer.name}) {e.message}" for e in signer.errors)
        elif signer.errors:
            result.signers.append(signer)
        else:
            remaining.append(signer)
    if result.all_errors():
        return
    if not remaining:
        result.errors.append(SignatureIssue("v1_no_verified_signer", "no JAR signer verifies"))
        return

    # 5. entries against the manifest and the signers
    entry_signers = _verify_entries(result, reader, entries, by_name, remaining, min_sdk, max_sdk)
    if result.errors:
        return
    result.signers = [s for s in remaining if s in entry_signers]
    result._done = True


def _verify_block(signer: V1Signer, block_bytes: bytes, min_sdk: int, max_sdk: int) -> None:
    name = signer.block_name
    try:
        info = cms.ContentInfo.load(block_bytes)
        if info["content_type"].dotted != "1.2.840.113549.1.7.2":
            raise ValueError("ContentInfo is not SignedData")
        signed_data = info["content"]
        signer_infos = list(signed_data["signer_infos"])
        cert_ders = [c.chosen.dump() for c in (signed_data["certificates"] or [])
                     if c.name == "certificate"]
        encap_type = signed_data["encap_content_info"]["content_type"].dotted
    except certs.ASN1_ERRORS as exc:
        signer.errors.append(SignatureIssue("v1_parse_error", f"{name}: {exc}"))
        return
    if not signer_infos:
        signer.errors.append(SignatureIssue("v1_no_signer_infos", f"{name} has no SignerInfo"))
        return
    try:
        parsed_certs = [certs.parse_certificate(d) for d in cert_ders]
    except certs.CertificateError as exc:
        signer.errors.append(SignatureIssue("v1_parse_error", f"{name}: {exc}"))
        return
    to_try = signer_infos[:1] if min_sdk < SDK_N else signer_infos
    first = None
    for signer_info in to_try:
        try:
            verdict = _verify_signer_info(signer, signer_info, cert_ders, parsed_certs, encap_type, min_sdk, max_sdk)
        except certs.ASN1_ERRORS as exc:
            signer.errors.append(SignatureIssue("v1_parse_error", f"{name}: {exc}"))
            return
        except certs.CertificateError as exc:  # the signing certificate's key cannot be used
            signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: {exc}"))
            return
        if signer.errors:
            return
        if verdict is not None and first is None:
            first = verdict
    if first is None:
        signer.errors.append(SignatureIssue("v1_signature_did_not_verify", f"{name} does not verify against "
                                                                           f"{signer.sf_name}"))
        return
    signer.chain = _chain(first, cert_ders, parsed_certs)


def _verify_signer_info(signer: V1Signer, signer_info: cms.SignerInfo, cert_ders: list[bytes],
                        parsed_certs: list[Certificate], encap_type: str, min_sdk: int, max_sdk: int) -> int | None:
    """The signing certificate's index when this SignerInfo verifies, None when it does not; errors (which stop
    the verification of this signer) go into ``signer.errors``."""
    name = signer.block_name
    digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    sig_oid = signer_info["signature_algorithm"]["algorithm"].dotted
    digest = _DIGEST_OIDS.get(digest_oid)
    key_and_hash = _SIG_OIDS.get(sig_oid)
    ranges = _supported_ranges(digest, *key_and_hash) if digest and key_and_hash else []
    if digest is None or key_and_hash is None or _unsupported_levels(ranges, min_sdk, max_sdk):
        signer.errors.append(SignatureIssue("v1_unsupported_signature_algorithm",
                                            f"{name} uses digest {digest_oid} with signature {sig_oid}, which some "
                                            f"Android version in {min_sdk}-{max_sdk} rejects"))
        return None
    key_type, sig_hash = key_and_hash
    sig_hash = sig_hash or digest

    sid = signer_info["sid"]
    index = None
    if sid.name == "issuer_and_serial_number":
        issuer, serial = sid.chosen["issuer"], sid.chosen["serial_number"].native
        for i, cert in enumerate(parsed_certs):
            tbs = cert["tbs_certificate"]
            if tbs["serial_number"].native == serial and tbs["issuer"] == issuer:
                index = i
                break
    if index is None:
        signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: signing certificate referenced in SignerInfo "
                                                               "not found"))
        return None
    cert = parsed_certs[index]
    unsupported = _unsupported_critical_extensions(cert)
    if unsupported:
        # apksig asks X509Certificate.hasUnsupportedCriticalExtension(): a critical extension the JDK does not
        # implement makes the JAR signature invalid (v2/v3 certificates are not checked for this).
        signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: signing certificate has unsupported critical "
                                                               f"extensions ({', '.join(unsupported)})"))
        return None
    key_usage = cert.key_usage_value
    if key_usage is not None and not ({"digital_signature", "non_repudiation"} & set(key_usage.native)):
        signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: certificate not authorised for digital "
                                                               "signatures"))
        return None
    key = certs.load_public_key(certs.canonical_spki(certs.spki_der(cert)))  # a negative RSA modulus as apksig reads it

    signed_attrs = signer_info["signed_attrs"]
    if signed_attrs is not None and len(signed_attrs):
        if min_sdk < SDK_KITKAT:
            # Before KitKat Android did not check the digest in signed attributes: such APKs are unprotected.
            signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: signed attributes are unsafe before "
                                                                   "Android 4.4"))
            return None
        attrs: dict[str, list[Any]] = {}  # asn1crypto attribute values
        for attr in signed_attrs:
            oid = attr["type"].dotted
            if oid in attrs:
                signer.errors.append(SignatureIssue("v1_parse_error", f"{name}: duplicate signed attribute {oid}"))
                return None
            attrs[oid] = list(attr["values"])
        for oid in ("1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"):
            if len(attrs.get(oid, [])) > 1:
                signer.errors.append(SignatureIssue("v1_parse_error", f"{name}: attribute {oid} has multiple values"))
                return None
        if max_sdk >= SDK_N:  # content type is checked from Android N
            ctype = attrs.get("1.2.840.113549.1.9.3")
            if not ctype:
                signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: no content type in signed attributes"))
                return None
            if ctype[0].dotted != encap_type:
                return None
        md = attrs.get("1.2.840.113549.1.9.4")
        if not md:
            signer.errors.append(SignatureIssue("v1_verify_error", f"{name}: no message digest in signed attributes"))
            return None
        if md[0].native != hashlib.new(digest, signer.sf_bytes).digest():
            return None
        # Android verifies over the attributes as encoded, with only the IMPLICIT [0] tag turned into SET.
        data = b"\x31" + signed_attrs.dump()[1:]
    else:
        data = signer.sf_bytes
    signature = signer_info["signature"].native
    if not certs.verify_signature(key, key_type, sig_hash, data, signature):
        return None
    return index


def _chain(leaf: int, cert_ders: list[bytes], parsed: list[Certificate]) -> list[bytes]:
    chain, unused, current = [cert_ders[leaf]], [i for i in range(len(cert_ders)) if i != leaf], leaf
    while parsed[current].subject != parsed[current].issuer:
        issuer = parsed[current].issuer
        nxt = next((i for i in unused if parsed[i].subject == issuer), None)
        if nxt is None:
            break
        unused.remove(nxt)
        chain.append(cert_ders[nxt])
        current = nxt
    return chain


def _verify_sf(signer: V1Signer, manifest_bytes: bytes, main: Section, by_name: dict[str, Section],
               supported: dict[int, str], found: set[int], min_sdk: int, max_sdk: int) -> None:
    sections = parse_sections(signer.sf_bytes)
    sf_main = sections[0] if sections else Section(0, 0, ())
    if sf_main.get("Signature-Version") is None:
        signer.errors.append(SignatureIssue("v1_sf_missing_version", f"{signer.sf_name} has no Signature-Version"))
        signer.ignored = True
        return
    if max_sdk >= SDK_N:
        _check_stripping(signer, sf_main, supported, found)
        if signer.errors:
            return
    signtool = "signtool" in (sf_main.get("Created-By") or "")
    manifest_ok = False
    expected = digests_to_verify(sf_main, "-Digest" if signtool else "-Digest-Manifest", min_sdk, max_sdk)
    if expected:
        manifest_ok = all(d == hashlib.new(a, manifest_bytes).digest() for a, d in expected)
    if not signtool:
        for alg, d in digests_to_verify(sf_main, "-Digest-Manifest-Main-Attributes", min_sdk, max_sdk):
            actual = hashlib.new(alg, manifest_bytes[main.start:main.start + main.size]).digest()
            if d != actual:
                signer.errors.append(SignatureIssue("v1_manifest_main_section_digest_mismatch", f"{signer.sf_name}"))
    if signer.errors:
        return
    seen: set[str] = set()
    for number, section in enumerate(sections[1:], start=1):
        entry = section.name
        if entry is None:
            signer.errors.append(SignatureIssue("v1_unnamed_sf_section", f"{signer.sf_name} section #{number}"))
            signer.ignored = True
            return
        if entry in seen:
            signer.errors.append(SignatureIssue("v1_duplicate_sf_section", f"{signer.sf_name} names {entry} twice"))
            signer.ignored = True
            return
        seen.add(entry)
        if manifest_ok:
            continue
        manifest_section = by_name.get(entry)
        if manifest_section is None:
            signer.errors.append(SignatureIssue("v1_sf_names_missing_manifest_section", f"{entry} in {signer.sf_name}"))
            signer.ignored = True
            continue
        digests = digests_to_verify(section, "-Digest", min_sdk, max_sdk)
        if not digests:
            signer.errors.append(SignatureIssue("v1_sf_section_without_digest", f"{entry} in {signer.sf_name}"))
            continue
        start, size = manifest_section.start, manifest_section.size
        if signtool and manifest_bytes[start + size - 2:start + size] == b"\n\n":
            size -= 1
        for alg, d in digests:
            if d != hashlib.new(alg, manifest_bytes[start:start + size]).digest():
                signer.errors.append(SignatureIssue("v1_manifest_section_digest_mismatch",
                                                    f"{entry} ({signer.sf_name})"))
    signer.sf_entry_names = seen


def _check_stripping(signer: V1Signer, sf_main: Section, supported: dict[int, str], found: set[int]) -> None:
    """X-Android-APK-Signed lists the APK signature schemes the signer also used; a scheme the platform knows but
    that was not found means someone stripped it to force the weaker JAR signature."""
    value = sf_main.get("X-Android-APK-Signed")
    if value is None or not supported:
        return
    for token in value.split(","):
        token = token.strip()
        if not token:
            continue
        try:
            scheme_id = int(token)
        except ValueError:
            continue
        if scheme_id in supported and scheme_id not in found:
            signer.errors.append(SignatureIssue("v1_stripped_scheme", f"{signer.sf_name} says the APK is signed with "
                                                                      f"{supported[scheme_id]}, which was not found "
                                                                      "(stripped?)"))


def _verify_entries(result: V1Result, reader: _Reader, entries: list[ZipEntry], by_name: dict[str, Section],
                    signers: list[V1Signer], min_sdk: int, max_sdk: int) -> set[V1Signer]:
    first_signers, first_name = None, None
    for entry in sorted(entries, key=lambda e: e.local_header_offset):
        name = entry.name
        if name.startswith("META-INF/"):
            continue
        section = by_name.get(name)
        if section is None:
            result.errors.append(SignatureIssue("v1_entry_not_in_manifest", f"{name} is not listed in the manifest"))
            continue
        entry_signers = [s for s in signers if name in s.sf_entry_names]
        if not entry_signers:
            result.errors.append(SignatureIssue("v1_entry_not_signed", f"{name} is not covered by any .SF"))
            continue
        if first_signers is None:
            first_signers, first_name = entry_signers, name
        elif entry_signers != first_signers:
            result.errors.append(SignatureIssue("v1_entry_signers_mismatch", f"{name} and {first_name} have different "
                                                                             "signers"))
            continue
        expected = digests_to_verify(section, "-Digest", min_sdk, max_sdk)
        if not expected:
            result.errors.append(SignatureIssue("v1_entry_not_in_manifest", f"{name} has no usable digest in the "
                                                                            "manifest"))
            continue
        data = reader.read(entry)
        for alg, d in expected:
            if d != hashlib.new(alg, data).digest():
                result.errors.append(SignatureIssue("v1_entry_digest_mismatch",
                                                    f"{name} ({alg}) does not match the manifest"))
    if first_signers is None:
        result.errors.append(SignatureIssue("v1_no_signed_entries", "no signed entries"))
        return set()
    return set(first_signers)


# Extensions the JDK's certificate parser implements (sun.security.x509.OIDMap): a critical extension outside this
# set is "unsupported" for X509Certificate.hasUnsupportedCriticalExtension().
JDK_SUPPORTED_EXTENSIONS = frozenset({
    "2.5.29.14",  # subjectKeyIdentifier
    "2.5.29.15",  # keyUsage
    "2.5.29.16",  # privateKeyUsagePeriod
    "2.5.29.17",  # subjectAltName
    "2.5.29.18",  # issuerAltName
    "2.5.29.19",  # basicConstraints
    "2.5.29.20",  # cRLNumber
    "2.5.29.21",  # reasonCode
    "2.5.29.24",  # invalidityDate
    "2.5.29.27",  # deltaCRLIndicator
    "2.5.29.28",  # issuingDistributionPoint
    "2.5.29.29",  # certificateIssuer
    "2.5.29.30",  # nameConstraints
    "2.5.29.31",  # cRLDistributionPoints
    "2.5.29.32",  # certificatePolicies
    "2.5.29.33",  # policyMappings
    "2.5.29.35",  # authorityKeyIdentifier
    "2.5.29.36",  # policyConstraints
    "2.5.29.37",  # extKeyUsage
    "2.5.29.46",  # freshestCRL
    "2.5.29.54",  # inhibitAnyPolicy
    "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
    "1.3.6.1.5.5.7.1.11",  # subjectInfoAccess
    "1.3.6.1.5.5.7.48.1.5",  # OCSP no check
    "2.16.840.1.113730.1.1",  # Netscape certificate type
})


def _unsupported_critical_extensions(cert: Certificate) -> list[str]:
    extensions = cert["tbs_certificate"]["extensions"]
    if not extensions:
        return []
    return [ext["extn_id"].dotted for ext in extensions
            if ext["critical"].native and ext["extn_id"].dotted not in JDK_SUPPORTED_EXTENSIONS]
