"""Frozen facts about a package: what the device itself would see.

These are the shapes behind ``gate features --json`` (README "Facts"). They are plain data: building them is
the job of the other modules in ``gate.extract``; deciding on them is the job of the decision engine.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Any

from gate.records import FACTORY, record


@record
class Problem:
    """Something that keeps the gate from reading the package as the device does. ``code`` is stable."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        object.__setattr__(self, "__dict__", {"code": code, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Problem:
        return cls(d["code"], d["message"])


@record
class SignerCertificate:
    """A signing certificate with the digests the filing form (备案) asks for.

    ``public_key`` is what the form calls 公钥: for RSA the modulus in lowercase hex, for other key types the DER
    SubjectPublicKeyInfo in hex. ``cert_md5`` is 签名MD5: the MD5 of the DER certificate.
    """

    cert_md5: str
    cert_sha1: str
    cert_sha256: str
    public_key: str
    public_key_sha256: str
    subject: str
    key_algorithm: str
    key_size: int

    def __init__(self, cert_md5: str, cert_sha1: str, cert_sha256: str, public_key: str, public_key_sha256: str,
                 subject: str, key_algorithm: str, key_size: int) -> None:
        object.__setattr__(self, "__dict__", {
            "cert_md5": cert_md5, "cert_sha1": cert_sha1, "cert_sha256": cert_sha256, "public_key": public_key,
            "public_key_sha256": public_key_sha256, "subject": subject, "key_algorithm": key_algorithm,
            "key_size": key_size
        })

    def as_dict(self) -> dict[str, Any]:
        return {
            "cert_md5": self.cert_md5,
            "cert_sha1": self.cert_sha1,
            "cert_sha256": self.cert_sha256,
            "public_key": self.public_key,
            "public_key_sha256": self.public_key_sha256,
            "subject": self.subject,
            "key_algorithm": self.key_algorithm,
            "key_size": self.key_size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignerCertificate:
        fields: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


# The Android release of the API levels a signature scheme starts at (v2: 7.0, v3: 9), for messages.
ANDROID_RELEASES = {24: "7.0", 28: "9"}


_ISSUE_CODE = re.compile(r"[a-z0-9_]+")


@record
class SignatureIssue:
    """One rule a package's signature breaks, as apksig's ``ApkVerifier.IssueWithParams``: a stable ``code``
    (``v1_no_manifest``, ``v2_digest_mismatch``, ``harmony_unsigned`` …) and ``detail``, the issue's parameters in
    words (which signer, entry, digest or platform range). The engine reads ``code``; people read ``message``.

    ``message`` is the text the facts JSON has always carried (``"code: detail"``), so stored facts and the facts and
    decision JSON keep their exact bytes; ``from_message`` reads that text back (stored facts, recorded oracles).
    """

    code: str
    detail: str = ""
    part: str | None = None  # the member package it concerns, in a package made of several (an RPK set's entry)

    def __init__(self, code: str, detail: str = "", part: str | None = None) -> None:
        object.__setattr__(self, "__dict__", {"code": code, "detail": detail, "part": part})

    @property
    def message(self) -> str:
        said = f"{self.code}: {self.detail}"
        return said if self.part is None else f"{self.part}: {said}"

    def __str__(self) -> str:
        return self.message

    def within(self, prefix: str) -> SignatureIssue:
        """The same issue found in a nested signature whose codes carry ``prefix`` (``harmony_``, ``ios_profile_``)."""
        return SignatureIssue(prefix + self.code, self.detail)

    def at(self, where: str) -> SignatureIssue:
        """The same issue, said of one part of the package (an iOS slice's architecture, a nested bundle's path)."""
        return SignatureIssue(self.code, f"{where}: {self.detail}")

    def of_part(self, part: str) -> SignatureIssue:
        """The same issue, found in the member package ``part`` of a set."""
        return SignatureIssue(self.code, self.detail, part)

    @classmethod
    def from_message(cls, text: str) -> SignatureIssue:
        """The issue a ``message`` says. A first segment that is no code (``main.rpk``, a name with dots) names
        the member package the rest concerns."""
        first, _, rest = text.partition(": ")
        if _ISSUE_CODE.fullmatch(first) is None and rest:
            code, _, detail = rest.partition(": ")
            return cls(code, detail, first)
        return cls(first, rest)


@record
class VerifiedFromSdk:
    """What Android verifies on the newer part of a package's platform range when the whole range fails.

    apksigner verifies for every platform version from minSdkVersion up, and so does ``SignatureFacts.verified``: a
    package signed with APK Signature Scheme v2 (or v3) but without a JAR (v1) signature and a minSdkVersion below
    24 does not verify, because Android 5–6 (API < 24) check only JAR signatures. Android 7.0 (API 24) and up verify
    it by its v2 signature all the same (a v3 signature alone: Android 9, API 28, and up). This says so: ``min_sdk``
    is the first platform version that verifies it (for v2, what ``apksigner verify --min-sdk-version 24`` accepts),
    ``unverified_sdks`` the range (minSdkVersion, min_sdk - 1) that cannot verify it and will not install it,
    ``schemes`` and ``signers`` what apksigner reports from ``min_sdk`` up. These signers are never matched against a
    filing: the package stays unverified.
    """

    min_sdk: int
    unverified_sdks: tuple[int, int]
    schemes: dict[str, bool]
    signers: tuple[SignerCertificate, ...]

    def __init__(self, min_sdk: int, unverified_sdks: tuple[int, int], schemes: dict[str, bool],
                 signers: tuple[SignerCertificate, ...]) -> None:
        object.__setattr__(self, "__dict__", {
            "min_sdk": min_sdk, "unverified_sdks": unverified_sdks, "schemes": schemes, "signers": signers
        })

    @property
    def release(self) -> str:
        """The Android release of ``min_sdk`` ("7.0"), or "API <n>" for a level not in ANDROID_RELEASES."""
        return ANDROID_RELEASES.get(self.min_sdk, f"API {self.min_sdk}")

    def as_dict(self) -> dict[str, Any]:
        return {"min_sdk": self.min_sdk, "unverified_sdks": list(self.unverified_sdks),
                "schemes": dict(self.schemes), "signers": [s.as_dict() for s in self.signers]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> VerifiedFromSdk | None:
        if not d:
            return None
        low, high = d["unverified_sdks"]
        return cls(int(d["min_sdk"]), (int(low), int(high)), dict(d.get("schemes") or {}),
                   tuple(SignerCertificate.from_dict(c) for c in d.get("signers") or ()))


@record
class SignatureFacts:
    """Who really signed the package, as Android's apksigner decides it."""

    verified: bool = False
    schemes: dict[str, bool] = field(default_factory=lambda: {"v1": False, "v2": False, "v3": False, "v31": False})
    signers: tuple[SignerCertificate, ...] = ()
    lineage: tuple[SignerCertificate, ...] = ()
    errors: tuple[SignatureIssue, ...] = ()
    verified_parts: tuple[str, ...] = ()
    """What was checked where a format's verification is partial or made of several checks (iOS code signature,
    HarmonyOS signing block, every APK of a split set); empty for a plain APK, whose ``verified`` says it all."""
    source_stamp: bool = False
    """apksigner's "Verified for SourceStamp": a store's or build system's stamp over the content digests. A stamp
    never changes ``verified`` (apksigner only warns) and never names a signer."""
    verified_from_sdk: VerifiedFromSdk | None = None
    """Set only when ``verified`` is False because the oldest platform versions in range cannot verify the package
    while newer ones can (a v2-only package with minSdkVersion below 24): see ``VerifiedFromSdk``."""

    def __init__(self, verified: bool = False, schemes: dict[str, bool] = FACTORY,
                 signers: tuple[SignerCertificate, ...] = (), lineage: tuple[SignerCertificate, ...] = (),
                 errors: tuple[SignatureIssue, ...] = (), verified_parts: tuple[str, ...] = (),
                 source_stamp: bool = False, verified_from_sdk: VerifiedFromSdk | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "verified": verified,
            "schemes": {"v1": False, "v2": False, "v3": False, "v31": False} if schemes is FACTORY else schemes,
            "signers": signers, "lineage": lineage, "errors": errors, "verified_parts": verified_parts,
            "source_stamp": source_stamp, "verified_from_sdk": verified_from_sdk
        })

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "schemes": dict(self.schemes),
            "signers": [s.as_dict() for s in self.signers],
            "lineage": [s.as_dict() for s in self.lineage],
            "errors": [issue.message for issue in self.errors],
            "verified_parts": list(self.verified_parts),
            "source_stamp": self.source_stamp,
            "verified_from_sdk": self.verified_from_sdk.as_dict() if self.verified_from_sdk else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignatureFacts:
        cert = SignerCertificate.from_dict
        return cls(verified=bool(d.get("verified")), schemes=dict(d.get("schemes") or {}),
                   signers=tuple(cert(c) for c in d.get("signers") or ()),
                   lineage=tuple(cert(c) for c in d.get("lineage") or ()),
                   errors=tuple(SignatureIssue.from_message(e) for e in d.get("errors") or ()),
                   verified_parts=tuple(d.get("verified_parts") or ()), source_stamp=bool(d.get("source_stamp")),
                   verified_from_sdk=VerifiedFromSdk.from_dict(d.get("verified_from_sdk")))


@record
class Evidence:
    """One place a host or IP was seen: the entry, how it was found there, and a short excerpt a reviewer can read.

    ``how`` is ``url`` (a string that is a URL), ``url_in_text`` (a URL inside a longer text), ``bare_host``,
    ``bare_ip``, ``deep_link``, ``network_config``, ``manifest``, ``native``, ``asset`` or ``code`` (the classes whose
    code loads the string). ``reference`` names why the occurrence is only a reference (``licence_file``,
    ``message_catalogue``, ``build_metadata``, ``xml_identifier``, ``schema_location``, ``oauth_scope``,
    ``link_in_text``), None for a contact candidate.
    """

    source: str
    how: str
    excerpt: str
    reference: str | None = None
    origin: str | None = None
    """``"unpacked"`` when the occurrence is in the unpacked build paired with a packed package (gate.pairing);
    written as ``"from"`` in the facts JSON, and only when set."""

    # Written out rather than generated: a package can have tens of thousands of these, and one assignment of the
    # instance dictionary costs half of the generated frozen __init__ (an object.__setattr__ per field).
    # tests/unit/test_network_evidence.py checks it sets exactly the fields, with their defaults.
    def __init__(self, source: str, how: str, excerpt: str, reference: str | None = None,
                 origin: str | None = None) -> None:
        object.__setattr__(self, "__dict__", {"source": source, "how": how, "excerpt": excerpt, "reference": reference,
                                              "origin": origin})

    def as_dict(self) -> dict[str, Any]:
        d = {"source": self.source, "how": self.how, "excerpt": self.excerpt, "reference": self.reference}
        if self.origin is not None:
            d["from"] = self.origin
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(str(d.get("source") or ""), str(d.get("how") or ""), str(d.get("excerpt") or ""),
                   d.get("reference"), d.get("from"))


@record
class HostFact:
    """A host name in the package. Only ``kind == "contact"`` hosts count for coverage; ``reference`` hosts (licence
    texts, XML identifiers, documentation links …) stay visible. ``third_party`` names the SDK, found by the host
    table (``third_party_by == "host"``) or by the classes whose code uses the string (``"code"``)."""

    host: str
    registrable_domain: str | None
    sources: tuple[str, ...]
    third_party: str | None = None
    kind: str = "contact"
    evidence: tuple[Evidence, ...] = ()
    third_party_by: str | None = None

    def __init__(self, host: str, registrable_domain: str | None, sources: tuple[str, ...],
                 third_party: str | None = None, kind: str = "contact", evidence: tuple[Evidence, ...] = (),
                 third_party_by: str | None = None) -> None:  # written out, as Evidence's
        object.__setattr__(self, "__dict__", {
            "host": host, "registrable_domain": registrable_domain, "sources": sources, "third_party": third_party,
            "kind": kind, "evidence": evidence, "third_party_by": third_party_by})

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "registrable_domain": self.registrable_domain,
            "sources": list(self.sources),
            "third_party": self.third_party,
            "kind": self.kind,
            "evidence": [e.as_dict() for e in self.evidence],
            "third_party_by": self.third_party_by,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HostFact:
        return cls(d["host"], d.get("registrable_domain"), tuple(d.get("sources") or ()), d.get("third_party"),
                   d.get("kind") or "contact", tuple(Evidence.from_dict(e) for e in d.get("evidence") or ()),
                   d.get("third_party_by"))


@record
class IpFact:
    """An IP literal. ``scope`` is ``public`` or the class that keeps it out of any filing (``private``, ``loopback``,
    ``link_local``, ``shared``, ``documentation``, ``multicast``, ``reserved``); None only in facts stored before
    scopes existed, which count as they did then."""

    ip: str
    sources: tuple[str, ...]
    kind: str = "contact"
    evidence: tuple[Evidence, ...] = ()
    scope: str | None = None

    def __init__(self, ip: str, sources: tuple[str, ...], kind: str = "contact", evidence: tuple[Evidence, ...] = (),
                 scope: str | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "ip": ip, "sources": sources, "kind": kind, "evidence": evidence, "scope": scope
        })

    def as_dict(self) -> dict[str, Any]:
        return {"ip": self.ip, "sources": list(self.sources), "kind": self.kind,
                "evidence": [e.as_dict() for e in self.evidence], "scope": self.scope}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IpFact:
        return cls(d["ip"], tuple(d.get("sources") or ()), d.get("kind") or "contact",
                   tuple(Evidence.from_dict(e) for e in d.get("evidence") or ()), d.get("scope"))


@record
class NetworkFacts:
    """The hosts and IP literals the package contains (gate.extract.network)."""

    hosts: tuple[HostFact, ...] = ()
    ips: tuple[IpFact, ...] = ()

    def __init__(self, hosts: tuple[HostFact, ...] = (), ips: tuple[IpFact, ...] = ()) -> None:
        object.__setattr__(self, "__dict__", {"hosts": hosts, "ips": ips})

    def as_dict(self) -> dict[str, Any]:
        return {"hosts": [h.as_dict() for h in self.hosts], "ips": [i.as_dict() for i in self.ips]}


@record
class PartFacts:
    """One APK of a split set (or one module of a HarmonyOS app): checked on its own, then against the base."""

    name: str
    split: str | None
    package: str | None
    version_code: int | None
    verified: bool
    signers: tuple[str, ...]  # certificate SHA-256 digests
    problems: tuple[Problem, ...] = ()

    def __init__(self, name: str, split: str | None, package: str | None, version_code: int | None, verified: bool,
                 signers: tuple[str, ...], problems: tuple[Problem, ...] = ()) -> None:
        object.__setattr__(self, "__dict__", {
            "name": name, "split": split, "package": package, "version_code": version_code, "verified": verified,
            "signers": signers, "problems": problems
        })

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "split": self.split, "package": self.package, "version_code": self.version_code,
                "verified": self.verified, "signers": list(self.signers),
                "problems": [p.as_dict() for p in self.problems]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartFacts:
        return cls(d["name"], d.get("split"), d.get("package"), d.get("version_code"), bool(d.get("verified")),
                   tuple(d.get("signers") or ()), tuple(Problem.from_dict(q) for q in d.get("problems") or ()))


@record
class FilingNumberFact:
    """A filing number (备案号) the package contains, in the registry's normal spelling, and the entries it is in."""

    number: str
    sources: tuple[str, ...]

    def __init__(self, number: str, sources: tuple[str, ...]) -> None:
        object.__setattr__(self, "__dict__", {"number": number, "sources": sources})

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "sources": list(self.sources)}


@record
class PackerEvidence:
    """One marker a packer left: the entry it is in (or the manifest), how it was recognised (``application_class``,
    ``dex_class``, ``native_library``, ``payload``) and the marker itself (class name, descriptor or file name)."""

    source: str
    how: str
    marker: str

    def __init__(self, source: str, how: str, marker: str) -> None:
        object.__setattr__(self, "__dict__", {"source": source, "how": how, "marker": marker})

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "how": self.how, "marker": self.marker}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PackerEvidence:
        return cls(str(d.get("source") or ""), str(d.get("how") or ""), str(d.get("marker") or ""))


@record
class PackerFact:
    """A packer (加固) recognised in the package: ``key`` is stable (``jiagu``, ``legu`` …), ``name`` is shown."""

    key: str
    name: str
    evidence: tuple[PackerEvidence, ...]
    hides_code: bool = True

    def __init__(self, key: str, name: str, evidence: tuple[PackerEvidence, ...], hides_code: bool = True) -> None:
        object.__setattr__(self, "__dict__", {"key": key, "name": name, "evidence": evidence, "hides_code": hides_code})

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "evidence": [e.as_dict() for e in self.evidence],
                "hides_code": self.hides_code}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PackerFact:
        return cls(str(d.get("key") or d.get("name") or ""), str(d.get("name") or ""),
                   tuple(PackerEvidence.from_dict(e) for e in d.get("evidence") or ()), bool(d.get("hides_code", True)))


@record
class ProtectionFacts:
    """``protection`` in the facts: the packers found and whether the app's own code is hidden from the reader
    (its network resources then cannot be read from this package; gate.extract.protection)."""

    packers: tuple[PackerFact, ...]
    code_hidden: bool

    def __init__(self, packers: tuple[PackerFact, ...], code_hidden: bool) -> None:
        object.__setattr__(self, "__dict__", {"packers": packers, "code_hidden": code_hidden})

    def as_dict(self) -> dict[str, Any]:
        return {"packers": [p.as_dict() for p in self.packers], "code_hidden": self.code_hidden}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ProtectionFacts | None:
        if not d:
            return None
        return cls(tuple(PackerFact.from_dict(p) for p in d.get("packers") or ()), bool(d.get("code_hidden")))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.packers]


@record
class PairingFacts:
    """The unpacked build checked beside a packed package (gate.pairing). ``paired`` is True exactly when the two
    carry the same package name, versionCode and signer certificates; ``differences`` says what differs
    (``[{"field", "packed", "unpacked"}]``). When paired, the network facts are the unpacked build's."""

    paired: bool
    unpacked_sha256: str | None
    unpacked_path: str | None
    differences: tuple[dict[str, Any], ...] = ()
    unpacked_package: str | None = None
    unpacked_version_code: int | None = None
    unpacked_signers: tuple[str, ...] = ()  # certificate SHA-256 digests
    unpacked_protection: ProtectionFacts | None = None

    def __init__(self, paired: bool, unpacked_sha256: str | None, unpacked_path: str | None,
                 differences: tuple[dict[str, Any], ...] = (), unpacked_package: str | None = None,
                 unpacked_version_code: int | None = None, unpacked_signers: tuple[str, ...] = (),
                 unpacked_protection: ProtectionFacts | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "paired": paired, "unpacked_sha256": unpacked_sha256, "unpacked_path": unpacked_path,
            "differences": differences, "unpacked_package": unpacked_package,
            "unpacked_version_code": unpacked_version_code, "unpacked_signers": unpacked_signers,
            "unpacked_protection": unpacked_protection
        })

    def as_dict(self) -> dict[str, Any]:
        return {"paired": self.paired, "unpacked_sha256": self.unpacked_sha256, "unpacked_path": self.unpacked_path,
                "differences": [dict(d) for d in self.differences], "unpacked_package": self.unpacked_package,
                "unpacked_version_code": self.unpacked_version_code, "unpacked_signers": list(self.unpacked_signers),
                "unpacked_protection": self.unpacked_protection.as_dict() if self.unpacked_protection else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PairingFacts | None:
        if not d:
            return None
        return cls(bool(d.get("paired")), d.get("unpacked_sha256"), d.get("unpacked_path"),
                   tuple(dict(x) for x in d.get("differences") or ()), d.get("unpacked_package"),
                   d.get("unpacked_version_code"), tuple(d.get("unpacked_signers") or ()),
                   ProtectionFacts.from_dict(d.get("unpacked_protection")))


@record
class PackageFacts:
    """Everything ``gate features`` reports for one package."""

    path: str
    format: str | None = None
    platform: str | None = None
    package: str | None = None
    version_code: int | None = None
    version_name: str | None = None
    label: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    min_sdk: int | None = None
    target_sdk: int | None = None
    permissions: tuple[str, ...] = ()
    signature: SignatureFacts = field(default_factory=SignatureFacts)
    network: NetworkFacts = field(default_factory=NetworkFacts)
    problems: tuple[Problem, ...] = ()
    sha256: str | None = None
    size: int | None = None
    parts: tuple[PartFacts, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    """Format-specific facts that have no Android counterpart (iOS: team, provisioning profile, entitlements)."""
    # None: not looked for (facts from a preinstall list, or stored before the search existed); () looked, none.
    filing_numbers: tuple[FilingNumberFact, ...] | None = None
    application_class: str | None = None
    """The manifest's <application android:name>, fully qualified as Android resolves it (None: the default)."""
    native_libraries: tuple[str, ...] = ()
    """The ``lib/<abi>/*.so`` entries, in entry order."""
    protection: ProtectionFacts | None = None
    """Packers (加固) recognised; None when none was (gate.extract.protection)."""
    pairing: PairingFacts | None = None
    """Set when an unpacked build was checked beside this package (gate.pairing)."""

    def __init__(self, path: str, format: str | None = None, platform: str | None = None, package: str | None = None,
                 version_code: int | None = None, version_name: str | None = None, label: str | None = None,
                 labels: dict[str, str] = FACTORY, min_sdk: int | None = None, target_sdk: int | None = None,
                 permissions: tuple[str, ...] = (), signature: SignatureFacts = FACTORY,
                 network: NetworkFacts = FACTORY, problems: tuple[Problem, ...] = (), sha256: str | None = None,
                 size: int | None = None, parts: tuple[PartFacts, ...] = (), details: dict[str, Any] = FACTORY,
                 filing_numbers: tuple[FilingNumberFact, ...] | None = None, application_class: str | None = None,
                 native_libraries: tuple[str, ...] = (), protection: ProtectionFacts | None = None,
                 pairing: PairingFacts | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "path": path, "format": format, "platform": platform, "package": package, "version_code": version_code,
            "version_name": version_name, "label": label, "labels": {} if labels is FACTORY else labels,
            "min_sdk": min_sdk, "target_sdk": target_sdk, "permissions": permissions,
            "signature": SignatureFacts() if signature is FACTORY else signature,
            "network": NetworkFacts() if network is FACTORY else network, "problems": problems, "sha256": sha256,
            "size": size, "parts": parts, "details": {} if details is FACTORY else details,
            "filing_numbers": filing_numbers, "application_class": application_class,
            "native_libraries": native_libraries, "protection": protection, "pairing": pairing
        })

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "platform": self.platform,
            "sha256": self.sha256,
            "size": self.size,
            "package": self.package,
            "version_code": self.version_code,
            "version_name": self.version_name,
            "label": self.label,
            "labels": dict(self.labels),
            "min_sdk": self.min_sdk,
            "target_sdk": self.target_sdk,
            "permissions": list(self.permissions),
            "signature": self.signature.as_dict(),
            "network": self.network.as_dict(),
            "problems": [p.as_dict() for p in self.problems],
            "parts": [p.as_dict() for p in self.parts],
            "details": self.details,
            "filing_numbers": (None if self.filing_numbers is None
                               else [n.as_dict() for n in self.filing_numbers]),
            "application_class": self.application_class,
            "native_libraries": list(self.native_libraries),
            "protection": self.protection.as_dict() if self.protection is not None else None,
            "pairing": self.pairing.as_dict() if self.pairing is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PackageFacts:
        """The facts an ``as_dict()`` JSON says (a stored check's input). Fields the JSON lacks (it was written before
        they existed, see FACTS_SCHEMA) take their defaults: ``missing_fields`` names them."""
        net = d.get("network") or {}
        return cls(
            path=d["path"], format=d.get("format"), package=d.get("package"), version_code=d.get("version_code"),
            version_name=d.get("version_name"), label=d.get("label"), labels=dict(d.get("labels") or {}),
            min_sdk=d.get("min_sdk"), target_sdk=d.get("target_sdk"), permissions=tuple(d.get("permissions") or ()),
            signature=SignatureFacts.from_dict(d.get("signature") or {}),
            network=NetworkFacts(hosts=tuple(HostFact.from_dict(h) for h in net.get("hosts") or ()),
                                 ips=tuple(IpFact.from_dict(i) for i in net.get("ips") or ())),
            problems=tuple(Problem.from_dict(p) for p in d.get("problems") or ()),
            sha256=d.get("sha256"), size=d.get("size"), platform=d.get("platform"),
            parts=tuple(PartFacts.from_dict(p) for p in d.get("parts") or ()),
            details=dict(d.get("details") or {}),
            filing_numbers=(None if d.get("filing_numbers") is None else
                            tuple(FilingNumberFact(n["number"], tuple(n.get("sources") or ()))
                                  for n in d["filing_numbers"])),
            application_class=d.get("application_class"), native_libraries=tuple(d.get("native_libraries") or ()),
            protection=ProtectionFacts.from_dict(d.get("protection")), pairing=PairingFacts.from_dict(d.get("pairing")),
        )


# The shape of PackageFacts.as_dict(), stored with every check (gate_check.facts_schema). 1: the shape of issue #24
# (every field above). Raise it when a field is added or changes meaning, so that a decision taken again from stored
# facts knows they were read before (docs/filings.md, "Stored facts and their schema").
FACTS_SCHEMA = 1


def _fields(d: dict[str, Any], prefix: str = "") -> set[str]:
    """The top-level and ``signature`` fields of a facts JSON (``signature.lineage``): those that were added over
    time. Nested records (hosts, packers) are read with defaults for what they lack."""
    names = {prefix + k for k in d}
    if not prefix and isinstance(d.get("signature"), dict):
        names |= _fields(d["signature"], "signature.")
    return names


CURRENT_FIELDS = frozenset(_fields(PackageFacts(path="").as_dict()))


def missing_fields(d: dict[str, Any]) -> tuple[str, ...]:
    """The fields of today's facts JSON that a stored one lacks: it was written by an older gate."""
    return tuple(sorted(CURRENT_FIELDS - _fields(d)))


def stored_schema(d: dict[str, Any], recorded: int | None) -> int:
    """The schema of stored facts: the number recorded with them, or for facts stored before numbers were recorded
    (migration 0740), 1 when they carry every field of schema 1 and 0 when they lack one."""
    if recorded is not None:
        return recorded
    return 1 if not missing_fields(d) else 0
