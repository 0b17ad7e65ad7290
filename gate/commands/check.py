"""``gate check``: decide on packages against their filings; exit status says the worst verdict.

Developers run it in CI before a release: the readable output says plainly what to fix. With ``--filings FILE``
the filings come from that file and nothing touches the database; otherwise the configured registry is used and
each check is stored with its inputs (auditable, reproducible).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, nullcontext
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gate.config import Settings
    from gate.extract.facts import PackageFacts
    from gate.services.decisions import CheckRequest

VERDICT_EXIT = {"allow": 0, "review": 3, "block": 4}  # also gate miniprogram/preinstall and fdroid gate


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--filings", "filings_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Match against this filings file (JSON/JSONL/CSV/XLSX) instead of the database.")
@click.option("--json", "as_json", is_flag=True, help="One decision per line (JSON Lines), in input order.")
@click.option("--platform", type=click.Choice(["android", "ios", "harmony"]), default="android", show_default=True,
              help="Kept for scripts that pass it; the platform is the package's own (by its format), and a file "
                   "whose format tells none is unreadable and blocked.")
@click.option("--developer-entity", default=None, help="The uploading developer's entity (主办单位), for step 8.")
@click.option("--category", default=None, help="The store's category for the app (e.g. 新闻), for content approvals "
                                                "(step 10).")
@click.option("--unpacked", "unpacked", default=None, type=click.Path(path_type=str),
              help="The unpacked build of the (packed, 加固) package: its network resources decide when it pairs "
                   "(same package, versionCode and signers). One package only.")
def check(paths: tuple[str, ...], filings_files: tuple[str, ...], as_json: bool, platform: str,
          developer_entity: str | None, category: str | None, unpacked: str | None) -> int:
    """Decide allow/review/block for each package. Exit 0 all allowed, 3 worst review, 4 worst block."""
    from gate.config import load_settings
    from gate.extract.pipeline import extract_features
    from gate.pairing import pair
    from gate.services.decisions import CheckRequest

    if unpacked is not None and len(paths) != 1:
        raise click.UsageError("--unpacked goes with exactly one package: the packed build it was made from")

    settings = load_settings()

    def checks() -> Iterator[tuple[PackageFacts, CheckRequest]]:
        for path in paths:
            facts = extract_features(path, trust=settings.trust_roots)  # outside any transaction: it may take seconds
            if unpacked is not None:
                facts = pair(facts, extract_features(unpacked, trust=settings.trust_roots))
            # The platform is the package's own, by its format (gate.services.decisions.platform_of). A file whose
            # format tells none is unreadable and blocked before any lookup, so --platform changes no decision.
            yield facts, CheckRequest(developer_entity=developer_entity, category=category)

    return decide_each(settings, checks(), filings_files, as_json=as_json)


def decide_each(settings: Settings, checks: Iterable[tuple[PackageFacts, CheckRequest]],
                filings_files: tuple[str, ...], *, as_json: bool) -> int:
    """Decide and print each (facts, request) as ``checks`` yields it, against the filings files or the database;
    returns the exit status of the worst verdict."""
    policy = settings.decision_policy()
    worst = 0
    with ExitStack() as stack:
        registry, conn = open_registry(stack, settings, filings_files)
        for facts, request in checks:
            verdict = decide_and_report(registry, conn, facts, request, policy=policy, as_json=as_json)
            worst = max(worst, VERDICT_EXIT[verdict])
    return worst


def decide_and_report(registry, conn, facts, request, *, policy, as_json: bool) -> str:
    """Decide on one package's facts, store the check when a database is open, print it; return the verdict.

    Lookup, decision and stored check run in one transaction: the stored filing version is the one used.
    """
    from gate.services.decisions import decide_and_record

    with conn.begin() if conn is not None else nullcontext():
        recorded = decide_and_record(conn, facts, request, policy=policy, registry=registry)
    decision, check_id = recorded.decision, recorded.gate_check_id
    out = decision.as_dict()
    if check_id is not None:
        out["check_id"] = check_id
    click.echo(json.dumps(out, ensure_ascii=False) if as_json else render(out))
    return decision.verdict


def open_registry(stack: ExitStack, settings, filings_files):
    """The filings to match against: the files named (no database), else the configured database and a connection."""
    if filings_files:
        from gate.filings.registry import MemoryRegistry

        return MemoryRegistry.from_files(filings_files, on_problem=lambda p: click.echo(str(p), err=True)), None
    from gate.db.engine import open_database
    from gate.db.filings import DatabaseRegistry

    engine = open_database(settings.database_url)
    stack.callback(engine.dispose)
    conn = stack.enter_context(_guarded(engine.connect()))
    return DatabaseRegistry(conn), conn


def _guarded(conn):
    """Database errors during a check mean the gate failed (exit 1), never a verdict."""
    from contextlib import contextmanager

    from sqlalchemy.exc import SQLAlchemyError

    from gate.db.engine import DatabaseUnavailable, _first_line

    @contextmanager
    def cm():
        try:
            with conn:
                yield conn
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"database error during the check ({_first_line(exc)})") from None

    return cm()


def render(decision: dict) -> str:
    """The readable form: verdict, package, filing, then each reason with what to do (en, then zh)."""
    pkg = decision["package"]
    lines = [f"{decision['verdict'].upper():6} {decision['path']}"
             + (f"  ({pkg['package']}, versionCode {pkg['version_code']})" if pkg.get("package") else "")]
    if pkg.get("unpacked"):
        lines.append(f"  unpacked build: SHA-256 {pkg['unpacked']['sha256']} — "
                     + ("paired (its network resources decide)" if pkg["unpacked"]["paired"] else "does not pair"))
    if decision.get("filing"):
        f = decision["filing"]
        lines.append(f"  filing: {f['service_licence']} {f['service_name']} — {f['unit_name']} ({f['status']})")
    for r in decision["reasons"]:
        lines.append(f"  [{r['severity']}] {r['code']}: {r['message']['en']}")
        lines.append(f"      {r['message']['zh']}")
    if decision.get("check_id") is not None:
        lines.append(f"  check id: {decision['check_id']}")
    return "\n".join(lines)
