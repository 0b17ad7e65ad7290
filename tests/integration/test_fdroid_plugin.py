"""`fdroid gate` under the real F-Droid server tools (fdroidserver from PyPI), on a repo the test builds with
`fdroid init` and `fdroid update` from real APKs: the fixture hello_zh.apk (filed: the filings every HTTP test
imports, written from apksigner's digests), the corpus' ApiDemos-debug.apk (published by others; no filing names it)
and legacy_v1.apk in unsigned/ (its filing is cancelled). Expected verdicts come from those hand-written filings;
what F-Droid publishes is read from the index `fdroid update` writes."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests import requirements
from tests.integration.http_support import (
    APKS,
    FILINGS,
    HELLO,
    HELLO_LICENCE,
    HELLO_PACKAGE,
    LEGACY_PACKAGE,
    ORACLE,
    count,
    free_port,
    start_gate,
)

pytestmark = requirements.needs_tools("keytool", "jarsigner", "apksigner")

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNFILED = "io.appium.android.apis"  # aapt's package of ApiDemos-debug.apk (fixtures/apks/corpus_oracle.json)
CORPUS_ORACLE = json.loads((APKS / "corpus_oracle.json").read_text())["apks"]


def fdroid(root: pathlib.Path, *args: str, env: dict | None = None, check: bool = True):
    """The real `fdroid` command; PYTHONPATH holds the checkout, as docs/fdroid.md says for a source install."""
    command = pathlib.Path(sys.executable).parent / "fdroid"
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environ["PATH"] = f"{command.parent}{os.pathsep}{environ.get('PATH', '')}"
    proc = subprocess.run([str(command), *args], cwd=root, env=environ, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    """An F-Droid repo as a store owner starts one: `fdroid init`, APKs in repo/ and unsigned/, `fdroid update -c`."""
    requirements.module("fdroidserver")
    unfiled = requirements.corpus_apk("ApiDemos-debug.apk")
    root = tmp_path_factory.mktemp("fdroid") / "store"
    root.mkdir()
    fdroid(root, "init")
    shutil.copy(HELLO, root / "repo" / HELLO.name)
    shutil.copy(unfiled, root / "repo" / unfiled.name)
    (root / "unsigned").mkdir()
    shutil.copy(APKS / "legacy_v1.apk", root / "unsigned" / f"{LEGACY_PACKAGE}_1.apk")
    fdroid(root, "update", "--create-metadata")
    assert {HELLO_PACKAGE, UNFILED} <= {p.stem for p in (root / "metadata").glob("*.yml")}
    return root


@pytest.fixture
def store(initialised, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(initialised, root)
    (root / "filings.json").write_text(json.dumps(FILINGS, ensure_ascii=False), encoding="utf-8")
    return root


def metadata(root, appid) -> dict:
    import yaml

    return yaml.safe_load((root / "metadata" / f"{appid}.yml").read_text(encoding="utf-8"))


def gate_report(root) -> dict:
    return json.loads((root / "repo" / "status" / "gate.json").read_text(encoding="utf-8"))


def index_apps(root) -> dict:
    return {a["packageName"]: a for a in json.loads((root / "repo" / "index-v1.json").read_text())["apps"]}


def test_filed_app_shows_its_number_and_unfiled_app_is_left_out_of_the_index(store):
    assert UNFILED in index_apps(store)  # before the gate, fdroid update lists the unfiled app

    run = fdroid(store, "gate", "--filings", "filings.json", check=False)
    assert run.returncode == 4, run.stdout + run.stderr  # worst verdict block, as `gate check`
    report = gate_report(store)
    assert report["mode"] == "filings" and report["summary"] == {"allow": 1, "review": 0, "block": 2}
    assert report["apps"][HELLO_PACKAGE] == {"verdict": "allow", "held": False, "decided_by": "repo/hello_zh.apk",
                                              "service_licence": HELLO_LICENCE}
    by_path = {a["path"]: a for a in report["apks"]}
    assert [r["code"] for r in by_path["repo/ApiDemos-debug.apk"]["reasons"]] == ["unfiled"]
    assert "filing_cancelled" in [r["code"] for r in by_path[f"unsigned/{LEGACY_PACKAGE}_1.apk"]["reasons"]]

    # The marks in metadata/: F-Droid's own Disabled field for the blocked apps, the number for the filed one.
    assert metadata(store, UNFILED)["Disabled"].startswith("APP备案: block by the filing gate (unfiled)")
    assert metadata(store, LEGACY_PACKAGE)["Disabled"].startswith("APP备案: block")
    assert "Disabled" not in metadata(store, HELLO_PACKAGE)
    assert metadata(store, HELLO_PACKAGE)["Description"].splitlines()[-1] == f"APP备案号：{HELLO_LICENCE}"

    # The publishing step: fdroid update leaves the blocked app out, and the index carries the number. With
    # --create-metadata it would make an app of any new file in repo/: the report is not one.
    apps_before = sorted(p.name for p in (store / "metadata").iterdir())
    fdroid(store, "update", "--create-metadata")
    assert sorted(p.name for p in (store / "metadata").iterdir()) == apps_before
    apps = index_apps(store)
    assert set(apps) == {HELLO_PACKAGE}
    assert f"APP备案号：{HELLO_LICENCE}" in apps[HELLO_PACKAGE]["description"]

    # Run again: nothing changes, the number stays on one line.
    again = fdroid(store, "gate", "--filings", "filings.json", check=False)
    assert again.returncode == 4 and "metadata changed: none" in again.stdout
    assert metadata(store, HELLO_PACKAGE)["Description"].count("APP备案号") == 1


def test_an_app_filed_later_is_enabled_again_held_reviews_and_a_maintainers_own_disabled_stays(store):
    fdroid(store, "gate", "--filings", "filings.json", check=False)
    assert metadata(store, UNFILED)["Disabled"].startswith("APP备案")
    # The app gets filed with its signing certificate (apksigner's MD5 from the corpus oracle).
    md5 = CORPUS_ORACLE["ApiDemos-debug.apk"]["apksigner"]["signers"][0]["cert_md5"]
    filed = {**FILINGS[0], "service_licence": "粤ICP备2024000009号-3A", "main_licence": "粤ICP备2024000009号",
             "service_name": "API Demos", "platforms": [{"platform": "android", "identifier": UNFILED,
                                                         "signature_md5": md5}], "domains": []}
    (store / "filings.json").write_text(json.dumps([*FILINGS, filed], ensure_ascii=False), encoding="utf-8")
    # A maintainer disabled the legacy app for reasons of their own: the gate must not lift that.
    legacy = store / "metadata" / f"{LEGACY_PACKAGE}.yml"
    legacy.write_text("Disabled: withdrawn by the maintainer\nLicense: Unknown\n", encoding="utf-8")
    run = fdroid(store, "gate", "--filings", "filings.json", check=False)
    # The filing lists no domain, and ApiDemos contacts www.android.com (hand label in
    # fixtures/network/corpus_labels.json): review, which lists the app with its number unless reviews are held.
    assert gate_report(store)["apps"][UNFILED]["verdict"] == "review", run.stdout
    assert "Disabled" not in metadata(store, UNFILED)
    assert metadata(store, UNFILED)["Description"].endswith("APP备案号：粤ICP备2024000009号-3A\n")
    assert metadata(store, LEGACY_PACKAGE)["Disabled"] == "withdrawn by the maintainer"

    held = fdroid(store, "gate", "--filings", "filings.json", "--hold-review", check=False)
    assert held.returncode == 4 and gate_report(store)["apps"][UNFILED]["held"] is True
    assert metadata(store, UNFILED)["Disabled"].startswith("APP备案: review by the filing gate (domain_not_filed)")


def test_against_a_gate_server_with_a_store_key(store, tmp_path):
    gate, server = start_gate(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}")
    try:
        key = {"GATE_API_KEY": gate.clients["store"].api_key,
               "GATE_WEBHOOK_SECRET": gate.clients["store"].webhook_secret}
        run = fdroid(store, "gate", "--server", gate.url, env=key, check=False)
        assert run.returncode == 4, run.stdout + run.stderr
        report = gate_report(store)
        assert report["mode"] == "server"
        assert {a: v["verdict"] for a, v in report["apps"].items()} == {
            HELLO_PACKAGE: "allow", UNFILED: "block", LEGACY_PACKAGE: "block"}
        assert all(a.get("check_id") for a in report["apks"])  # each one a check the server keeps
        assert count(gate.engine, "service_check") == 3
        assert metadata(store, HELLO_PACKAGE)["Description"].endswith(f"APP备案号：{HELLO_LICENCE}\n")
        assert metadata(store, UNFILED)["Disabled"].startswith("APP备案")

        # The inventory: what the index will carry (hello at its versionCode, as aapt reads it), what it drops.
        posted = fdroid(store, "gate", "--server", gate.url, "--post-listings", env=key, check=False)
        assert posted.returncode == 4 and "listings: 1 listed, 2 delisted" in posted.stdout, posted.stdout
        with gate.engine.connect() as conn:
            rows = conn.execute(text("SELECT package, status, version_code FROM listing")).all()
        assert {r.package: (r.status, r.version_code) for r in rows if r.status == "listed"} == {
            HELLO_PACKAGE: ("listed", ORACLE["hello_zh.apk"]["aapt"]["version_code"])}
        assert count(gate.engine, "listing_event") == 3

        wrong = fdroid(store, "gate", "--server", gate.url, check=False,
                       env={**key, "GATE_WEBHOOK_SECRET": "not-the-secret"})
        assert wrong.returncode == 1 and "signature_mismatch" in wrong.stderr
    finally:
        server.shutdown()
        gate.engine.dispose()


def test_a_gate_that_cannot_decide_changes_nothing_and_usage_errors_say_so(store):
    before = {p.name: p.read_bytes() for p in (store / "metadata").glob("*.yml")}
    down = fdroid(store, "gate", "--server", f"http://127.0.0.1:{free_port()}", check=False,
                  env={"GATE_API_KEY": "gk_x_y", "GATE_WEBHOOK_SECRET": "s"})
    assert down.returncode == 1 and "cannot be reached" in down.stderr
    assert not (store / "repo" / "status" / "gate.json").exists()
    assert {p.name: p.read_bytes() for p in (store / "metadata").glob("*.yml")} == before

    filings_listings = fdroid(store, "gate", "--filings", "filings.json", "--post-listings", check=False)
    assert filings_listings.returncode == 2 and "--post-listings needs --server" in filings_listings.stderr
    neither = fdroid(store, "gate", check=False)
    assert neither.returncode == 2 and "--filings FILE" in neither.stderr
    no_key = fdroid(store, "gate", "--server", "http://127.0.0.1:1", check=False,
                    env={"GATE_API_KEY": "", "GATE_WEBHOOK_SECRET": ""})
    assert no_key.returncode == 2 and "GATE_API_KEY" in no_key.stderr
    elsewhere = fdroid(store / "repo", "gate", "--filings", str(store / "filings.json"), check=False)
    assert elsewhere.returncode == 2 and "not an F-Droid repo" in elsewhere.stderr
    (store / "bad.json").write_text(json.dumps([{"service_licence": "not a number"}]), encoding="utf-8")
    bad = fdroid(store, "gate", "--filings", "bad.json", check=False)
    assert bad.returncode == 2 and "error [filings_invalid]" in bad.stderr
    assert not (store / "repo" / "status" / "gate.json").exists()
    assert {p.name: p.read_bytes() for p in (store / "metadata").glob("*.yml")} == before


def test_queued_checks_are_followed_to_their_decision(store, tmp_path):
    """A large APK is queued by the server (202) and decided by its worker: the plugin follows the status_url."""
    import threading

    from gate.services.worker import Worker

    gate, server = start_gate(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}", sync_threshold_bytes=1)  # queue all
    stop = threading.Event()

    def work():  # `gate worker`, in a thread over the same database
        worker = Worker(gate.engine, gate.settings)
        while not stop.is_set():
            if not worker.run_once():
                stop.wait(0.1)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        key = {"GATE_API_KEY": gate.clients["store"].api_key,
               "GATE_WEBHOOK_SECRET": gate.clients["store"].webhook_secret}
        run = fdroid(store, "gate", "--server", gate.url, env=key, check=False)
        assert run.returncode == 4, run.stdout + run.stderr
        assert count(gate.engine, "job") == 3  # each APK went through the queue
        assert {a: v["verdict"] for a, v in gate_report(store)["apps"].items()} == {
            HELLO_PACKAGE: "allow", UNFILED: "block", LEGACY_PACKAGE: "block"}
    finally:
        stop.set()
        thread.join(timeout=30)
        server.shutdown()
        gate.engine.dispose()
