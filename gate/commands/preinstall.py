"""``gate preinstall scan DIR|LIST``: what a device maker runs on an unpacked system image before shipping it.

DIR: every APK under the image's app partitions is read and decided like an uploaded package (verified signers,
filing, key). LIST: a JSON or CSV preinstall list (package, cert_sha256|cert_md5, version_code), decided like
``POST /api/v1/preinstall/checks``. Either way a JSON and a CSV report are written and a summary is printed; the
exit status is ``gate check``'s (0 all allowed, 3 worst review, 4 worst block, 1 gate failure, 2 usage).
"""

from __future__ import annotations

import csv
import json
import pathlib

import click

VERDICT_EXIT = {"allow": 0, "review": 3, "block": 4}
# Where Android images keep installable apps: each partition's app/ and priv-app/ (privileged) directories.
# ``system/system`` covers system-as-root images unpacked with the root directory kept.
PARTITIONS = ("system", "system/system", "product", "system/product", "vendor", "system_ext", "system/system_ext",
              "odm", "oem")
APP_DIRS = ("app", "priv-app", "overlay")


def find_apks(root: pathlib.Path) -> list[pathlib.Path]:
    dirs = [root / part / sub for part in PARTITIONS for sub in APP_DIRS if (root / part / sub).is_dir()]
    if not dirs:  # not laid out like an image: take every APK under the directory
        dirs = [root]
    return sorted({p for d in dirs for p in d.rglob("*.apk") if p.is_file()})


@click.group("preinstall")
def preinstall() -> None:
    """Preinstall checks for device makers (终端生产企业)."""


@preinstall.command("scan")
@click.argument("target", type=click.Path(exists=True, path_type=pathlib.Path))
@click.option("--filings", "filings_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Match against this filings file instead of the database.")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False,
              path_type=pathlib.Path), help="Directory for preinstall-report.json and preinstall-report.csv.")
def scan(target: pathlib.Path, filings_files: tuple[str, ...], out_dir: pathlib.Path) -> int:
    """Check every APK of an unpacked system image (DIR), or a preinstall list file (LIST: .json or .csv)."""
    from gate.config import load_settings

    settings = load_settings()
    lookup, close = _registry(settings, filings_files)
    try:
        if target.is_dir():
            rows = _scan_image(target, lookup, settings.decision_policy())
        else:
            rows = _scan_list(target, lookup, settings.decision_policy())
    finally:
        close()
    from gate.platform_hooks.preinstall import summarise

    summary = summarise(r["verdict"] for r in rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"target": str(target), "summary": summary, "items": rows}
    (out_dir / "preinstall-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1),
                                                    encoding="utf-8")
    _write_csv(out_dir / "preinstall-report.csv", rows)
    click.echo(_render(report, out_dir))
    return max((VERDICT_EXIT[r["verdict"]] for r in rows), default=0)


def _registry(settings, filings_files):
    if filings_files:
        from gate.filings.registry import MemoryRegistry

        registry = MemoryRegistry.from_files(filings_files)
        return (lambda ids: {i: registry.filings_for("android", i) for i in set(ids)}), (lambda: None)
    from gate.platform_hooks.preinstall import database_lookup
    from gate.store.engine import open_database

    engine = open_database(settings.database_url)
    return database_lookup(engine), engine.dispose


def _scan_image(root: pathlib.Path, lookup, policy) -> list[dict]:
    from gate.decide import decide
    from gate.extract.pipeline import extract_features
    from gate.platform_hooks.checks import FORMAT_PLATFORM

    apks = find_apks(root)
    rows = []
    with click.progressbar(apks, label="checking APKs", file=click.get_text_stream("stderr"),
                           item_show_func=lambda p: p.name if p else "") as bar:
        for apk in bar:
            facts = extract_features(apk)
            filings = lookup([facts.package]).get(facts.package, []) if facts.package else []
            decision = decide(facts, filings, policy=policy,
                              platform=FORMAT_PLATFORM.get(facts.format or "", "android")).as_dict()
            signers = facts.signature.signers
            rows.append({"path": str(apk.relative_to(root)), "package": facts.package,
                         "version_code": facts.version_code, "verdict": decision["verdict"],
                         "reasons": decision["reasons"], "filing": decision["filing"],
                         "cert_sha256": signers[0].cert_sha256 if signers else None,
                         "cert_md5": signers[0].cert_md5 if signers else None})
    return rows


def _scan_list(path: pathlib.Path, lookup, policy) -> list[dict]:
    from gate.platform_hooks.preinstall import check_items, parse_list_file

    items = parse_list_file(path.read_text(encoding="utf-8-sig"), csv_format=path.suffix.lower() == ".csv")
    result = check_items(items, lookup=lookup, policy=policy)
    for row, item in zip(result["items"], items):
        row["path"] = None
        row["cert_sha256"] = item.get("cert_sha256") if isinstance(item, dict) else None
        row["cert_md5"] = item.get("cert_md5") if isinstance(item, dict) else None
    return result["items"]


def _write_csv(path: pathlib.Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Chinese text correctly
        writer = csv.writer(f)
        writer.writerow(["path", "package", "version_code", "verdict", "reason_codes", "service_licence",
                         "cert_sha256", "cert_md5"])
        for r in rows:
            writer.writerow([r.get("path") or "", r.get("package") or "", r.get("version_code") or "",
                             r["verdict"], " ".join(x["code"] for x in r["reasons"]),
                             (r.get("filing") or {}).get("service_licence", ""), r.get("cert_sha256") or "",
                             r.get("cert_md5") or ""])


def _render(report: dict, out_dir: pathlib.Path) -> str:
    s = report["summary"]
    lines = [f"preinstall check of {report['target']}: {s['total']} apps — "
             f"{s['allow']} allow, {s['review']} review, {s['block']} block"]
    for r in report["items"]:
        if r["verdict"] != "allow":
            codes = ", ".join(x["code"] for x in r["reasons"])
            lines.append(f"  {r['verdict'].upper():6} {r.get('package') or '-'}  {r.get('path') or ''}  [{codes}]")
    lines.append(f"reports: {out_dir / 'preinstall-report.json'}, {out_dir / 'preinstall-report.csv'}")
    return "\n".join(lines)
