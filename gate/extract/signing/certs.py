"""DER X.509 certificate -> SignerCertificate, with the digests and names ``apksigner verify --print-certs`` prints.

apksigner prints, per signer: the certificate DN (Java's ``X509Certificate.getSubjectDN()``: RDNs from the last
one encoded to the first, ``CN=…, O=…, C=…``), SHA-256/SHA-1/MD5 of the DER certificate, the key algorithm
(``RSA``/``EC``/``DSA``), the key size in bits and the "public key SHA-256 digest", which is the SHA-256 of the
DER SubjectPublicKeyInfo (``PublicKey.getEncoded()``). The filing form's 公钥 is the RSA modulus in hex.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

from gate.errors import PackageError
from gate.extract.facts import SignerCertificate


class CertificateError(PackageError):
    """A certificate in a signature could not be parsed (Android rejects the signature then)."""

    code = "signature_certificate_malformed"


# Short names Java's X500Name.toString() uses; other attribute types print as their dotted OID.
CERTIFICATE_CACHE_SIZE = 256  # parsed certificates kept, by their exact bytes

_RDN_KEYWORDS = {
    "common_name": "CN",
    "country_name": "C",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "street_address": "STREET",
    "domain_component": "DC",
    "user_id": "UID",
    "email_address": "EMAILADDRESS",
    "serial_number": "SERIALNUMBER",
    "title": "T",
    "given_name": "GIVENNAME",
    "surname": "SURNAME",
    "initials": "INITIALS",
    "generation_qualifier": "GENERATION",
    "dn_qualifier": "DNQUALIFIER",
}
_SPECIAL = set(',+=\n<>#;"\\')

# What asn1crypto raises on malformed DER, beyond its ValueError subclasses: an empty BIT STRING whose contents it
# indexes gives IndexError, unexpected choices TypeError/KeyError, huge lengths OverflowError, and a universal type
# it has no native form for (an ObjectDescriptor where a value was expected) AttributeError.
ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


def parse_certificate(der: bytes) -> asn1_x509.Certificate:
    """Parse a DER certificate completely, or raise CertificateError (never an asn1crypto exception).

    Bytes after the certificate are ignored, as the JDK's CertificateFactory (apksig, and Android's own verifier)
    ignores them; the certificate's digests are still taken over all the bytes, which is what apksigner prints and
    what the device records as the signature (the encoded form is kept verbatim).
    """
    return _parse_certificate(bytes(der))


# The same few certificates come back all day (a developer's key signs every release; v2 and v3 blocks carry the same
# certificate), and a full asn1crypto parse is most of what verifying a small package costs. Keyed by the exact
# bytes, so a cached parse is the parse of those bytes; failures are not cached (they raise).
@functools.lru_cache(maxsize=CERTIFICATE_CACHE_SIZE)
def _parse_certificate(data: bytes) -> asn1_x509.Certificate:
    try:
        cert = asn1_x509.Certificate.load(data[:_first_element_length(data)], strict=True)
        _ = cert.native  # force a full parse: lazy parsing would defer errors to the first attribute access
        return cert
    except ASN1_ERRORS as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None


def _first_element_length(data: bytes) -> int:
    """Length of the BER/DER element at the start of ``data`` (header included); len(data) when unreadable."""
    if len(data) < 2 or data[1] == 0x80:  # too short, or an indefinite length: let the parser say why
        return len(data)
    if data[1] < 0x80:
        return min(len(data), 2 + data[1])
    count = data[1] & 0x7F
    if count > 4 or len(data) < 2 + count:
        return len(data)
    return min(len(data), 2 + count + int.from_bytes(data[2:2 + count], "big"))


def spki_der(cert: asn1_x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo as encoded inside the certificate."""
    der: bytes = cert["tbs_certificate"]["subject_public_key_info"].dump()  # asn1crypto has no types
    return der


def _quote(value: str) -> str:
    # X500Name quotes a value that holds a special character or has leading/trailing spaces.
    if value and (any(c in _SPECIAL for c in value) or value[0] == " " or value[-1] == " "):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def subject_string(cert: asn1_x509.Certificate) -> str:
    """The subject as apksigner prints it ("certificate DN:")."""
    parts = []
    for rdn in reversed(list(cert.subject.chosen)):
        avas = []
        for ava in rdn:
            key = _RDN_KEYWORDS.get(ava["type"].native, ava["type"].dotted)
            value = ava["value"].native
            avas.append(f"{key}={_quote(value if isinstance(value, str) else str(value))}")
        parts.append(" + ".join(avas))
    return ", ".join(parts)


def positive_modulus(modulus: int) -> int:
    """An RSA modulus as apksig uses it: a negative INTEGER (written without its leading zero byte by some old
    signing tools) is re-encoded with a zero sign byte, i.e. its minimal two's-complement bytes read unsigned
    (ApkSigningBlockUtils.encodePublicKey)."""
    if modulus >= 0:
        return modulus
    width = ((-modulus - 1).bit_length() // 8) + 1
    return modulus + (1 << (8 * width))


def _rsa_modulus(spki: asn1_keys.PublicKeyInfo) -> int:
    return positive_modulus(spki["public_key"].parsed["modulus"].native)


def key_algorithm_and_size(spki: asn1_keys.PublicKeyInfo) -> tuple[str, int]:
    algorithm = spki.algorithm  # "rsa", "ec", "dsa", "rsassa_pss", ...
    try:
        bits = _rsa_modulus(spki).bit_length() if algorithm in ("rsa", "rsassa_pss") else spki.bit_size
    except ASN1_ERRORS:
        bits = 0
    return {"rsa": "RSA", "rsassa_pss": "RSA", "ec": "EC", "dsa": "DSA"}.get(algorithm, algorithm.upper()), bits


def public_key_text(spki: asn1_keys.PublicKeyInfo) -> str:
    """公钥 as the filing form wants it: RSA modulus in lowercase hex (the positive, re-encoded one apksig uses),
    else the SPKI DER in hex."""
    if spki.algorithm in ("rsa", "rsassa_pss"):
        return format(_rsa_modulus(spki), "x")
    return bytes(spki.dump()).hex()


def signer_certificate(der: bytes) -> SignerCertificate:
    """Build the SignerCertificate facts of one DER certificate (raises CertificateError)."""
    return _signer_certificate(bytes(der))


@functools.lru_cache(maxsize=CERTIFICATE_CACHE_SIZE)
def _signer_certificate(der: bytes) -> SignerCertificate:  # frozen facts of exactly these bytes
    cert = parse_certificate(der)
    spki = cert["tbs_certificate"]["subject_public_key_info"]
    try:
        algorithm, bits = key_algorithm_and_size(spki)
        public_key = public_key_text(spki)
        subject = subject_string(cert)
    except ASN1_ERRORS as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
    return SignerCertificate(
        cert_md5=hashlib.md5(der).hexdigest(),
        cert_sha1=hashlib.sha1(der).hexdigest(),
        cert_sha256=hashlib.sha256(der).hexdigest(),
        public_key=public_key,
        public_key_sha256=hashlib.sha256(spki.dump()).hexdigest(),
        subject=subject,
        key_algorithm=algorithm,
        key_size=bits,
    )


# --- signature verification ----------------------------------------------------------------------------------------

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes  # noqa: E402

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class PublicKeyError(CertificateError):
    """A public key could not be decoded for the algorithm that should use it."""

    code = "signature_key_malformed"


def load_public_key(spki: bytes) -> PublicKeyTypes:
    """cryptography public key from DER SubjectPublicKeyInfo, or raise PublicKeyError."""
    try:
        return serialization.load_der_public_key(bytes(spki))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise PublicKeyError(f"malformed public key: {exc}") from None


def canonical_spki(spki: bytes) -> bytes:
    """The SPKI as Android re-encodes it before comparing with a v2/v3 signer's public key record.

    apksig compares the record with ``encodePublicKey(cert.getPublicKey())``, which re-encodes RSA keys in the
    canonical form (rsaEncryption with NULL parameters) and a negative RSA modulus as positive; other key types are
    compared as encoded. The comparison stays exact: the record is what the signature verified with.
    """
    key: PublicKeyTypes | None
    try:
        key = serialization.load_der_public_key(bytes(spki))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = _negative_modulus_key(spki)
        if key is None:
            return bytes(spki)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bytes(spki)


def _negative_modulus_key(spki: bytes) -> rsa.RSAPublicKey | None:
    """The RSA key of an SPKI whose modulus INTEGER is negative, with the modulus made positive; else None."""
    try:
        info = asn1_keys.PublicKeyInfo.load(bytes(spki), strict=True)
        if info.algorithm != "rsa":
            return None
        parsed = info["public_key"].parsed
        modulus, exponent = parsed["modulus"].native, parsed["public_exponent"].native
        if modulus >= 0:
            return None
        return rsa.RSAPublicNumbers(exponent, positive_modulus(modulus)).public_key()
    except ASN1_ERRORS + (UnsupportedAlgorithm,):
        return None


def key_type(key: PublicKeyTypes) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    return "?"


def verify_signature(key: PublicKeyTypes, key_alg: str, digest: str, data: bytes | memoryview,
                     signature: bytes | memoryview, *, pss: bool = False) -> bool:
    """True when ``signature`` over ``data`` verifies with ``key`` (a cryptography public key).

    ``key_alg`` is the key type the signature algorithm requires ("RSA", "EC", "DSA"); a key of another type fails
    the check (Java's Signature.initVerify raises InvalidKeyException, which Android treats as not verified).
    RSA-PSS uses MGF1 with the same digest and a salt as long as the digest (Android's PSS parameters).
    """
    if key_type(key) != key_alg:
        return False
    algorithm = _HASHES[digest]()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad = (padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size) if pss
                   else padding.PKCS1v15())
            key.verify(bytes(signature), bytes(data), pad, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(bytes(signature), bytes(data), ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(bytes(signature), bytes(data), algorithm)
        else:  # key_type() names no other kind, so key_alg cannot have matched
            return False
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
