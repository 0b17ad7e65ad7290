"""Quick apps (.rpk) through the real service: the store webhook allows a filed quick app and blocks an unfiled or
tampered one, the developer pre-check answers the same, a preinstall list names quick apps beside APKs, and
`gate cert show` reads the packager's certificate.pem. Packages: fixtures/quickapp (signed by @hap-toolkit/packager);
expected identities: fixtures/quickapp/expected.json."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import requests

from tests.integration.http_support import FILINGS, multipart, start_gate

QUICKAPP = pathlib.Path(__file__).parents[2] / "fixtures/quickapp"
EXPECTED = json.loads((QUICKAPP / "expected.json").read_text(encoding="utf-8"))
QUICK_FILING = {
    "service_licence": "京ICP备2024000001号-8K", "main_licence": "京ICP备2024000001号", "service_type": "quick_app",
    "service_name": EXPECTED["name"], "unit_name": "北京门禁科技有限公司", "unit_nature": "企业", "status": "active",
    "approved_at": "2024-06-01", "domains": ["filinggate.cn"],
    "platforms": [{"platform": "quickapp", "identifier": EXPECTED["package"],
                   "signature_md5": EXPECTED["signers"]["a"]["cert_md5"]}]}


@pytest.fixture
def served(tmp_path, database_url):
    gate, server = start_gate(tmp_path, database_url, filings=FILINGS + [QUICK_FILING])
    yield gate
    server.shutdown()
    gate.engine.dispose()


def test_store_webhook_and_precheck_decide_quick_apps(served):
    answer = served.upload(QUICKAPP / "rpk_signed.rpk").json()
    assert answer["verdict"] == "allow", answer
    assert answer["package"]["format"] == "rpk"
    assert answer["filing"]["service_licence"] == QUICK_FILING["service_licence"]
    tampered = served.upload(QUICKAPP / "rpk_content_changed.rpk").json()
    assert (tampered["verdict"], tampered["reasons"][0]["code"]) == ("block", "signature_invalid")
    assert "rpk_digest_mismatch" in json.dumps(tampered["reasons"][0]["evidence"])
    resigned = served.upload(QUICKAPP / "rpk_resigned.rpk").json()
    assert (resigned["verdict"], resigned["reasons"][0]["code"]) == ("block", "key_mismatch")
    body, content_type = multipart(QUICKAPP / "rpk_debug_key.rpk")
    precheck = requests.post(f"{served.url}/api/v1/checks", data=body, timeout=30,
                             headers=served.headers("developer", **{"Content-Type": content_type})).json()
    assert (precheck["verdict"], precheck["reasons"][0]["code"]) == ("block", "key_mismatch")


def test_the_precheck_page_shows_a_quick_apps_filing_values(served):
    body, content_type = multipart(QUICKAPP / "rpk_signed.rpk")
    page = requests.post(f"{served.url}/precheck", data=body, headers={"Content-Type": content_type}, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    wanted = EXPECTED["signers"]["a"]
    assert EXPECTED["package"] in page.text
    assert wanted["cert_md5"] in page.text.replace(":", "").lower()


def test_unfiled_quick_app_is_blocked(tmp_path, sqlite_url):
    gate, server = start_gate(tmp_path, sqlite_url)  # no quick-app filing
    try:
        answer = gate.upload(QUICKAPP / "rpk_signed.rpk").json()
        assert (answer["verdict"], answer["reasons"][0]["code"]) == ("block", "unfiled")
        assert answer["reasons"][0]["evidence"]["platform"] == "quickapp"
    finally:
        server.shutdown()
        gate.engine.dispose()


def test_a_preinstall_list_names_quick_apps(served):
    items = [{"platform": "quickapp", "package": EXPECTED["package"],
              "cert_md5": EXPECTED["signers"]["a"]["cert_md5"]},
             {"platform": "quickapp", "package": "cn.filinggate.quick.unfiled",
              "cert_md5": EXPECTED["signers"]["a"]["cert_md5"]},
             {"platform": "quickapp", "package": EXPECTED["package"],
              "cert_md5": EXPECTED["signers"]["b"]["cert_md5"]},
             {"platform": "wearable", "package": EXPECTED["package"], "cert_md5": "0" * 32}]
    r = requests.post(f"{served.url}/api/v1/preinstall/checks", json={"items": items}, headers=served.headers("oem"),
                      timeout=30)
    assert r.status_code == 200, r.text
    got = [(i["verdict"], [x["code"] for x in i["reasons"]][:1]) for i in r.json()["items"]]
    assert got[0] == ("allow", [])
    assert got[1] == ("block", ["unfiled"])
    assert got[2] == ("block", ["key_mismatch"])
    assert got[3][0] == "block"
    # The same package name as an Android item: no quick-app filing answers for it.
    r = requests.post(f"{served.url}/api/v1/preinstall/checks", json=[{**items[0], "platform": "android"}],
                      headers=served.headers("oem"), timeout=30)
    assert [x["code"] for x in r.json()["items"][0]["reasons"]] == ["unfiled"]


def test_cert_show_reads_the_packagers_certificate():
    run = subprocess.run([sys.executable, "-m", "gate.cli", "cert", "show", "--json",
                          str(QUICKAPP / "toolkit_certificate.pem")], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    (signer,) = json.loads(run.stdout)["signers"]
    wanted = EXPECTED["signers"]["toolkit_debug"]
    assert (signer["cert_md5"], signer["cert_sha1"], signer["cert_sha256"], signer["public_key"]) == (
        wanted["cert_md5"], wanted["cert_sha1"], wanted["cert_sha256"], wanted["public_key"])


def test_gate_preinstall_scan_of_a_list_with_a_quick_app(tmp_path):
    """`gate preinstall scan LIST --filings FILE`: a quick-app item is decided against the file's quickapp filing."""
    filings = tmp_path / "filings.json"
    filings.write_text(json.dumps([QUICK_FILING], ensure_ascii=False), encoding="utf-8")
    listing = tmp_path / "preinstall.json"
    listing.write_text(json.dumps([
        {"platform": "quickapp", "package": EXPECTED["package"], "cert_md5": EXPECTED["signers"]["a"]["cert_md5"]},
        {"platform": "quickapp", "package": "cn.filinggate.quick.unfiled",
         "cert_md5": EXPECTED["signers"]["a"]["cert_md5"]}]), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "gate.cli", "preinstall", "scan", str(listing), "--filings",
                          str(filings), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert run.returncode == 4, run.stdout + run.stderr  # the unfiled quick app blocks
    report = json.loads((tmp_path / "out" / "preinstall-report.json").read_text(encoding="utf-8"))
    found = json.dumps(report, ensure_ascii=False)
    assert EXPECTED["package"] in found and "cn.filinggate.quick.unfiled" in found
