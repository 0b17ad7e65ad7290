"""``gate preinstall scan TARGET...``: what a device maker runs on a build before shipping it.

TARGET: image files as a build produces them (Android sparse, ext4, EROFS, a dynamic-partition ``super.img``) or an
unpacked tree — every app of every partition is read and decided like an uploaded package (verified signers,
filing, key), on every core (``gate.preinstall``). Or one preinstall LIST (``.json``/``.csv``: package,
cert_sha256|cert_md5, version_code), decided like ``POST /api/v1/preinstall/checks``. A JSON, a CSV and an HTML
report are written, with the changes since ``--previous``; the exit status is ``gate check``'s (0 all allowed,
3 worst review, 4 worst block — also when a partition cannot be read —, 1 gate failure, 2 usage).
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import signal

import click

from gate.commands.check import VERDICT_EXIT

LIST_SUFFIXES = (".json", ".csv")
REPORT_NAMES = ("preinstall-report.json", "preinstall-report.csv", "preinstall-report.html")


@click.group("preinstall")
def preinstall() -> None:
    """Preinstall checks for device makers (终端生产企业)."""


@preinstall.command("scan")
@click.argument("targets", nargs=-1, required=True, type=click.Path(exists=True, path_type=pathlib.Path))
@click.option("--filings", "filings_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Match against this filings file instead of the database.")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False,
              path_type=pathlib.Path), help="Directory for preinstall-report.json, .csv and .html.")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
              help="The previous build's preinstall-report.json: report apps added, removed, re-signed, newly "
                   "blocked.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Processes checking APKs [every core].")
@click.option("--work-dir", type=click.Path(exists=True, file_okay=False, path_type=pathlib.Path), default=None,
              help="Where images are expanded and app directories copied (removed afterwards) [system temp].")
def scan(targets: tuple[pathlib.Path, ...], filings_files: tuple[str, ...], out_dir: pathlib.Path,
         previous: pathlib.Path | None, jobs: int | None, work_dir: pathlib.Path | None) -> int:
    """Check every app of system images (sparse, ext4, EROFS, super.img) or unpacked trees, or one preinstall list
    (.json or .csv)."""
    from gate.config import load_settings
    from gate.errors import UsageError
    from gate.preinstall import report as reports

    lists = [t for t in targets if t.is_file() and t.suffix.lower() in LIST_SUFFIXES]
    if lists and len(targets) > 1:
        raise UsageError("a preinstall list is checked on its own, not together with images",
                         code="usage_error")
    earlier = reports.load_previous(previous) if previous else None
    if not lists:  # the check workers' forkserver imports the extraction while the filings load
        from gate.preinstall.scan import start_checkers

        start_checkers()
    settings = load_settings()
    lookup, exemptions, close = _registry(settings, filings_files)
    try:
        if lists:
            report = _scan_list(lists[0], lookup, settings.decision_policy(), exemptions)
        else:
            report = _scan_images(targets, lookup, settings.decision_policy(), exemptions, jobs=jobs,
                                  work_dir=work_dir)
    finally:
        close()
    if earlier is not None:
        reports.compare(report, earlier, str(previous))
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(report, out_dir)
    click.echo(_render(report, out_dir))
    return VERDICT_EXIT[report["verdict"]]


def _registry(settings, filings_files):
    if filings_files:
        from gate.filings.registry import MemoryRegistry

        registry = MemoryRegistry.from_files(filings_files)
        # A filings file stands alone: no database, so no exemptions either.
        return (lambda ids, platform="android": {i: registry.filings_for(platform, i) for i in set(ids)}), None, \
            (lambda: None)
    from gate.db.engine import open_database
    from gate.db.exemptions import exemption_lookup
    from gate.services.preinstall import database_lookup

    engine = open_database(settings.database_url)
    return database_lookup(engine), exemption_lookup(engine), engine.dispose


def _scan_images(targets, lookup, policy, exemptions, *, jobs, work_dir) -> dict:
    from gate.db.tables import utcnow
    from gate.exemptions import apply_exemptions, cited_exemption
    from gate.preinstall import report as reports
    from gate.preinstall import scan as scanning
    from gate.preinstall.sources import WorkSpace
    from gate.services.decisions import BatchRegistry, CheckRequest, decide_and_record

    with _terminated_as_interrupt(), WorkSpace(str(work_dir) if work_dir else None) as work:
        result = scanning.run([str(t) for t in targets], work=work, jobs=jobs)
    packages = [facts.package for _, facts in result.checked if facts.package]
    filings = lookup(packages)
    exempt = exemptions(packages) if exemptions is not None else {}
    now = utcnow()
    rows = []
    for app, facts in result.checked:
        # The image's packages were looked up as Android identifiers (500 a query) before any was decided.
        found = BatchRegistry({"android": filings})
        granted = exempt.get(facts.package, [])
        settle = functools.partial(apply_exemptions, exemptions=granted, scope="preinstall", at=now)
        decision = decide_and_record(None, facts, CheckRequest(source="preinstall"), policy=policy, registry=found,
                                     settle=settle).decision.as_dict()
        row = reports.row(app, facts, decision)
        row["exemption"] = cited_exemption(decision)
        rows.append(row)
    return reports.build(", ".join(str(t) for t in targets), result.partitions, rows)


@contextlib.contextmanager
def _terminated_as_interrupt():
    """SIGTERM (a cancelled release job) unwinds like Ctrl-C, so the work directory with its copies of the image
    is removed instead of left behind."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _scan_list(path: pathlib.Path, lookup, policy, exemptions) -> dict:
    from gate.preinstall import report as reports
    from gate.services.preinstall import check_items, parse_list_file

    items = parse_list_file(path.read_text(encoding="utf-8-sig"), csv_format=path.suffix.lower() == ".csv")
    from gate.exemptions import cited_exemption

    result = check_items(items, lookup=lookup, policy=policy, exemptions=exemptions)
    rows = []
    for row, item in zip(result["items"], items):
        given = item if isinstance(item, dict) else {}
        row.update(path=None, partition=None, apex=None, exemption=cited_exemption(row),
                   service_licence=(row.get("filing") or {}).get("service_licence"), signer=None,
                   cert_sha256=given.get("cert_sha256"), cert_md5=given.get("cert_md5"),
                   signers=[given["cert_sha256"]] if given.get("cert_sha256") else [])
        rows.append(row)
    return reports.build(str(path), [], rows)


def _write(report: dict, out_dir: pathlib.Path) -> None:
    from gate.preinstall import html
    from gate.preinstall import report as reports

    json_path, csv_path, html_path = (out_dir / name for name in REPORT_NAMES)
    reports.write_json(json_path, report)
    reports.write_csv(csv_path, report)
    reports.write_text_atomic(html_path, html.render(report))


def _render(report: dict, out_dir: pathlib.Path) -> str:
    s = report["summary"]
    lines = [f"preinstall check of {report['target']}: {report['verdict'].upper()} — {s['total']} apps, "
             f"{s['allow']} allow, {s['review']} review, {s['block']} block"
             + (f", {s['exempted']} by exemption" if s["exempted"] else "")
             + (f", {s['unreadable']} unreadable" if s["unreadable"] else "")]
    for p in report["partitions"]:
        lines.append(f"  {p['name'] or '-':12} {p['format']:22} {p['total']:5} apps  {p['allow']} allow, "
                     f"{p['review']} review, {p['block']} block")
    for e in report["errors"]:
        lines.append(f"  UNREADABLE [{e['code']}] {e['message']}")
    for r in report["items"]:
        if r["verdict"] != "allow":
            codes = ", ".join(x["code"] for x in r["reasons"])
            lines.append(f"  {r['verdict'].upper():6} {r.get('package') or '-'}  {r.get('path') or ''}  [{codes}]")
    changes = report.get("changes")
    if changes:
        lines.append(f"since {changes['previous']}: " + ", ".join(
            f"{len(changes[k])} {k.replace('_', ' ')}" for k in ("added", "removed", "resigned", "newly_blocked",
                                                                  "unblocked")))
        for e in changes["newly_blocked"]:
            lines.append(f"  NEWLY BLOCKED {e.get('package') or '-'}  {e.get('path')}")
    lines.append("reports: " + ", ".join(str(out_dir / name) for name in REPORT_NAMES))
    return "\n".join(lines)
