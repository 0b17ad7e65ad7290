"""``gate filings``: import filings files into the registry; show a filing and its history."""

from __future__ import annotations

import json

import click


@click.group("filings")
def filings() -> None:
    """The filing registry (APP备案): import files, show filings."""


@filings.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid records and list the skipped ones (default: a file with errors imports nothing).")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
def import_command(files: tuple[str, ...], skip_invalid: bool, as_json: bool) -> int:
    """Import JSON array, JSON Lines, CSV (UTF-8 or GB18030/GBK) or XLSX filings files.

    Problems are printed to stderr as they are found, one per line: FILE:ROW: FIELD: [code] message.
    Importing the same file again changes nothing; a changed filing gets a new version (history is kept).
    """
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.db.filings import import_into_database
    from gate.filings.stream import estimate_records
    from gate.progress import Progress

    engine = open_database(load_settings().database_url)
    try:
        with Progress("importing filings", total=estimate_records(files), unit="records") as progress:
            report = import_into_database(engine, files, skip_invalid=skip_invalid, progress=progress,
                                          on_problem=lambda p: click.echo(str(p), err=True))
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return 0
    click.echo(f"{report.records} record(s): {report.created} new, {report.changed} changed, "
               f"{report.unchanged} unchanged, {report.skipped} skipped; {report.warnings} warning(s)")
    if report.skipped:
        rows = ", ".join(f"{source}:{row}" for source, row in report.skipped_rows)
        more = report.skipped - len(report.skipped_rows)
        click.echo(f"skipped rows: {rows}" + (f" … and {more} more" if more > 0 else ""))
    return 0


@filings.command("show")
@click.argument("service_licence")
@click.option("--history", is_flag=True, help="Every stored version, oldest first.")
def show(service_licence: str, history: bool) -> int:
    """Print a filing (current version, or all versions) as JSON."""
    from gate.config import load_settings
    from gate.db.engine import open_database
    from gate.db.filings import DatabaseRegistry
    from gate.errors import GateError
    from gate.filings.numbers import normalise_licence_text

    engine = open_database(load_settings().database_url)
    licence = normalise_licence_text(service_licence)
    try:
        with engine.connect() as conn:
            registry = DatabaseRegistry(conn)
            found = registry.history(licence) if history else [f for f in [registry.current(licence)] if f]
    finally:
        engine.dispose()
    if not found:
        raise GateError(f"no filing {licence} in the registry", code="filing_not_found")
    for f in found:
        click.echo(json.dumps({"version_id": f.version_id, **f.canonical()}, ensure_ascii=False))
    return 0
