"""The preinstall report: per-app rows, per-partition and overall counts, exemptions, and what changed.

``build`` makes the report dict (the JSON file as written); ``compare`` sets its ``changes`` against the previous
build's report; ``write_json`` / ``write_csv`` write it (``html`` renders the page). An app is keyed by its package
name across builds (an unreadable APK, which has none, by its device path), so an app that moved between
partitions is neither added nor removed.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
from typing import Any

from gate.errors import UsageError

REPORT_VERSION = 2
VERDICTS = ("allow", "review", "block")
MAX_PREVIOUS_REPORT_BYTES = 512 * 1024 * 1024
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); a quote keeps it text.
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("partition", "path", "package", "version_code", "verdict", "reason_codes", "service_licence",
               "signer", "cert_sha256", "cert_md5", "exemption", "apex", "change")


def row(app, facts, decision: dict) -> dict:
    signers = facts.signature.signers
    filing = decision["filing"] or {}
    return {"path": app.device_path, "partition": app.partition, "apex": app.apex, "package": facts.package,
            "version_code": facts.version_code, "version_name": facts.version_name, "label": facts.label,
            "sha256": facts.sha256, "verdict": decision["verdict"], "reasons": decision["reasons"],
            "filing": decision["filing"], "service_licence": filing.get("service_licence"),
            "signer": signers[0].subject if signers else None,
            "cert_sha256": signers[0].cert_sha256 if signers else None,
            "cert_md5": signers[0].cert_md5 if signers else None,
            "signers": [s.cert_sha256 for s in signers], "exemption": None}


def counts(rows) -> dict:
    summary = {"total": 0, "allow": 0, "review": 0, "block": 0, "exempted": 0}
    for r in rows:
        summary["total"] += 1
        summary[r["verdict"]] += 1
        summary["exempted"] += r.get("exemption") is not None
    return summary


def build(target: str, partitions, rows: list[dict]) -> dict:
    """``partitions``: the scan's PartitionResults (name, source, format, errors)."""
    errors = [e for p in partitions for e in p.errors]
    parts = []
    for p in partitions:
        mine = [r for r in rows if r["partition"] == p.name]
        parts.append({"name": p.name, "source": p.source, "format": p.format, **counts(mine),
                      "errors": list(p.errors)})
    summary = counts(rows)
    summary["unreadable"] = len(errors)
    worst = max((VERDICTS.index(r["verdict"]) for r in rows), default=0)
    verdict = "block" if errors else VERDICTS[worst]
    return {"report_version": REPORT_VERSION, "target": target, "verdict": verdict, "summary": summary,
            "partitions": parts, "errors": errors, "items": rows, "changes": None}


def app_key(item: dict) -> str:
    return item.get("package") or f"path:{item.get('path')}"


def load_previous(path: str | os.PathLike) -> dict:
    """A report written by an earlier scan; anything else is a usage error (exit 2), not a silent empty diff."""
    path = pathlib.Path(path)
    try:
        if path.stat().st_size > MAX_PREVIOUS_REPORT_BYTES:
            raise UsageError(f"{path} is larger than a preinstall report can be", code="previous_report_invalid")
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read the previous report {path}: {exc}", code="previous_report_invalid") from None
    items = previous.get("items") if isinstance(previous, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("verdict"), str)
                                              and i["verdict"] in VERDICTS for i in items):
        raise UsageError(f"{path} is not a preinstall report (no items with verdicts)", code="previous_report_invalid")
    return previous


def compare(report: dict, previous: dict, previous_name: str) -> dict:
    """What changed since ``previous``: apps added, removed, re-signed (another signer set), newly blocked (blocked
    now, not before — new apps included) and unblocked. Sets ``report["changes"]`` and marks each item."""
    before, now = _keyed(previous["items"]), _keyed(report["items"])

    def brief(entry: dict, was: dict | None = None) -> dict:
        item = entry["item"]
        out = {"package": item.get("package"), "path": item.get("path"), "verdict": entry["verdict"]}
        if was is not None:
            out.update(previous_path=was["item"].get("path"), previous_verdict=was["verdict"],
                       previous_signers=sorted(was["signers"]), signers=sorted(entry["signers"]))
        return out

    added = [brief(now[k]) for k in sorted(now.keys() - before.keys())]
    removed = [brief(before[k]) for k in sorted(before.keys() - now.keys())]
    both = sorted(now.keys() & before.keys())
    resigned = [brief(now[k], before[k]) for k in both if now[k]["signers"] != before[k]["signers"]]
    newly_blocked = [brief(now[k], before.get(k)) for k in sorted(now)
                     if now[k]["verdict"] == "block" and (k not in before or before[k]["verdict"] != "block")]
    unblocked = [brief(now[k], before[k]) for k in both
                 if before[k]["verdict"] == "block" and now[k]["verdict"] != "block"]
    changes: dict[str, Any] = {"previous": previous_name, "previous_target": previous.get("target"),
               "added": added, "removed": removed, "resigned": resigned, "newly_blocked": newly_blocked,
               "unblocked": unblocked}
    marks: dict[str, list[str]] = {}
    for kind in ("added", "newly_blocked", "resigned"):
        for entry in changes[kind]:
            marks.setdefault(entry["package"] or f"path:{entry['path']}", []).append(kind)
    for item in report["items"]:
        item["change"] = marks.get(app_key(item), [])
    report["changes"] = changes
    return changes


def _keyed(items) -> dict[str, dict]:
    keyed: dict[str, dict] = {}
    for item in items:
        key = app_key(item)
        signers = set(item.get("signers") or ([item["cert_sha256"]] if item.get("cert_sha256") else []))
        entry = keyed.setdefault(key, {"item": item, "signers": set(), "verdict": "allow"})
        entry["signers"] |= signers
        if VERDICTS.index(item["verdict"]) > VERDICTS.index(entry["verdict"]):
            entry["verdict"] = item["verdict"]
    return keyed


def spreadsheet_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab/CR) gets a quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_LEAD) else text


def write_json(path: pathlib.Path, report: dict) -> None:
    write_text_atomic(path, json.dumps(report, ensure_ascii=False, indent=1))


def write_csv(path: pathlib.Path, report: dict) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in report["items"]:
        exemption = r.get("exemption") or {}
        writer.writerow([spreadsheet_cell(v) for v in (
            r.get("partition"), r.get("path"), r.get("package"), r.get("version_code"), r["verdict"],
            " ".join(x["code"] for x in r["reasons"]), r.get("service_licence"), r.get("signer"),
            r.get("cert_sha256"), r.get("cert_md5"), exemption.get("reason") or exemption.get("id"),
            r.get("apex"), " ".join(r.get("change") or ()))])
    write_text_atomic(path, "\ufeff" + buffer.getvalue())  # BOM: Excel opens Chinese text correctly


def write_text_atomic(path: pathlib.Path, text: str) -> None:
    """Never a half-written report: write beside it, then rename over it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    os.replace(partial, path)
