"""Certificate files -> the signers the filing form (备案) asks about, before any package exists.

Developers fill the filing form (Android 包名/公钥/签名MD5; iOS Bundle ID/公钥/SHA-1) long before a release build
exists, from what they have: the signing certificate (PEM or DER, or a PKCS#7 bundle), the keystore that will sign
the release (JKS, or PKCS#12 as keytool has created by default since Java 9), or an iOS provisioning profile
(``.mobileprovision``: a CMS SignedData whose content is a property list naming the developer certificates and the
App ID). Each certificate becomes the same ``SignerCertificate`` facts ``gate features`` prints for a package
(``gate.extract.signing.certs.signer_certificate``), so both print alike.

A keystore's certificates are the ones apksigner would sign with: the first certificate of each private-key
entry's chain. ``contains_private_key`` says whether the file holds private key material (PEM private key blocks,
PKCS#8 / PKCS#1 / SEC1 DER keys, JKS key entries, any PKCS#12): the pre-check page refuses such a file, because a
developer must never hand a private key to anyone.

JKS is read here rather than with a third-party reader: the format is small (Java's ``JavaKeyStore``: magic
``FEEDFEED``, version, entries; certificates stored in the clear), and the password is needed only for the
integrity digest, SHA-1 over the password in UTF-16BE, the words ``Mighty Aphrodite`` and the store's bytes. A
wrong password is refused, as keytool refuses it. The provisioning profile's CMS signature (Apple's) is not
verified: the profile only carries values the developer will type into a form.
"""

from __future__ import annotations

import hashlib
import hmac
import plistlib
import re
import struct
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gate.errors import GateError
from gate.extract.facts import SignerCertificate

T = TypeVar("T")

MAX_CERTIFICATE_FILE_BYTES = 1 << 20  # 1 MiB: a keystore or profile is a few KiB; nothing bigger is a certificate
MAX_CERTIFICATES = 100

JKS_MAGIC = 0xFEEDFEED
JCEKS_MAGIC = 0xCECECECE
_JKS_WHITENER = b"Mighty Aphrodite"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.S)
_PEM_CERTIFICATE_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PEM_PKCS7_LABELS = {b"PKCS7", b"CMS"}


class CertificateFileError(GateError):
    """A certificate file cannot be read (codes start with ``certificate_file_`` or ``keystore_``)."""

    code = "certificate_file_invalid"


@dataclass(frozen=True)
class CertificateFile:
    """What a certificate file holds for the filing form.

    ``kind``: ``certificate`` (PEM/DER X.509), ``pkcs7``, ``jks``, ``pkcs12`` or ``mobileprovision``.
    ``signers`` pair a name (keystore alias, profile certificate number, or "") with the certificate facts.
    ``identifier`` is the iOS Bundle ID of a profile (the App ID without its team prefix; ``*`` for a wildcard).
    """

    kind: str
    signers: tuple[tuple[str, SignerCertificate], ...]
    contains_private_key: bool = False
    identifier: str | None = None
    details: dict[str, Any] = field(default_factory=dict[str, Any])

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "identifier": self.identifier,
                "signers": [{"name": name, **cert.as_dict()} for name, cert in self.signers],
                "contains_private_key": self.contains_private_key, "details": dict(self.details)}


def sniff_kind(data: bytes) -> str:
    """``jks``, ``jceks``, ``pem``, ``pkcs12``, ``cms``, ``certificate``, ``private_key`` or ``unknown`` — no password
    needed. Used to tell whether a password must be asked for (``needs_password``) and by the pre-check page."""
    if len(data) >= 4 and struct.unpack(">I", data[:4])[0] == JKS_MAGIC:
        return "jks"
    if len(data) >= 4 and struct.unpack(">I", data[:4])[0] == JCEKS_MAGIC:
        return "jceks"
    if b"-----BEGIN " in data[:MAX_CERTIFICATE_FILE_BYTES]:
        return "pem"
    return _sniff_der(data)


def needs_password(data: bytes) -> bool:
    return sniff_kind(data) in ("jks", "jceks", "pkcs12")


def holds_private_key(data: bytes) -> bool:
    """True when the file holds, or may hold, private key material (checked without a password)."""
    kind = sniff_kind(data)
    if kind in ("private_key", "pkcs12"):  # PKCS#12 bags are usually encrypted: assume the worst
        return True
    if kind in ("jks", "jceks"):
        try:
            return _read_jks(data, password=None).contains_private_key
        except CertificateFileError:
            return True
    if kind == "pem":
        return any(b"PRIVATE KEY" in m.group(1) for m in _PEM_BLOCK.finditer(data))
    return False


def read_certificate_file(data: bytes, *, password: str | None = None) -> CertificateFile:
    """Read one certificate file; raises CertificateFileError with a stable code, never a library exception."""
    if len(data) > MAX_CERTIFICATE_FILE_BYTES:
        raise CertificateFileError(f"the file is larger than {MAX_CERTIFICATE_FILE_BYTES} bytes: not a certificate "
                                   "file", code="certificate_file_too_large")
    if not data:
        raise CertificateFileError("the file is empty", code="certificate_file_empty")
    kind = sniff_kind(data)
    if kind in ("jks", "jceks"):
        return _read_jks(data, password=password)
    if kind == "pkcs12":
        return _read_pkcs12(data, password)
    if kind == "pem":
        return _read_pem(data)
    if kind == "certificate":
        return CertificateFile("certificate", (("", _signer(data)),))
    if kind == "cms":
        return _read_cms(data)
    if kind == "private_key":
        raise CertificateFileError("the file is a private key, not a certificate", code="certificate_file_private_key")
    raise CertificateFileError("not a certificate, keystore (JKS, PKCS#12) or provisioning profile",
                               code="certificate_file_unrecognised")


# --- readers -------------------------------------------------------------------------------------------------

def _signer(der: bytes) -> SignerCertificate:
    from gate.extract.signing.certs import CertificateError, signer_certificate

    try:
        return signer_certificate(der)
    except CertificateError as exc:
        raise CertificateFileError(exc.message, code="certificate_file_malformed") from None


def _of_type(value: Any, kind: type[T], default: T) -> T:
    return value if isinstance(value, kind) else default


def _sniff_der(data: bytes) -> str:
    from asn1crypto import cms, keys, pkcs12, x509
    from asn1crypto.core import Asn1Value

    from gate.extract.signing.certs import ASN1_ERRORS

    def loads(spec: type[Asn1Value]) -> bool:
        try:
            value = spec.load(data, strict=True)
            _ = value.native  # a complete parse, not just the outer tag
            return True
        except ASN1_ERRORS:
            return False

    if loads(x509.Certificate):
        return "certificate"
    if loads(cms.ContentInfo):
        return "cms"
    if loads(pkcs12.Pfx):
        return "pkcs12"
    if any(loads(spec) for spec in (keys.PrivateKeyInfo, keys.EncryptedPrivateKeyInfo, keys.RSAPrivateKey,
                                    keys.ECPrivateKey)):
        return "private_key"
    return "unknown"


def _read_pem(data: bytes) -> CertificateFile:
    import base64
    import binascii

    signers: list[tuple[str, SignerCertificate]] = []
    private = False
    kind = "certificate"
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1)
        if b"PRIVATE KEY" in label:
            private = True
            continue
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise CertificateFileError(f"a PEM block ({label.decode()}) is not valid base64",
                                       code="certificate_file_malformed") from None
        if label in _PEM_CERTIFICATE_LABELS:
            signers.append(("", _signer(der)))
        elif label in _PEM_PKCS7_LABELS:
            kind = "pkcs7"
            signers.extend(_read_cms(der).signers)
    if not signers:
        if private:
            raise CertificateFileError("the file holds a private key and no certificate",
                                       code="certificate_file_private_key")
        raise CertificateFileError("the PEM file holds no certificate", code="certificate_file_unrecognised")
    return CertificateFile(kind, tuple(signers[:MAX_CERTIFICATES]), contains_private_key=private)


def _read_cms(data: bytes) -> CertificateFile:
    """A PKCS#7 certificate bundle (.p7b), or an iOS provisioning profile (its content is a plist)."""
    from asn1crypto import cms

    from gate.extract.signing.certs import ASN1_ERRORS

    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            raise CertificateFileError("a CMS structure that is not SignedData", code="certificate_file_unrecognised")
        signed = info["content"]
        content = signed["encap_content_info"]["content"].native
        bundled = [c.chosen.dump() for c in signed["certificates"] or () if c.name == "certificate"]
    except ASN1_ERRORS as exc:
        raise CertificateFileError(f"malformed CMS structure: {exc}", code="certificate_file_malformed") from None
    if isinstance(content, bytes) and content.lstrip().startswith((b"<?xml", b"<!DOCTYPE plist", b"<plist",
                                                                    b"bplist")):
        return _read_profile(content)
    if not bundled:
        raise CertificateFileError("the PKCS#7 structure holds no certificate", code="certificate_file_unrecognised")
    return CertificateFile("pkcs7", tuple(("", _signer(der)) for der in bundled[:MAX_CERTIFICATES]))


def _read_profile(plist_bytes: bytes) -> CertificateFile:
    """An iOS provisioning profile's DeveloperCertificates and App ID (``TEAMID.bundle.id``)."""
    try:
        profile = plistlib.loads(plist_bytes)
    except (plistlib.InvalidFileException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise CertificateFileError(f"the provisioning profile's property list is malformed: {exc}",
                                   code="certificate_file_malformed") from None
    if not isinstance(profile, dict):
        raise CertificateFileError("the provisioning profile is not a dictionary", code="certificate_file_malformed")
    certs = profile.get("DeveloperCertificates")
    if not isinstance(certs, list) or not certs or not all(isinstance(c, bytes) for c in certs):
        raise CertificateFileError("the provisioning profile lists no DeveloperCertificates",
                                   code="certificate_file_malformed")
    entitlements = _of_type(profile.get("Entitlements"), dict, {})
    app_id = entitlements.get("application-identifier")
    # Any of these may be of another type in a malformed profile: ignored, as an absent value is.
    teams = _of_type(profile.get("TeamIdentifier"), list, [])
    prefixes = [p for p in _of_type(profile.get("ApplicationIdentifierPrefix"), list, []) + teams
                if isinstance(p, str)]
    identifier = None
    if isinstance(app_id, str):
        identifier = app_id
        for prefix in prefixes:
            if app_id.startswith(prefix + "."):
                identifier = app_id[len(prefix) + 1:]
                break
    details = {key: profile[key] for key in ("Name", "AppIDName", "TeamName") if isinstance(profile.get(key), str)}
    if teams:
        details["TeamIdentifier"] = [t for t in teams if isinstance(t, str)]
    if "ExpirationDate" in profile:
        details["ExpirationDate"] = str(profile["ExpirationDate"])
    signers = tuple((f"DeveloperCertificates[{i}]", _signer(der)) for i, der in enumerate(certs[:MAX_CERTIFICATES]))
    return CertificateFile("mobileprovision", signers, identifier=identifier, details=details)


def _read_pkcs12(data: bytes, password: str | None) -> CertificateFile:
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    if password is None:
        raise CertificateFileError("a PKCS#12 keystore needs its password", code="keystore_password_required")
    try:
        store = pkcs12.load_pkcs12(data, password.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        # cryptography says "Invalid password or PKCS12 data" for both; keytool says the same.
        raise CertificateFileError(f"the PKCS#12 keystore cannot be opened (wrong password, or damaged): {exc}",
                                   code="keystore_password_invalid") from None
    signers = []
    if store.cert is not None:
        name = store.cert.friendly_name.decode("utf-8", "replace") if store.cert.friendly_name else ""
        signers.append((name, _signer(store.cert.certificate.public_bytes(Encoding.DER))))
    elif store.additional_certs:
        for cert in store.additional_certs[:MAX_CERTIFICATES]:
            name = cert.friendly_name.decode("utf-8", "replace") if cert.friendly_name else ""
            signers.append((name, _signer(cert.certificate.public_bytes(Encoding.DER))))
    if not signers:
        raise CertificateFileError("the PKCS#12 keystore holds no certificate", code="certificate_file_unrecognised")
    return CertificateFile("pkcs12", tuple(signers), contains_private_key=True)


class _Reader:
    """Big-endian fields of a Java DataOutputStream, with bounds checks."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise CertificateFileError("the keystore is truncated", code="keystore_malformed")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u4(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def utf(self) -> str:
        # Java's modified UTF-8; the names we read (aliases, "X.509") are plain UTF-8 in practice.
        return self.take(struct.unpack(">H", self.take(2))[0]).decode("utf-8", "replace")


def _read_jks(data: bytes, *, password: str | None) -> CertificateFile:
    """JKS/JCEKS: private-key entries (tag 1) and trusted certificates (tag 2); ``password=None`` skips only the
    integrity check (used to tell whether the store holds a key, never to print values)."""
    reader = _Reader(data)
    magic, version, count = reader.u4(), reader.u4(), reader.u4()
    if version not in (1, 2):
        raise CertificateFileError(f"keystore version {version} is not 1 or 2", code="keystore_malformed")
    if count > MAX_CERTIFICATES:
        raise CertificateFileError(f"the keystore declares {count} entries", code="keystore_malformed")

    def certificate() -> bytes:
        if version == 2:
            cert_type = reader.utf()
            if cert_type != "X.509":
                raise CertificateFileError(f"certificate type {cert_type!r} is not X.509", code="keystore_malformed")
        return reader.take(reader.u4())

    keys: list[tuple[str, bytes]] = []
    trusted: list[tuple[str, bytes]] = []
    for _ in range(count):
        tag = reader.u4()
        alias = reader.utf()
        reader.take(8)  # creation date
        if tag == 1:
            reader.take(reader.u4())  # the encrypted private key: never decrypted, never printed
            chain = [certificate() for _ in range(reader.u4())]
            if chain:
                keys.append((alias, chain[0]))
        elif tag == 2:
            trusted.append((alias, certificate()))
        else:  # JCEKS secret keys (tag 3) are serialized Java objects: nothing a filing needs
            raise CertificateFileError(f"keystore entry {alias!r} is of type {tag}, which holds no certificate; "
                                       "export the certificate with keytool -exportcert", code="keystore_unsupported")
    stored_digest = reader.take(20)
    if reader.pos != len(data):
        raise CertificateFileError("bytes after the keystore's integrity digest", code="keystore_malformed")
    if password is not None:
        secret = password.encode("utf-16-be")
        digest = hashlib.sha1(secret + _JKS_WHITENER + data[:-20]).digest()
        if not hmac.compare_digest(digest, stored_digest):
            raise CertificateFileError("the keystore password is incorrect (or the keystore was tampered with)",
                                       code="keystore_password_invalid")
    chosen = keys or trusted
    if not chosen:
        raise CertificateFileError("the keystore holds no certificate", code="certificate_file_unrecognised")
    kind = "jks" if magic == JKS_MAGIC else "jceks"
    if password is None:  # facts are not built without the integrity check
        return CertificateFile(kind, (), contains_private_key=bool(keys))
    return CertificateFile(kind, tuple((alias, _signer(der)) for alias, der in chosen), contains_private_key=bool(keys))
