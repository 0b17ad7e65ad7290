"""Validating one raw filing record (docs/filings.md "Record shape") into a normalised ``Filing``.

Every problem is collected, not just the first, so a row's report lists all that must be fixed. Enumerations accept
the Chinese spellings of the MIIT exports (状态 正常/已注销, 平台 安卓/苹果/鸿蒙, 服务类型 应用/小程序/快应用).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from gate.filings.keys import FINGERPRINT_HEX_LENGTHS, normalise_fingerprint, normalise_public_key
from gate.filings.numbers import common_service_licence, normalise_licence_text, parse_licence
from gate.filings.problems import FieldInvalid, FieldProblem
from gate.filings.records import Filing, PlatformIdentity

_STATUS = {"active": "active", "正常": "active", "已备案": "active", "有效": "active",
           "cancelled": "cancelled", "canceled": "cancelled", "注销": "cancelled", "已注销": "cancelled",
           "revoked": "revoked", "撤销": "revoked", "已撤销": "revoked", "吊销": "revoked", "已吊销": "revoked"}
_SERVICE_TYPE = {"app": "app", "应用": "app", "app应用": "app", "移动应用": "app",
                 "mini_program": "mini_program", "小程序": "mini_program",
                 "quick_app": "quick_app", "快应用": "quick_app"}
_PLATFORM = {"android": "android", "安卓": "android", "ios": "ios", "苹果": "ios",
             "harmony": "harmony", "harmonyos": "harmony", "鸿蒙": "harmony", "openharmony": "harmony",
             "quickapp": "quickapp", "quick_app": "quickapp", "快应用": "quickapp",
             "miniprogram": "miniprogram", "mini_program": "miniprogram", "小程序": "miniprogram"}
_BOOL = {"true": True, "1": True, "yes": True, "是": True, "y": True,
         "false": False, "0": False, "no": False, "否": False, "n": False, "": False}

# Android requires at least two segments, each starting with a letter (PackageParser#validateName).
_REVERSE_DOMAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
# Apple: alphanumerics, hyphens and periods (CFBundleIdentifier).
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# A mini program's AppID, as the platforms issue them (WeChat ``wx`` + 16 hex, Alipay 16 digits, others alike).
MINIPROGRAM_APPID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")
# A quick app's package name follows Android's rule (the Quick App Alliance's manifest.json ``package``).
IDENTIFIER_SYNTAX = {"android": _REVERSE_DOMAIN, "harmony": _REVERSE_DOMAIN, "ios": _BUNDLE_ID,
                     "quickapp": _REVERSE_DOMAIN, "miniprogram": MINIPROGRAM_APPID}
MAX_IDENTIFIER_LENGTH = 255
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DATE_SEPARATORS = re.compile(r"[/.年月]")
_PLAIN_HOST = re.compile(r"^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOWER_HEX = re.compile(r"^[0-9a-f]+$")

REQUIRED = ("service_licence", "service_type", "service_name", "unit_name", "status")
# Which service types must name a platform identity, and which must also file key material.
NEEDS_IDENTITY = {"app", "quick_app"}
NEEDS_KEY = {"app"}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _enum(value: Any, table: Mapping[str, str]) -> str | None:
    return table.get(_text(value).lower())


def normalise_domain(value: str, *, field: str = "domains") -> tuple[str, FieldProblem | None]:
    """A filed domain or IP -> its normalised form (IDNA A-label, lowercase; canonical IP text)."""
    text = _text(value).rstrip(".").lower()
    if _PLAIN_HOST.match(text) and not text.rsplit(".", 1)[-1].isdigit():
        return text, None  # the common case: an ASCII host name, already normal (no IDNA, not an IP)
    try:
        return str(ipaddress.ip_address(text.strip("[]"))), None
    except ValueError:
        pass
    warning = None
    if text.startswith("*."):
        text = text[2:]
        warning = FieldProblem(field, "domain_wildcard", f"{value!r}: filed as {text!r} (a filed domain covers "
                               "its subdomains)", severity="warning")
    if "/" in text or ":" in text:
        raise FieldInvalid(field, "domain_syntax", f"{value!r} is a URL, not a domain: file the host name only")
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise FieldInvalid(field, "domain_syntax", f"{value!r} is not a valid domain name") from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253 or not all(_LABEL.match(x) for x in labels) or labels[-1].isdigit():
        raise FieldInvalid(field, "domain_syntax", f"{value!r} is not a valid domain name or IP address")
    return ascii_name, warning


def parse_date(value: Any, *, field: str = "approved_at") -> str | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return _dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise FieldInvalid(field, "date_syntax", f"{value!r} is not a date (YYYY-MM-DD)") from None
    text = _DATE_SEPARATORS.sub("-", _text(value).replace("日", "")).split(" ")[0].split("T")[0]
    try:
        return _dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-"))).isoformat()
    except ValueError:
        raise FieldInvalid(field, "date_syntax", f"{value!r} is not a date (YYYY-MM-DD)") from None


class _Collector:
    """Runs field parsers, turning FieldInvalid into problems so all of a record's faults are reported at once."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def run(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except FieldInvalid as exc:
            self.problems.append(exc.problem)
            return None

    def add(self, field: str, code: str, message: str, *, severity: str = "error") -> None:
        self.problems.append(FieldProblem(field, code, message, severity=severity))

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _identity(raw: Any, index: int, service_type: str | None, c: _Collector) -> PlatformIdentity | None:
    where = f"platforms[{index}]"
    if not isinstance(raw, Mapping):
        c.add(where, "platform_syntax", "each platform entry is an object")
        return None
    platform = _enum(raw.get("platform"), _PLATFORM)
    if platform is None:
        c.add(f"{where}.platform", "platform_unknown",
              f"{_text(raw.get('platform'))!r} is not one of android, ios, harmony, quickapp, miniprogram")
    identifier = _text(raw.get("identifier"))
    if not identifier:
        c.add(f"{where}.identifier", "field_required", "the package name / Bundle ID is required")
    elif platform and (len(identifier) > MAX_IDENTIFIER_LENGTH or not IDENTIFIER_SYNTAX[platform].match(identifier)):
        c.add(f"{where}.identifier", "identifier_syntax", f"{identifier!r} is not a valid {platform} identifier")
    fields: dict[str, str | None] = {}
    for name, algorithm in (("signature_md5", "md5"), ("signature_sha1", "sha1"), ("signature_sha256", "sha256")):
        value = _text(raw.get(name))
        fields[name] = (c.run(partial(normalise_fingerprint, value, algorithm, field=f"{where}.{name}"))
                        if value else None)
    key = _text(raw.get("public_key"))
    fields["public_key"] = c.run(lambda: normalise_public_key(key, field=f"{where}.public_key")) if key else None
    if service_type in NEEDS_KEY and not any(_text(raw.get(n)) for n in fields):
        c.add(f"{where}.public_key", "key_missing",
              "an app filing lists its signing key: public_key (公钥) or a signature fingerprint (签名MD5)")
    if platform is None or not identifier:
        return None
    return PlatformIdentity(platform=platform, identifier=identifier, **fields)


def validate_record(raw: Mapping[str, Any]) -> tuple[Filing | None, list[FieldProblem]]:
    """Validate a raw record; returns the Filing (None when any error) and all problems (errors and warnings)."""
    filing = _valid_common_case(raw)
    if filing is not None:
        return filing, []
    return _validate_in_full(raw)


def _plain(value: Any) -> str | None:
    """``_text(value)`` for the values the common case handles (None or text); None for any other type."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    return None


def _fingerprint(value: Any, algorithm: str) -> str | None:
    """A filed fingerprint as ``normalise_fingerprint`` gives it; raises FieldInvalid or ValueError when the full
    path would report a problem."""
    text = _plain(value)
    if text is None:
        raise ValueError("not text")
    if not text:
        return None
    if len(text) == FINGERPRINT_HEX_LENGTHS[algorithm] and _LOWER_HEX.match(text):
        return text  # already normal: lowercase hex of the right length, nothing to strip
    return normalise_fingerprint(text, algorithm, field=algorithm)


def _valid_common_case(raw: Any) -> Filing | None:
    """The Filing of a record without any problem, by the shortest path; None for anything else.

    Most records of an export are valid text fields, a well-formed filing number, lowercase fingerprints and plain
    host names. This checks exactly what ``_validate_in_full`` checks, without its per-field closures, collector and
    messages, and gives up (None) at the first sign of a problem, warning or unusual type — including an exception —
    so that the full path, which then validates the record again, reports it as it always did. Its result when it
    does not give up is the full path's (``tests/unit/test_filings_validate_fast.py`` compares the two).
    """
    if type(raw) is not dict:
        return None
    try:
        return _common_case(raw)
    except Exception:  # noqa: BLE001 — not the common case: the full path raises or reports it
        return None


def _common_case(raw: dict[str, Any]) -> Filing | None:
    get = raw.get
    licence_raw, service_name, unit_name = get("service_licence"), _plain(get("service_name")), _plain(get("unit_name"))
    type_text, status_text = _plain(get("service_type")), _plain(get("status"))
    if type(licence_raw) is not str or not licence_raw.strip() or not service_name or not unit_name \
            or not type_text or not status_text:
        return None
    service_type, status = _SERVICE_TYPE.get(type_text.lower()), _STATUS.get(status_text.lower())
    blacklisted = get("blacklisted", False)
    if service_type is None or status is None or type(blacklisted) is not bool:
        return None
    common = common_service_licence(licence_raw)
    letter_type: str | None
    if common is not None:
        licence_text, (main, letter_type) = licence_raw, common
    else:
        licence = parse_licence(licence_raw)
        if licence.service_seq is None:
            return None
        licence_text, main, letter_type = licence.text, licence.main, licence.service_type
    if letter_type != service_type:
        return None
    main_given = _plain(get("main_licence"))
    if main_given is None or (main_given and normalise_licence_text(main_given) != main):
        return None
    approved_raw = get("approved_at")
    if type(approved_raw) is str and _ISO_DATE.match(approved_raw):
        approved_at: str | None = _dt.date.fromisoformat(approved_raw).isoformat()
    elif approved_raw is None:
        approved_at = None
    else:
        return None
    platforms_raw = get("platforms") or []
    if type(platforms_raw) is not list or (not platforms_raw and service_type in NEEDS_IDENTITY):
        return None
    identities: list[PlatformIdentity] = []
    for p in platforms_raw:
        if type(p) is not dict:
            return None
        platform_text, identifier = _plain(p.get("platform")), _plain(p.get("identifier"))
        if platform_text is None or not identifier:
            return None
        platform = _PLATFORM.get(platform_text.lower())
        if platform is None or len(identifier) > MAX_IDENTIFIER_LENGTH \
                or not IDENTIFIER_SYNTAX[platform].match(identifier):
            return None
        md5 = _fingerprint(p.get("signature_md5"), "md5")
        sha1 = _fingerprint(p.get("signature_sha1"), "sha1")
        sha256 = _fingerprint(p.get("signature_sha256"), "sha256")
        key_text = _plain(p.get("public_key"))
        if key_text is None:
            return None
        public_key = normalise_public_key(key_text, field="public_key") if key_text else None
        if service_type in NEEDS_KEY and not (md5 or sha1 or sha256 or public_key):
            return None
        ident = PlatformIdentity(platform, identifier, public_key, md5, sha1, sha256)
        if ident not in identities:
            identities.append(ident)
    domains_raw = get("domains") or []
    if type(domains_raw) is not list:
        return None
    domains: list[str] = []
    for d in domains_raw:
        if type(d) is not str:
            return None
        name = d.strip().rstrip(".").lower()
        if not _PLAIN_HOST.match(name) or name.rsplit(".", 1)[-1].isdigit():
            return None  # an IP, an IDN, a wildcard or an error: normalise_domain's longer path
        if name not in domains:
            domains.append(name)
    approvals_raw = get("content_approvals") or []
    if type(approvals_raw) is not list:
        return None
    approvals = set()
    for a in approvals_raw:
        text = _plain(a)
        if text is None:
            return None
        if text:
            approvals.add(text)
    unit_nature = _plain(get("unit_nature"))
    if unit_nature is None:
        return None
    if len(identities) > 1:
        identities.sort(key=lambda i: (i.platform, i.identifier, i.public_key or "", i.signature_md5 or "",
                                       i.signature_sha1 or "", i.signature_sha256 or ""))
    return Filing(
        service_licence=licence_text, main_licence=main, service_type=service_type,
        service_name=service_name, unit_name=unit_name, unit_nature=unit_nature or None, status=status,
        approved_at=approved_at, blacklisted=blacklisted, platforms=tuple(identities),
        domains=tuple(sorted(domains)), content_approvals=tuple(sorted(approvals)))


def _validate_in_full(raw: Mapping[str, Any]) -> tuple[Filing | None, list[FieldProblem]]:
    """Every check, every problem collected with its message (the path of any record with a problem)."""
    c = _Collector()
    if not isinstance(raw, Mapping):
        c.add("record", "record_syntax", "a filing record is a JSON object")
        return None, c.problems
    for name in REQUIRED:
        if not _text(raw.get(name)):
            c.add(name, "field_required", f"{name} is required")
    service_type = _enum(raw.get("service_type"), _SERVICE_TYPE)
    if service_type is None and _text(raw.get("service_type")):
        c.add("service_type", "service_type_unknown",
              f"{_text(raw.get('service_type'))!r} is not one of app, mini_program, quick_app")
    status = _enum(raw.get("status"), _STATUS)
    if status is None and _text(raw.get("status")):
        c.add("status", "status_unknown", f"{_text(raw.get('status'))!r} is not one of active, cancelled, revoked")
    blacklisted = raw.get("blacklisted", False)
    if not isinstance(blacklisted, bool):
        blacklisted = _BOOL.get(_text(blacklisted).lower())
        if blacklisted is None:
            c.add("blacklisted", "boolean_syntax", f"{raw.get('blacklisted')!r} is not true/false (是/否)")
    licence = None
    if not isinstance(raw.get("service_licence"), (str, type(None))):
        c.add("service_licence", "licence_syntax", f"{raw.get('service_licence')!r} is not a filing number (text)")
    elif _text(raw.get("service_licence")):
        licence = c.run(lambda: parse_licence(raw["service_licence"]))
    if licence is not None:
        if not licence.is_service:
            c.add("service_licence", "licence_not_service",
                  f"{licence.text} is a unit's number (主体备案号); a service number ends in -<n><letter>")
        elif licence.service_type is None:
            c.add("service_licence", "licence_type_letter_unknown",
                  f"{licence.text}: type letter {licence.type_letter or '(none)'} is not a known one "
                  "(A app, X mini program)", severity="warning")
        elif service_type and licence.service_type != service_type:
            c.add("service_licence", "licence_type_mismatch",
                  f"{licence.text}: letter {licence.type_letter} means {licence.service_type}, "
                  f"the record says {service_type}")
        main_given = _text(raw.get("main_licence"))
        if main_given and normalise_licence_text(main_given) != licence.main:
            c.add("main_licence", "main_licence_mismatch",
                  f"{main_given!r} is not the unit number of {licence.text} ({licence.main})")
    approved_at = c.run(lambda: parse_date(raw.get("approved_at")))
    platforms_raw = raw.get("platforms") or []
    if not isinstance(platforms_raw, list):
        c.add("platforms", "platform_syntax", "platforms is a list")
        platforms_raw = []
    identities = []
    for i, p in enumerate(platforms_raw):
        ident = _identity(p, i, service_type, c)
        if ident is not None and ident not in identities:
            identities.append(ident)
    if service_type in NEEDS_IDENTITY and not platforms_raw:
        c.add("platforms", "field_required", f"{service_type} filings name at least one platform identity")
    domains_raw = raw.get("domains") or []
    if isinstance(domains_raw, str):
        domains_raw = [d for d in re.split(r"[;；,，\s]+", domains_raw) if d]
    elif not isinstance(domains_raw, (list, tuple)):
        c.add("domains", "domain_syntax", "domains is a list of host names and IPs")
        domains_raw = []
    domains: list[str] = []
    for d in domains_raw:
        result = c.run(partial(normalise_domain, d))
        if result is not None:
            name, warning = result
            if warning is not None:
                c.problems.append(warning)
            if name not in domains:
                domains.append(name)
    approvals = raw.get("content_approvals") or []
    if isinstance(approvals, str):
        approvals = [a for a in re.split(r"[;；,，]+", approvals) if a.strip()]
    elif not isinstance(approvals, (list, tuple)):
        c.add("content_approvals", "content_approvals_syntax", "content_approvals is a list of texts")
        approvals = []
    if c.failed or licence is None or service_type is None or status is None:
        return None, c.problems
    return Filing(
        service_licence=licence.text, main_licence=licence.main, service_type=service_type,
        service_name=_text(raw["service_name"]), unit_name=_text(raw["unit_name"]),
        unit_nature=_text(raw.get("unit_nature")) or None, status=status, approved_at=approved_at,
        # Sorted, so that equal content is an equal Filing whatever the order in the file.
        blacklisted=bool(blacklisted), platforms=tuple(sorted(identities, key=lambda p: tuple(v or "" for v in p.as_dict().values()))),
        domains=tuple(sorted(domains)), content_approvals=tuple(sorted({_text(a) for a in approvals if _text(a)})),
    ), c.problems
