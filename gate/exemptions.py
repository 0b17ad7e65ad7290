"""Exemptions (豁免): a device maker records that one preinstalled component is outside the filing duty.

A platform component — a system app that provides no internet information service — needs no APP备案, yet without a
record of that every system image carrying it blocks as ``unfiled``. An exemption is that record, approved by a
person, for exactly one identity and for a limited time (docs/console.md):

    {package, cert_sha256, scope: "preinstall", reason_category, reason, approved_by, expires_at}

The rule (``apply_exemptions``), pure — no I/O, no clock (the caller passes ``at``):
- It applies to preinstall checks only (``scope="preinstall"``). Store uploads and developer pre-checks never
  consult exemptions: callers outside gate.preinstall / the preinstall list check simply do not call it.
- It turns exactly one outcome into ``allow``: a decision whose only reason is ``unfiled`` (step 3 of gate.decide).
  Steps 1-2 (unreadable, unsigned, invalid signature) stop before step 3 and steps 4-5 (cancelled or blacklisted
  filing, key mismatch) come after a filing was found, so none of them can ever be exempted.
- The identity must be exact: the package name, and the package's verified signers must be that one certificate
  (SHA-256). A package signed by two certificates, or an item that names only an MD5, matches no exemption.
- The exemption must be in force at ``at``: not revoked and ``expires_at`` later than ``at``.
The allowed decision keeps the evidence: its reason is ``exempted`` (severity info) naming the exemption id,
category, approver and expiry, so a report shows why the app passed.

API for other modules:
- ``Exemption`` (the record), ``REASON_CATEGORIES`` (code -> (zh, en)), ``SCOPES``.
- ``find_exemption(exemptions, package=, signers=, scope=, at=)`` -> the matching Exemption or None.
- ``apply_exemptions(decision, exemptions, scope=, at=)`` -> the same Decision, or an ``allow`` one citing the
  exemption. ``exemptions`` may hold any records (other packages, expired, revoked): only a match counts.
- ``cited_exemption(decision_dict)`` -> the exemption an allowed decision cites (for report rows), or None.
- ``validate_new(...)`` -> normalised fields or ExemptionInvalid (used by the CLI and the console).
Storage (add, list, revoke, batched lookup for a scan) is in gate.db.exemptions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gate.beijing_time import beijing_iso
from gate.decide import Decision, reason
from gate.errors import UsageError

SCOPES = ("preinstall",)
# code -> (zh, en). Codes are stored; add, never rename.
REASON_CATEGORIES: dict[str, tuple[str, str]] = {
    "platform_component": ("系统组件，不提供互联网信息服务",
                           "Platform component that provides no internet information service"),
    "hardware_service": ("硬件驱动或设备服务，不提供互联网信息服务",
                         "Hardware driver or device service that provides no internet information service"),
    "offline_tool": ("离线工具，不联网", "Offline tool that never connects to the internet"),
    "other": ("其他（见说明）", "Other (see the explanation)"),
}
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_REASON = 2000


class ExemptionInvalid(UsageError):
    """A new exemption with a wrong field; ``field`` names it (pages show the field's message in their language)."""

    code = "exemption_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Exemption:
    id: int | None
    package: str
    cert_sha256: str
    scope: str
    reason_category: str
    reason: str
    approved_by: str
    expires_at: dt.datetime
    created_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None

    def in_force(self, at: dt.datetime) -> bool:
        return self.revoked_at is None and _aware(self.expires_at) > _aware(at)

    def state(self, at: dt.datetime) -> str:
        """active | expired | revoked"""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.in_force(at) else "expired"

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("expires_at", "created_at", "revoked_at"):
            d[key] = _aware(d[key]).isoformat() if d[key] is not None else None
        return d


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes; the gate stores UTC everywhere.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def normalise_sha256(value: str) -> str:
    return value.replace(":", "").strip().lower()


def find_exemption(exemptions: Iterable[Exemption], *, package: str | None, signers: Sequence[str],
                   scope: str, at: dt.datetime) -> Exemption | None:
    """The exemption in force at ``at`` for exactly this identity (one verified signer), or None."""
    shas = {normalise_sha256(s) for s in signers if s}
    if not package or len(shas) != 1 or len(signers) != 1:
        return None
    (sha,) = shas
    matches = [e for e in exemptions if e.scope == scope and e.package == package and e.cert_sha256 == sha
               and e.in_force(at)]
    # Several in force: the one lasting longest is cited (any of them allows the same identity).
    return max(matches, key=lambda e: (_aware(e.expires_at), e.id or 0), default=None)


def apply_exemptions(decision: Decision, exemptions: Iterable[Exemption], *, scope: str,
                     at: dt.datetime) -> Decision:
    """``decision`` unchanged, unless its only reason is ``unfiled`` and an exemption in force names exactly this
    identity: then ``allow`` with the reason ``exempted``."""
    if scope not in SCOPES:
        return decision
    if decision.verdict != "block" or decision.filing is not None or [r.code for r in decision.reasons] != ["unfiled"]:
        return decision
    found = find_exemption(exemptions, package=decision.package.get("package"),
                           signers=decision.package.get("signers") or (), scope=scope, at=at)
    if found is None:
        return decision
    zh, en = REASON_CATEGORIES.get(found.reason_category, (found.reason_category, found.reason_category))
    why = reason("exempted", exemption_id=found.id, package=found.package, cert_sha256=found.cert_sha256,
                 category_zh=zh, category_en=en, reason_category=found.reason_category,
                 approved_by=found.approved_by, expires_at=beijing_iso(_aware(found.expires_at)),
                 reason=found.reason)
    return dataclasses.replace(decision, verdict="allow", reasons=(why,))


def cited_exemption(decision: dict) -> dict | None:
    """The exemption an ``as_dict()`` decision passed under ({id, reason_category, reason, approved_by,
    expires_at}), or None — for reports that show it beside the verdict."""
    for r in decision.get("reasons") or ():
        if r.get("code") == "exempted":
            e = r.get("evidence") or {}
            return {"id": e.get("exemption_id"), "reason_category": e.get("reason_category"),
                    "reason": e.get("reason"), "approved_by": e.get("approved_by"), "expires_at": e.get("expires_at")}
    return None


def validate_new(*, package: str, cert_sha256: str, scope: str, reason_category: str, reason: str,
                 approved_by: str, expires_at: dt.datetime, at: dt.datetime) -> dict:
    """Normalised fields of a new exemption, or ExemptionInvalid saying which field is wrong."""
    package = (package or "").strip()
    if not PACKAGE_NAME.fullmatch(package) or len(package) > 255:
        raise ExemptionInvalid(f"package {package!r} is not an Android package name (e.g. com.android.settings)",
                               field="package")
    sha = normalise_sha256(cert_sha256 or "")
    if not SHA256_HEX.fullmatch(sha):
        raise ExemptionInvalid("cert_sha256 must be the certificate's SHA-256: 64 hex digits (colons allowed)",
                               field="cert_sha256")
    if scope not in SCOPES:
        raise ExemptionInvalid(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if reason_category not in REASON_CATEGORIES:
        raise ExemptionInvalid(f"reason_category must be one of {', '.join(REASON_CATEGORIES)}",
                               field="reason_category")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ExemptionInvalid(f"give a reason of 1 to {MAX_REASON} characters", field="reason")
    approved_by = (approved_by or "").strip()
    if not approved_by or len(approved_by) > 128:
        raise ExemptionInvalid("approved_by names the person who approved it (1 to 128 characters)",
                               field="approved_by")
    if _aware(expires_at) <= _aware(at):
        raise ExemptionInvalid("expires_at must be in the future", field="expires_at")
    return {"package": package, "cert_sha256": sha, "scope": scope, "reason_category": reason_category,
            "reason": reason, "approved_by": approved_by, "expires_at": _aware(expires_at)}
