"""CMS SignedData (RFC 5652) as Apple uses it: the signature over a CodeDirectory and over a provisioning profile.

``verify_signed_data`` checks, offline, in this order:
  1. one SignerInfo, whose certificate (by issuer and serial number) is in the structure;
  2. signed attributes are present, ``content-type`` is id-data and ``message-digest`` is the hash of the content
     (detached: the CodeDirectory; attached: the profile's plist);
  3. the signature over the DER SET of signed attributes verifies with the signer's key;
  4. the signer's certificate chains, by subject/issuer and verified signatures, through certificates in the
     structure to one of the trusted roots (Apple Root CA by default, gate/data/apple_root_ca.cer; an operator's
     extra roots, gate.extract.trust: a root given only by its SHA-256 fingerprint must be carried in the structure);
     each issuer is a CA (basicConstraints cA);
  5. the signer's certificate allows code signing (extendedKeyUsage codeSigning) when ``code_signing`` is asked.
Validity dates are reported, not enforced: a code signature stays valid after its certificate expires (the
provisioning profile's expiry is what iOS enforces, and the IPA reader reports it).

Never raises for a bad signature: the answer lists errors, each starting with a stable tag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asn1crypto import cms as asn1_cms

from gate.extract.facts import SignatureIssue
from gate.extract.signing.certs import ASN1_ERRORS, PublicKeyError, load_public_key, verify_signature

if TYPE_CHECKING:
    from asn1crypto.x509 import Certificate

CODE_SIGNING_EKU = "code_signing"
_SIGNATURE_KEYS = {"rsassa_pkcs1v15": "RSA", "sha1_rsa": "RSA", "sha256_rsa": "RSA", "sha384_rsa": "RSA",
                   "sha512_rsa": "RSA", "ecdsa": "EC", "sha1_ecdsa": "EC", "sha256_ecdsa": "EC", "sha384_ecdsa": "EC",
                   "sha512_ecdsa": "EC"}
MAX_CHAIN = 8


@dataclass(frozen=True)
class CmsResult:
    verified: bool
    signer_der: bytes | None = None
    chain: tuple[bytes, ...] = ()  # signer first, the trusted root last
    signed_attributes: dict[str, Any] = field(default_factory=dict[str, Any])  # attribute OID -> list of native values
    content: bytes | None = None  # the attached content (a profile's plist), when there is one
    not_after: str | None = None  # the signer certificate's expiry (ISO 8601)
    errors: tuple[SignatureIssue, ...] = ()


def verify_signed_data(der: bytes, *, detached_content: bytes | None, roots: tuple[bytes | str, ...],
                       code_signing: bool = False) -> CmsResult:
    """``roots``: trusted root certificates (DER bytes) and SHA-256 fingerprints (str) of roots the structure must
    carry itself (gate.extract.trust)."""
    try:
        return _verify(der, detached_content, roots, code_signing)
    except ASN1_ERRORS as exc:
        return CmsResult(False, errors=(SignatureIssue("cms_malformed", "the CMS signature cannot be decoded "
                                                                        f"({exc})"),))


def _verify(der: bytes, detached: bytes | None, roots: tuple[bytes | str, ...], code_signing: bool) -> CmsResult:
    info = asn1_cms.ContentInfo.load(bytes(der), strict=True)
    if info["content_type"].native != "signed_data":
        return CmsResult(False, errors=(SignatureIssue("cms_malformed", "the CMS structure is not SignedData"),))
    signed = info["content"]
    attached = signed["encap_content_info"]["content"].native
    content = detached if detached is not None else attached
    if content is None or (detached is not None and attached is not None):
        return CmsResult(False, errors=(SignatureIssue("cms_content_ambiguous",
                                                       "the signed content is missing, or both attached and given"),))
    certs = [c.chosen for c in signed["certificates"] or () if c.name == "certificate"]
    signers = list(signed["signer_infos"])
    # 1.
    if len(signers) != 1:
        return CmsResult(False, errors=(SignatureIssue("cms_signer_count", f"{len(signers)} SignerInfos, exactly one "
                                                                           "expected"),))
    signer_info = signers[0]
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        return CmsResult(False, errors=(SignatureIssue("cms_signer_unknown", "the signer is not named by issuer and "
                                                                             "serial number"),))
    wanted = (sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native)
    signer = next((c for c in certs if (c.issuer.dump(), c.serial_number) == wanted), None)
    if signer is None:
        return CmsResult(False, errors=(SignatureIssue("cms_signer_unknown", "the signer's certificate is not in the "
                                                                             "signature"),))
    attributes = {a["type"].dotted: list(a["values"].native) for a in signer_info["signed_attrs"] or ()}
    result = dict(signer_der=signer.dump(), signed_attributes=attributes,
                  content=attached if isinstance(attached, bytes) else None,
                  not_after=signer["tbs_certificate"]["validity"]["not_after"].native.isoformat())
    errors: list[SignatureIssue] = []
    # 2.
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if not signer_info["signed_attrs"]:
        errors.append(SignatureIssue("cms_no_signed_attributes", "the signature signs no attributes"))
    elif attributes.get("1.2.840.113549.1.9.3") != ["data"]:
        errors.append(SignatureIssue("cms_content_type", "the signed content type is not id-data"))
    elif digest_name not in ("sha1", "sha256", "sha384", "sha512"):
        errors.append(SignatureIssue("cms_digest_algorithm", f"{digest_name} is not supported"))
    elif attributes.get("1.2.840.113549.1.9.4") != [hashlib.new(digest_name, bytes(content)).digest()]:
        errors.append(SignatureIssue("cms_message_digest_mismatch", "the signed digest does not match the content"))
    # 3.
    if not errors:
        signed_attrs = signer_info["signed_attrs"].dump()
        to_verify = b"\x31" + signed_attrs[1:]  # the [0] IMPLICIT tag is signed as a universal SET (RFC 5652 5.4)
        algorithm = signer_info["signature_algorithm"]["algorithm"].native
        key_alg = _SIGNATURE_KEYS.get(algorithm)
        key = load_public_key(signer["tbs_certificate"]["subject_public_key_info"].dump())
        if key_alg is None or not verify_signature(key, key_alg, digest_name, to_verify,
                                                   signer_info["signature"].native):
            errors.append(SignatureIssue("cms_signature_invalid", f"the signature ({algorithm}) does not verify with "
                                                                  "the signer's key"))
    # 4. and 5.
    chain: list[bytes] = []
    if not errors:
        fingerprints = {r for r in roots if isinstance(r, str)}
        carried = tuple(c.dump() for c in certs if fingerprints and hashlib.sha256(c.dump()).hexdigest() in fingerprints)
        chain_errors, chain = _chain(signer, certs, tuple(r for r in roots if isinstance(r, bytes)) + carried)
        errors += chain_errors
    if not errors and code_signing:
        usage = signer.extended_key_usage_value
        if usage is None or CODE_SIGNING_EKU not in usage.native:
            errors.append(SignatureIssue("cms_not_code_signing", "the signer's certificate does not allow code "
                                                                 "signing"))
    return CmsResult(not errors, chain=tuple(chain), errors=tuple(errors), **result)


def _chain(leaf: Certificate, bag: list[Certificate], roots: tuple[bytes, ...]) -> tuple[list[SignatureIssue], list[bytes]]:
    from asn1crypto import x509 as asn1_x509

    trusted = [asn1_x509.Certificate.load(r) for r in roots]
    chain = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN):
        for root in trusted:
            if current.issuer == root.subject and _signed_by(current, root):
                if current.dump() != root.dump():
                    chain.append(root)
                return [], [c.dump() for c in chain]
        if current.self_signed in ("maybe", "yes"):
            break
        issuer = next((c for c in bag if c.subject == current.issuer and c.dump() != current.dump()
                       and _signed_by(current, c)), None)
        if issuer is None:
            break
        constraints = issuer.basic_constraints_value
        if constraints is None or not constraints["ca"].native:
            return [SignatureIssue("cms_chain_invalid", f"{issuer.subject.human_friendly} issues certificates but is "
                                                        "not a CA")], []
        chain.append(issuer)
        current = issuer
    return [SignatureIssue("cms_chain_untrusted", f"{leaf.subject.human_friendly} does not chain to a trusted "
                                                  "root")], []


def _signed_by(cert: Certificate, issuer: Certificate) -> bool:
    algorithm = cert["signature_algorithm"]
    key_alg = _SIGNATURE_KEYS.get(algorithm["algorithm"].native)
    digest = algorithm.hash_algo
    try:
        key = load_public_key(issuer["tbs_certificate"]["subject_public_key_info"].dump())
    except (PublicKeyError, *ASN1_ERRORS):  # an unusable key cannot have issued it
        return False
    return key_alg is not None and verify_signature(key, key_alg, digest, cert["tbs_certificate"].dump(),
                                                    cert["signature_value"].native)
