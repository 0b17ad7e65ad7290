"""Device makers (终端生产企业): check a preinstall list — package + certificate digest — against the filings.

The maker attests the signing certificate of the APK it builds into the image, so each item is decided by the
same engine as an uploaded package, from the identity steps (3-5: filed, in force, key covered) with the optional
steps off — the list carries no label, no entity and no network resources to weigh. An item that is malformed is
blocked with ``item_invalid``: fail closed, never skipped.

Filings are looked up for 500 identifiers per query, so a 10,000-item list costs 20 queries, not 10,000.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from gate.db.tables import Filing as FilingRow
from gate.db.tables import FilingIdentity, FilingVersion, table_of, utcnow
from gate.decide import Policy
from gate.exemptions import Exemption, apply_exemptions
from gate.extract.facts import PackageFacts, SignatureFacts, SignerCertificate
from gate.filings.records import Filing
from gate.services.decisions import BatchRegistry, CheckRequest, decide_and_record
from gate.services.uploads import UploadError
from gate.text import text_problem

MAX_ITEMS = 50_000
LOOKUP_CHUNK = 500
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
HEX = re.compile(r"[0-9a-f]+")
ITEM_FIELDS = ("package", "cert_sha256", "cert_md5", "version_code")
MAX_VERSION_CODE = 2 ** 63 - 1  # versionCodeMajor << 32 | versionCode, a BIGINT where it is stored


def _digest(value: object, length: int) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).replace(":", "").strip().lower()
    return text if len(text) == length and HEX.fullmatch(text) else ""


def _echoable(value: object) -> str | None:
    """An item's own package string, when it can be answered back (JSON, CSV) as it came."""
    return value if isinstance(value, str) and len(value) <= 255 and text_problem(value) is None else None


def _invalid(index: int, item: object, message_en: str, message_zh: str) -> dict[str, Any]:
    package = item.get("package") if isinstance(item, dict) else None
    return {"index": index, "package": _echoable(package),
            "version_code": None, "verdict": "block", "filing": None,
            "reasons": [{"code": "item_invalid", "severity": "block",
                         "message": {"zh": message_zh, "en": message_en}, "evidence": {}}]}


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        if not reader.fieldnames or "package" not in [f.strip() for f in reader.fieldnames]:
            raise UploadError("the CSV needs a header row with package, cert_sha256 or cert_md5, version_code",
                              code="csv_invalid")
        items = []
        for row in reader:
            if None in row:  # DictReader files cells beyond the header under the key None, as a list
                raise UploadError(f"CSV line {reader.line_num} has more cells than the header", code="csv_invalid")
            items.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
    except csv.Error as exc:  # a cell over csv.field_size_limit() (128 KiB), a NUL in old Pythons, bad quoting
        raise UploadError(f"CSV line {reader.line_num}: {exc}", code="csv_invalid") from None
    return items


def _version_code(raw: object) -> int | None:
    """An integer 0..2^63-1 (JSON number or CSV digits), None when absent; ValueError otherwise. JSON allows
    1e400 and Infinity (both floats: int() of them overflows) and 1.5 (int() would quietly drop the half)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError(raw)
    if isinstance(raw, str) and not (raw.isascii() and raw.isdigit()):
        raise ValueError(raw)
    value = int(raw)
    if not 0 <= value <= MAX_VERSION_CODE:
        raise ValueError(raw)
    return value


def filings_by_identifier(conn: Connection, identifiers: Sequence[str], platform: str = "android"
                          ) -> dict[str, list[Filing]]:
    """Current filing versions naming each identifier (DatabaseRegistry.filings_for, batched)."""
    F, V, I = table_of(FilingRow), table_of(FilingVersion), table_of(FilingIdentity)  # noqa: E741
    found: dict[str, dict[int, Filing]] = {}
    unique = sorted(set(identifiers))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        rows = conn.execute(
            select(I.c.identifier, V.c.id, V.c.record)
            .select_from(I.join(F, F.c.current_version_id == I.c.version_id).join(V, V.c.id == I.c.version_id))
            .where(I.c.identifier.in_(chunk), I.c.platform == platform))
        for identifier, vid, record in rows:
            found.setdefault(identifier, {})[vid] = Filing.from_canonical(json.loads(record), version_id=vid)
    return {k: [v[i] for i in sorted(v)] for k, v in found.items()}


class FilingLookup(Protocol):
    """The filings naming each identifier of a platform: from the database (database_lookup) or filing files."""

    def __call__(self, identifiers: Sequence[str], platform: str = "android", /) -> dict[str, list[Filing]]: ...


# What a device maker preinstalls: Android apps, and quick apps for the device's quick-app centre (快应用中心).
ITEM_PLATFORMS = {"android": "apk", "quickapp": "rpk"}  # platform -> the format its items stand for


def database_lookup(engine: Engine) -> FilingLookup:
    def lookup(identifiers: Sequence[str], platform: str = "android") -> dict[str, list[Filing]]:
        with engine.connect() as conn:
            return filings_by_identifier(conn, identifiers, platform)
    return lookup


def check_items(items: list[Any], *, lookup: FilingLookup,
                policy: Policy, exemptions: Callable[[Sequence[str]], dict[str, list[Exemption]]] | None = None
                ) -> dict[str, Any]:
    """Per-item verdicts and a summary; ``lookup`` gives the filings naming each package (database or file),
    ``exemptions`` the exemptions (豁免) naming each package (gate.exemptions decides whether one applies)."""
    if len(items) > MAX_ITEMS:
        raise UploadError(f"at most {MAX_ITEMS} items per request", code="too_many_items", status=413)
    policy = policy.for_preinstall_items()  # the settings table says what an item cannot inform (gate.policy)
    # Only names that can be packages are looked up: a NUL (PostgreSQL refuses it) or a surrogate never reaches SQL.
    packages = {platform: [i["package"] for i in items if isinstance(i, dict) and _platform(i) == platform
                           and isinstance(i.get("package"), str) and PACKAGE_NAME.fullmatch(i["package"])]
                for platform in ITEM_PLATFORMS}
    filings = {"android": lookup(packages["android"])}
    if packages["quickapp"]:
        filings["quickapp"] = lookup(packages["quickapp"], "quickapp")
    # Exemptions are for Android platform components (gate.exemptions); a quick app never matches one.
    exempt = exemptions(packages["android"]) if exemptions is not None else {}
    now = utcnow()
    results = [_check_item(index, item, filings, policy, exempt, now) for index, item in enumerate(items)]
    return {"items": results, "summary": summarise(r["verdict"] for r in results)}


def summarise(verdicts: Iterable[str]) -> dict[str, int]:
    summary = {"total": 0, "allow": 0, "review": 0, "block": 0}
    for verdict in verdicts:
        summary["total"] += 1
        summary[verdict] += 1
    return summary


def parse_list_file(text: str, *, csv_format: bool) -> list[Any]:
    if csv_format:
        return parse_csv(text)
    try:
        body = json.loads(text)
    except ValueError:
        raise UploadError("the list is not valid JSON", code="json_invalid") from None
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise UploadError('send a JSON array of items, or {"items": [...]}', code="body_invalid")
    return items


def _platform(item: dict[str, Any]) -> str | None:
    """The item's platform (``android`` when not given); None for a platform device makers do not preinstall."""
    platform = item.get("platform") or "android"
    return platform if isinstance(platform, str) and platform in ITEM_PLATFORMS else None


def _check_item(index: int, item: object, filings: dict[str, dict[str, list[Filing]]], policy: Policy,
                exempt: dict[str, list[Exemption]], now: dt.datetime) -> dict[str, Any]:
    if not isinstance(item, dict):
        return _invalid(index, item, "an item must be an object", "条目必须是对象")
    platform = _platform(item)
    if platform is None:
        return _invalid(index, item, "`platform` must be android (default) or quickapp",
                        "`platform` 必须是 android（默认）或 quickapp")
    package = item.get("package")
    if not isinstance(package, str) or not PACKAGE_NAME.fullmatch(package):
        return _invalid(index, item, "`package` must be an Android package name", "`package` 必须是安卓包名")
    sha256, md5 = _digest(item.get("cert_sha256"), 64), _digest(item.get("cert_md5"), 32)
    if sha256 == "" or md5 == "" or (sha256 is None and md5 is None):
        return _invalid(index, item, "give cert_sha256 (64 hex digits) or cert_md5 (32 hex digits)",
                        "请提供 cert_sha256（64位十六进制）或 cert_md5（32位十六进制）")
    try:
        version = _version_code(item.get("version_code"))
    except ValueError:
        return _invalid(index, item, "`version_code` must be an integer from 0 to 2^63-1",
                        "`version_code` 必须是 0 到 2^63-1 的整数")
    signer = SignerCertificate(cert_md5=md5 or "", cert_sha1="", cert_sha256=sha256 or "", public_key="",
                               public_key_sha256="", subject="", key_algorithm="", key_size=0)
    facts = PackageFacts(path=f"items[{index}]", format=ITEM_PLATFORMS[platform], platform=platform,
                         package=package, version_code=version,
                         signature=SignatureFacts(verified=True, signers=(signer,)))
    exempted = (lambda decision: apply_exemptions(decision, exempt.get(package, []), scope="preinstall", at=now)) \
        if platform == "android" else None
    decision = decide_and_record(None, facts, CheckRequest(source="preinstall"), policy=policy,
                                 registry=BatchRegistry(filings), settle=exempted).decision.as_dict()
    return {"index": index, "package": package, "platform": platform, "version_code": version,
            "verdict": decision["verdict"],
            "reasons": decision["reasons"], "filing": decision["filing"]}
