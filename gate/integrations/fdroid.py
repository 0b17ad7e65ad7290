"""``fdroid gate``: the filing gate as a subcommand plugin of F-Droid's server tools (fdroidserver); docs/fdroid.md.

fdroidserver finds plugins as top-level modules named ``fdroid_<command>`` that define ``fdroid_summary`` and
``main()``; the wheel ships ``fdroid_gate.py``, which calls ``main`` here. Run in an F-Droid repo (where config.yml is):

1. find every APK in ``repo/``, ``archive/`` and ``unsigned/``;
2. decide each one, either in-process against filings files (``--filings``, as ``gate check --filings``) or through a
   gate server's store upload webhook (``--server``, with ``GATE_API_KEY`` and ``GATE_WEBHOOK_SECRET``) — the same
   decision either way. Nothing is written until every APK is decided: a gate that fails changes nothing;
3. write ``repo/status/gate.json`` beside the index, where fdroidserver keeps its own status reports (not in
   ``repo/`` itself: ``fdroid update`` publishes every other file there as an app of its own);
4. per app (the worst verdict of its APKs): a blocked app — a held one too with ``--hold-review`` — gets the metadata
   field ``Disabled`` with a reason starting ``APP备案``, and ``fdroid update`` leaves disabled apps out of the index;
   an app this plugin disabled before and that now passes has that mark taken off (a maintainer's own ``Disabled``
   is never touched); an app that is not blocked and has a filing in force gets the line ``APP备案号：<number>`` in
   its ``Description``, which the index carries to the store's app page (notice 105 (八): show the filing number);
   with ``--post-listings`` (server mode), the gate server's inventory is told what the index will carry: each app
   listed (its newest versionCode in ``repo/``) or delisted, so the regulator report names what the store
   distributes (notice 105: platforms report the apps they distribute);
5. exit as ``gate check`` does: 0 all allowed, 3 worst was review, 4 worst was block, 1 the gate itself failed,
   2 usage error — so ``fdroid gate && fdroid update && fdroid deploy`` stops before publishing a blocked app.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from gate import __version__
from gate.commands.check import VERDICT_EXIT  # exit as gate check does (step 5)
from gate.errors import GateError, UsageError

REPO_DIRS = ("repo", "archive", "unsigned")  # fdroidserver's places for APKs (unsigned/: builds `fdroid publish` signs)
REPORT_PATH = "repo/status/gate.json"
DISABLED_PREFIX = "APP备案"  # how this plugin's Disabled reasons start, so only those are ever taken off again
FILING_LINE_PREFIX = "APP备案号："
SEVERITY = {"allow": 0, "review": 1, "block": 2}
BEIJING = dt.timezone(dt.timedelta(hours=8))
APPID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")  # a package name: metadata/<appid>.yml

# A gate server: how long one answer may take, how long a queued check may run, how often to ask about it.
SERVER_TIMEOUT_SECONDS = 120.0
QUEUED_DEADLINE_SECONDS = 600.0
POLL_SECONDS = 1.0
USER_AGENT = f"filing-gate/{__version__} (fdroid gate)"


class GateServerError(GateError):
    """The gate server could not decide an APK (unreachable, refused, failed): nothing is written."""

    code = "gate_server_error"


@dataclass(frozen=True)
class ApkDecision:
    path: str  # relative to the F-Droid repo, e.g. repo/app_3.apk
    decision: dict  # the gate's decision (docs/api.md): verdict, reasons, filing, package

    @property
    def appid(self) -> str | None:
        """The package name, when it is one F-Droid can name a metadata file after (never a path: it comes from the
        APK, and an APK is the uploader's to write)."""
        package = (self.decision.get("package") or {}).get("package")
        return package if isinstance(package, str) and APPID.fullmatch(package) else None

    @property
    def verdict(self) -> str:
        return self.decision["verdict"]


# --- step 1: the APKs ----------------------------------------------------------------------------------------------

def find_apks(root: pathlib.Path) -> list[pathlib.Path]:
    return [p for d in REPO_DIRS if (root / d).is_dir() for p in sorted((root / d).glob("*.apk")) if p.is_file()]


# --- step 2: deciding ----------------------------------------------------------------------------------------------

class FilingsFiles:
    """In-process, against filings files (JSON, JSON Lines, CSV, XLSX): no database, no server."""

    mode = "filings"

    def __init__(self, paths: list[str]) -> None:
        from gate.config import load_settings
        from gate.filings.registry import MemoryRegistry

        # Warnings keep their record and are said on stderr, as gate check --filings says them; errors stop the run.
        self.registry = MemoryRegistry.from_files(paths, on_problem=lambda p: print(f"fdroid gate: {p}",
                                                                                    file=sys.stderr))
        self.policy = load_settings().decision_policy()

    def decide(self, path: pathlib.Path, name: str) -> dict:
        from gate.extract.pipeline import extract_features
        from gate.services.decisions import CheckRequest, decide_and_record

        facts = extract_features(str(path))
        return decide_and_record(None, facts, CheckRequest(source="fdroid"), policy=self.policy,
                                 registry=self.registry).decision.as_dict()


class GateServer:
    """A gate server, called as a store calls it: the signed upload webhook, then the check's status_url if queued."""

    mode = "server"

    def __init__(self, url: str, api_key: str, webhook_secret: str) -> None:
        import requests

        self.url = url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT})

    def decide(self, path: pathlib.Path, name: str) -> dict:
        import requests

        from gate.services.signatures import HEADER, sign

        fields = {"package": (path.name, path.read_bytes(), "application/vnd.android.package-archive"),
                  "metadata": (None, json.dumps({"store_app_id": f"fdroid:{name}"}))}
        prepared = self.session.prepare_request(  # with the session's Authorization and User-Agent
            requests.Request("POST", f"{self.url}/api/v1/hooks/store/upload", files=fields))
        assert isinstance(prepared.body, bytes)  # requests encodes a multipart body as bytes
        prepared.headers[HEADER] = sign(prepared.body, self.webhook_secret)  # over the exact bytes sent
        answer = self._json(path, {200, 202}, self.session.send, prepared, timeout=SERVER_TIMEOUT_SECONDS)
        deadline = time.monotonic() + QUEUED_DEADLINE_SECONDS
        while answer.get("status") in ("queued", "running"):  # a large APK: the server's worker decides it
            if time.monotonic() > deadline:
                raise GateServerError(f"{path}: check {answer.get('check_id')} still {answer['status']} after "
                                      f"{QUEUED_DEADLINE_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)
            status_url = answer.get("status_url") or (f"/api/v1/checks/{answer['check_id']}"
                                                      if answer.get("check_id") else None)
            if not isinstance(status_url, str):
                raise GateServerError(f"{path}: the gate server queued the check without saying where to follow it")
            answer = self._json(path, {200}, self.session.get, self.url + status_url, timeout=SERVER_TIMEOUT_SECONDS)
        if answer.get("status") == "failed" or "verdict" not in answer:
            error = _error_of(answer)
            raise GateServerError(f"{path}: the gate could not decide it ({error.get('code', 'no verdict')}: "
                                  f"{error.get('message', '')})")
        return answer

    def post_listings(self, events: list[dict]) -> dict:
        """Listing events (docs/api.md), signed like every webhook; the gate's counts of what it recorded."""
        import requests

        from gate.services.signatures import HEADER, sign

        body = json.dumps({"events": events}).encode()
        prepared = self.session.prepare_request(requests.Request(
            "POST", f"{self.url}/api/v1/hooks/store/listings", data=body,
            headers={"Content-Type": "application/json", HEADER: sign(body, self.webhook_secret)}))
        return self._json(pathlib.Path("listings"), {200}, self.session.send, prepared,
                          timeout=SERVER_TIMEOUT_SECONDS)

    @staticmethod
    def _json(path: pathlib.Path, ok: set[int], call, *args, **kwargs) -> dict:
        """``call(*args, **kwargs)``'s JSON answer; anything but an ``ok`` status is the server's error, quoted."""
        import requests

        try:
            response = call(*args, **kwargs)
        except requests.RequestException as exc:
            raise GateServerError(f"{path}: the gate server cannot be reached ({type(exc).__name__}: {exc})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code not in ok:
            error = _error_of(body)
            raise GateServerError(f"{path}: the gate server answered {response.status_code} "
                                  f"{error.get('code', '')}: {error.get('message', response.text[:200])}")
        if not isinstance(body, dict):  # another service at that URL, or a proxy's page: not a gate's answer
            raise GateServerError(f"{path}: the gate server answered {response.status_code} without a JSON object "
                                  f"({response.text[:200]!r})")
        return body


def _error_of(body) -> dict:
    """The ``error`` object of a gate's answer (docs/api.md), or {} when the answer has none of that shape."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def decide_all(root: pathlib.Path, decider) -> list[ApkDecision]:
    decisions = []
    for apk in find_apks(root):
        name = apk.relative_to(root).as_posix()  # repo/app_3.apk: the report's and the server's name for it
        decisions.append(ApkDecision(name, decider.decide(apk, name)))
    return decisions


# --- steps 3 and 4: the report and the apps' metadata ---------------------------------------------------------------

def app_verdicts(decisions: list[ApkDecision]) -> dict[str, ApkDecision]:
    """Each app's worst APK (the one that decides whether the app may be published)."""
    worst: dict[str, ApkDecision] = {}
    for d in decisions:
        if d.appid and (d.appid not in worst or SEVERITY[d.verdict] > SEVERITY[worst[d.appid].verdict]):
            worst[d.appid] = d
    return worst


def report(decisions: list[ApkDecision], *, mode: str, held: set[str]) -> dict:
    summary = {"allow": 0, "review": 0, "block": 0}
    for d in decisions:
        summary[d.verdict] += 1
    apps = {}
    for appid, d in sorted(app_verdicts(decisions).items()):
        filing = d.decision.get("filing") or {}
        apps[appid] = {"verdict": d.verdict, "held": appid in held, "decided_by": d.path,
                       "service_licence": filing.get("service_licence") if _shows_number(d) else None}
    return {"generated_at": dt.datetime.now(BEIJING).isoformat(timespec="seconds"), "gate_version": __version__,
            "mode": mode, "summary": summary, "apps": apps,
            "apks": [{"path": d.path, **{k: d.decision.get(k) for k in
                                         ("verdict", "package", "filing", "reasons", "check_id") if k in d.decision}}
                     for d in decisions]}


def _shows_number(d: ApkDecision) -> bool:
    filing = d.decision.get("filing") or {}
    return d.verdict != "block" and filing.get("status") == "active" and bool(filing.get("service_licence"))


def _disabled_reason(d: ApkDecision) -> str:
    codes = ", ".join(dict.fromkeys(r["code"] for r in d.decision.get("reasons", [])
                                    if r.get("severity") in ("block", "review"))) or d.verdict
    return (f"{DISABLED_PREFIX}: {d.verdict} by the filing gate ({codes}) for {d.path}; not listed until it passes "
            f"({REPORT_PATH})")


def with_filing_line(description: str, licence: str) -> str:
    """The Description with exactly one filing-number line, the gate's, at the end."""
    kept = [line for line in (description or "").splitlines() if not line.startswith(FILING_LINE_PREFIX)]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, *([""] if kept else []), FILING_LINE_PREFIX + licence]) + "\n"


def update_metadata(root: pathlib.Path, decisions: list[ApkDecision], held: set[str]) -> list[str]:
    """Step 4 through fdroidserver's own metadata reader and writer; the apps whose file changed."""
    from fdroidserver import metadata

    changed = []
    for appid, d in sorted(app_verdicts(decisions).items()):
        path = root / "metadata" / f"{appid}.yml"
        if not path.exists() and d.verdict == "allow" and not _shows_number(d):
            continue
        app = metadata.parse_metadata(path) if path.exists() else metadata.App()
        before = (app.get("Disabled"), app.get("Description"))
        ours = str(app.get("Disabled") or "").startswith(DISABLED_PREFIX)
        if d.verdict == "block" or appid in held:
            if not app.get("Disabled") or ours:
                app["Disabled"] = _disabled_reason(d)
        elif ours:
            app["Disabled"] = None
        if _shows_number(d):
            app["Description"] = with_filing_line(app.get("Description") or "", d.decision["filing"]["service_licence"])
        if (app.get("Disabled"), app.get("Description")) != before:
            path.parent.mkdir(exist_ok=True)
            metadata.write_metadata(path, app)
            changed.append(appid)
    return changed


def listing_events(decisions: list[ApkDecision], held: set[str], *, at: dt.datetime) -> list[dict]:
    """What the index will carry after this run: each app listed with its newest versionCode in repo/ (archive/ is
    not the current listing, unsigned/ is not published yet), or delisted when the gate disabled it."""
    events: list[dict[str, Any]] = []
    for appid, worst in sorted(app_verdicts(decisions).items()):
        if worst.verdict == "block" or appid in held:
            events.append({"package": appid, "action": "delisted", "at": at.isoformat()})
            continue
        versions = [(d.decision.get("package") or {}).get("version_code") for d in decisions
                    if d.appid == appid and d.path.startswith("repo/")]
        codes = [v for v in versions if isinstance(v, int)]
        if codes:
            events.append({"package": appid, "version_code": max(codes), "action": "listed", "at": at.isoformat()})
    return events


# --- the command -----------------------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fdroid gate", description=(
        "Check every APK in repo/, archive/ and unsigned/ against APP备案 filings; write repo/status/gate.json, "
        "disable blocked apps, show filing numbers. Exit 0 all allowed, 3 review, 4 block, 1 gate failed, 2 usage."))
    p.add_argument("--filings", action="append", default=[], metavar="FILE",
                   help="decide in-process against this filings file (repeatable)")
    p.add_argument("--server", metavar="URL", help="decide through a gate server (GATE_API_KEY, GATE_WEBHOOK_SECRET)")
    p.add_argument("--hold-review", action="store_true",
                   help="disable apps whose verdict is review too, until a person clears them")
    p.add_argument("--dry-run", action="store_true", help="write the report only; leave metadata/ as it is")
    p.add_argument("--post-listings", action="store_true",
                   help="with --server: tell the gate's inventory which apps the index will list or drop")
    p.add_argument("-v", "--verbose", action="store_true", help="(fdroid's global option)")
    p.add_argument("-q", "--quiet", action="store_true", help="(fdroid's global option)")
    return p


def _decider(args, environ):
    if bool(args.filings) == bool(args.server):
        raise UsageError("give --filings FILE (in-process) or --server URL (a gate server), one of the two")
    if args.filings:
        if args.post_listings:
            raise UsageError("--post-listings needs --server: the inventory is the gate server's")
        return FilingsFiles(args.filings)
    key, secret = environ.get("GATE_API_KEY"), environ.get("GATE_WEBHOOK_SECRET")
    if not key or not secret:
        raise UsageError("--server needs GATE_API_KEY and GATE_WEBHOOK_SECRET in the environment (a store client: "
                         "gate clients create --role store)")
    return GateServer(args.server, key, secret)


def run(argv: list[str], *, root: pathlib.Path, environ: dict[str, str], out=sys.stdout) -> int:
    args = parser().parse_args(argv)
    if not (root / "config.yml").exists() and not (root / "config.py").exists():
        raise UsageError(f"{root} is not an F-Droid repo (no config.yml): run fdroid gate where fdroid update runs")
    decider = _decider(args, environ)
    decisions = decide_all(root, decider)  # step 2: everything decided before anything is written
    held = {a for a, d in app_verdicts(decisions).items() if args.hold_review and d.verdict == "review"}
    document = report(decisions, mode=decider.mode, held=held)
    (root / REPORT_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / REPORT_PATH).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    changed = [] if args.dry_run else update_metadata(root, decisions, held)
    for d in decisions:
        codes = ", ".join(r["code"] for r in d.decision.get("reasons", []) if r.get("severity") != "info")
        print(f"{d.verdict.upper():6} {d.path} ({d.appid or '?'}){': ' + codes if codes else ''}", file=out)
    print(f"report: {REPORT_PATH}; metadata changed: {', '.join(changed) or 'none'}", file=out)
    if args.post_listings and not args.dry_run:
        events = listing_events(decisions, held, at=dt.datetime.now(BEIJING))
        counts = decider.post_listings(events) if events else {}
        print(f"listings: {sum(e['action'] == 'listed' for e in events)} listed, "
              f"{sum(e['action'] == 'delisted' for e in events)} delisted "
              f"(gate: {json.dumps(counts, ensure_ascii=False)})", file=out)
    return max((VERDICT_EXIT[d.verdict] for d in decisions), default=0)


def main() -> None:
    """Entry point for fdroidserver (``fdroid gate``): it has already removed ``gate`` from sys.argv."""
    try:
        status = run(sys.argv[1:], root=pathlib.Path.cwd(), environ=dict(os.environ))
    except UsageError as exc:  # the caller's input, a filings file with errors too (filings_invalid)
        print(f"fdroid gate: error [{exc.code}]: {exc.message}", file=sys.stderr)
        status = 2
    except GateError as exc:  # the gate failed (e.g. the server): no verdict (nothing written unless it was posting
        # the listings, which comes after the report and metadata/)
        print(f"fdroid gate: error [{exc.code}]: {exc.message}", file=sys.stderr)
        status = 1
    except Exception as exc:  # the top level: a bug still ends with a message and status 1, never a verdict
        print(f"fdroid gate: error [internal_error]: {type(exc).__name__}: {exc} (a bug in the gate; please report "
              "it with the command you ran)", file=sys.stderr)
        status = 1
    sys.exit(status)
