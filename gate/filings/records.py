"""Filing records (备案信息): the normalised, validated shape every importer, the registry and decisions share.

A ``Filing`` only exists after validation (``gate.filings.validate``): fingerprints and keys are normalised, the
filing number parsed, enumerations checked. ``canonical()`` is the record shape of docs/filings.md with sorted lists, and
``digest()`` its SHA-256: the same content always gives the same digest, which is what makes re-imports no-ops.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from operator import attrgetter
from typing import Any

PLATFORMS = ("android", "ios", "harmony", "quickapp", "miniprogram")
SERVICE_TYPES = ("app", "mini_program", "quick_app")
STATUSES = ("active", "cancelled", "revoked")
# json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")), without building an encoder per call.
_CANONICAL_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class PlatformIdentity:
    """One platform's identity in a filing: identifier (包名/Bundle ID) and the filed key material."""

    platform: str
    identifier: str
    public_key: str | None = None  # normalised: RSA modulus hex, or SPKI DER hex for other key types
    signature_md5: str | None = None
    signature_sha1: str | None = None
    signature_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "identifier": self.identifier, "public_key": self.public_key,
                "signature_md5": self.signature_md5, "signature_sha1": self.signature_sha1,
                "signature_sha256": self.signature_sha256}


@dataclass(frozen=True)
class Filing:
    """A service filing (服务备案). ``service_licence`` (服务备案号) is the unique key."""

    service_licence: str
    main_licence: str
    service_type: str
    service_name: str
    unit_name: str
    status: str
    unit_nature: str | None = None
    approved_at: str | None = None  # YYYY-MM-DD
    blacklisted: bool = False
    platforms: tuple[PlatformIdentity, ...] = ()
    domains: tuple[str, ...] = ()
    content_approvals: tuple[str, ...] = ()
    # Set when the record was read from the registry: the stored version a decision used (reproducibility).
    version_id: int | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.status == "active" and not self.blacklisted

    def identities_for(self, platform: str, identifier: str) -> tuple[PlatformIdentity, ...]:
        return tuple(p for p in self.platforms if p.platform == platform and p.identifier == identifier)

    def canonical(self) -> dict[str, Any]:
        """The record shape of docs/filings.md, lists sorted, so equal content serialises identically."""
        return {
            "service_licence": self.service_licence,
            "main_licence": self.main_licence,
            "service_type": self.service_type,
            "service_name": self.service_name,
            "unit_name": self.unit_name,
            "unit_nature": self.unit_nature,
            "status": self.status,
            "approved_at": self.approved_at,
            "blacklisted": self.blacklisted,
            "platforms": self._sorted_platforms(),
            "domains": sorted(self.domains),
            "content_approvals": sorted(self.content_approvals),
        }

    def _sorted_platforms(self) -> list[dict[str, Any]]:
        """Identities by (platform, identifier, their JSON): the JSON only decides between identities sharing
        the first two, so it is only serialised when two do (an import pays ~20 µs a record for it otherwise)."""
        platforms = [p.as_dict() for p in self.platforms]
        if len(platforms) < 2:
            return platforms
        pairs = {(p.platform, p.identifier) for p in self.platforms}
        if len(pairs) == len(platforms):
            return sorted(platforms, key=lambda d: (d["platform"], d["identifier"]))
        return sorted(platforms, key=lambda d: (d["platform"], d["identifier"], json.dumps(d, sort_keys=True)))

    def canonical_json(self) -> str:
        # Kept in the instance's __dict__ (a frozen dataclass has one; the value travels with a pickled Filing):
        # an import needs it for the digest and the stored record. By hand rather than functools.cached_property,
        # whose per-access lock (Python 3.11) showed in the import reader's profile.
        cached = self.__dict__.get("_canonical_json")
        if cached is None:
            cached = self.__dict__["_canonical_json"] = _canonical_text(self)
        return cached

    def digest(self) -> str:
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = self.__dict__["_digest"] = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        return cached

    def summary(self) -> dict[str, Any]:
        """The ``filing`` object of a decision (docs/filings.md "Decisions")."""
        return {"service_licence": self.service_licence, "service_name": self.service_name,
                "unit_name": self.unit_name, "status": self.status}

    @classmethod
    def from_canonical(cls, data: dict[str, Any], *, version_id: int | None = None) -> Filing:
        """Rebuild from ``canonical()`` output (already validated when it was stored)."""
        return cls(
            service_licence=data["service_licence"], main_licence=data["main_licence"],
            service_type=data["service_type"], service_name=data["service_name"], unit_name=data["unit_name"],
            status=data["status"], unit_nature=data.get("unit_nature"), approved_at=data.get("approved_at"),
            blacklisted=bool(data.get("blacklisted")),
            platforms=tuple(PlatformIdentity(**p) for p in data.get("platforms", ())),
            domains=tuple(data.get("domains", ())), content_approvals=tuple(data.get("content_approvals", ())),
            version_id=version_id,
        )


def _canonical_text(filing: Filing) -> str:
    """``_CANONICAL_ENCODER.encode(filing.canonical())``, the same text, written out field by field.

    An import computes it for every record (the digest, the stored record): building ``canonical()``'s dicts and
    letting the encoder sort their keys cost ~10 µs a record, two thirds of the digest. The keys are written here
    in their sorted order and every string by the encoder's own function (``encode_basestring``, what a
    JSONEncoder with ``ensure_ascii=False`` calls), so the text is the encoder's. Anything but the validated
    types (text or None, a bool), and identities sharing a (platform, identifier), take the encoder's path.
    ``tests/unit/test_filings_canonical.py`` compares the two."""
    blacklisted = filing.blacklisted
    platforms = filing.platforms
    if len(platforms) > 1:
        if len({(p.platform, p.identifier) for p in platforms}) < len(platforms):
            return _CANONICAL_ENCODER.encode(filing.canonical())  # ties broken by each identity's JSON
        platforms = tuple(sorted(platforms, key=_PLATFORM_ORDER))
    if blacklisted is not True and blacklisted is not False:
        return _CANONICAL_ENCODER.encode(filing.canonical())
    text, optional = encode_basestring, _text_or_null  # short names: the f-string below is the whole record
    try:
        return (f'{{"approved_at":{optional(filing.approved_at)},"blacklisted":{"true" if blacklisted else "false"},'
                f'"content_approvals":[{",".join(map(text, sorted(filing.content_approvals)))}],'
                f'"domains":[{",".join(map(text, sorted(filing.domains)))}],'
                f'"main_licence":{text(filing.main_licence)},"platforms":[{",".join(map(_identity_text, platforms))}],'
                f'"service_licence":{text(filing.service_licence)},"service_name":{text(filing.service_name)},'
                f'"service_type":{text(filing.service_type)},"status":{text(filing.status)},'
                f'"unit_name":{text(filing.unit_name)},"unit_nature":{optional(filing.unit_nature)}}}')
    except TypeError:  # a value that is not text (encode_basestring takes only str): the encoder's path
        return _CANONICAL_ENCODER.encode(filing.canonical())


_PLATFORM_ORDER = attrgetter("platform", "identifier")  # _sorted_platforms' order when the pairs differ


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _identity_text(p: PlatformIdentity) -> str:
    """``PlatformIdentity.as_dict()`` as the canonical encoder writes it (keys sorted)."""
    text, optional = encode_basestring, _text_or_null
    return (f'{{"identifier":{text(p.identifier)},"platform":{text(p.platform)},"public_key":{optional(p.public_key)},'
            f'"signature_md5":{optional(p.signature_md5)},"signature_sha1":{optional(p.signature_sha1)},'
            f'"signature_sha256":{optional(p.signature_sha256)}}}')
