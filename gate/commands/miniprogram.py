"""``gate miniprogram check``: decide on mini-program declarations (gate.miniprogram) against their filings.

A declaration file holds one JSON object, a JSON array of them, or JSON Lines. The exit status says the worst
verdict, as ``gate check``'s does; a declaration the gate cannot read (no AppID, a domain that is no host name) is a
usage error (2) naming the file and the entry, and nothing is decided or stored.
"""

from __future__ import annotations

import json

import click

from gate.commands.check import decide_each


@click.group("miniprogram")
def miniprogram() -> None:
    """Mini-program (小程序) declarations: AppID, name, subject and server domains."""


def read_declarations(path: str) -> list[dict]:
    from gate.errors import UsageError
    from gate.miniprogram import MAX_BATCH

    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc})", code="declaration_invalid") from None
    try:
        try:
            loaded = json.loads(text)
            items = loaded if isinstance(loaded, list) else [loaded]
        except ValueError:
            try:
                items = [json.loads(line) for line in text.splitlines() if line.strip()]
            except ValueError as exc:
                raise UsageError(f"{path}: neither JSON nor JSON Lines ({exc})", code="declaration_invalid") from None
    except RecursionError:  # json's decoder recurses per nesting level: "[[[[…" is input, not a gate failure
        raise UsageError(f"{path}: nested too deeply to be a declaration", code="declaration_invalid") from None
    if len(items) > MAX_BATCH:
        raise UsageError(f"{path}: at most {MAX_BATCH} declarations per file", code="declaration_invalid")
    return items


@miniprogram.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--filings", "filings_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Match against this filings file (JSON/JSONL/CSV/XLSX) instead of the database.")
@click.option("--json", "as_json", is_flag=True, help="One decision per line (JSON Lines), in input order.")
def check(paths: tuple[str, ...], filings_files: tuple[str, ...], as_json: bool) -> int:
    """Decide allow/review/block for each declaration. Exit 0 all allowed, 3 worst review, 4 worst block."""
    from gate.config import load_settings
    from gate.errors import UsageError
    from gate.miniprogram import DeclarationInvalid, declaration_facts, declared_subject
    from gate.services.decisions import CheckRequest

    facts_list = []
    for path in paths:  # every declaration is read before any is decided: a bad file stores nothing
        for index, body in enumerate(read_declarations(path)):
            try:
                facts_list.append(declaration_facts(body))
            except DeclarationInvalid as exc:
                raise UsageError(f"{path} [{index}]: {exc.message}", code=exc.code) from None
    # A facts.package is the AppID (declaration_facts), so every declaration is looked up.
    return decide_each(load_settings(), [(facts, CheckRequest(developer_entity=declared_subject(facts)))
                                         for facts in facts_list], filings_files, as_json=as_json)
