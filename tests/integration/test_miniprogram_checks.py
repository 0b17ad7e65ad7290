"""Mini-program declarations end to end on a real server (SQLite and PostgreSQL): POST /api/v1/miniprogram-checks
answers review for an unfiled domain and allow for a filed declaration, both stored, audited, answerable at
GET /api/v1/checks/<id> and shown in the console; `gate miniprogram check` decides the same way from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests
from sqlalchemy import text

from tests.integration.console_support import PASSWORD, signed_in
from tests.integration.http_support import FILINGS, start_gate

APPID = "wx0123456789abcdef"
MP_FILING = {"service_licence": "京ICP备2024000001号-7X", "main_licence": "京ICP备2024000001号",
             "service_type": "mini_program", "service_name": "门禁小程序", "unit_name": "北京门禁科技有限公司",
             "unit_nature": "企业", "status": "active", "approved_at": "2024-05-01", "domains": ["filinggate.cn"],
             "platforms": [{"platform": "miniprogram", "identifier": APPID}]}
FILED = {"appid": APPID, "name": "门禁小程序", "subject": "北京门禁科技有限公司",
         "request_domain": ["https://api.mp.filinggate.cn"], "socket_domain": ["wss://ws.filinggate.cn"],
         "business_domain": ["https://h5.filinggate.cn"]}
UNFILED_DOMAIN = {**FILED, "business_domain": ["https://h5.unfiled-example.com"]}


@pytest.fixture
def served(tmp_path, database_url):
    gate, server = start_gate(tmp_path, database_url, filings=FILINGS + [MP_FILING])
    yield gate
    server.shutdown()
    gate.engine.dispose()


def post(gate, body, role="store"):
    return requests.post(f"{gate.url}/api/v1/miniprogram-checks", json=body, headers=gate.headers(role), timeout=30)


def test_filed_allowed_unfiled_domain_review_stored_and_shown(served):
    from gate.web.accounts import create_user

    allowed, review = post(served, FILED), post(served, UNFILED_DOMAIN)
    assert allowed.status_code == review.status_code == 200
    assert allowed.json()["verdict"] == "allow", allowed.json()
    assert allowed.json()["filing"]["service_licence"] == "京ICP备2024000001号-7X"
    assert review.json()["verdict"] == "review"
    assert [r["code"] for r in review.json()["reasons"]] == ["domain_not_filed"]
    assert review.json()["reasons"][0]["evidence"]["uncovered_hosts"] == ["h5.unfiled-example.com"]
    assert review.json()["reasons"][0]["message"]["en"].startswith("The mini program declares server domains")
    assert post(served, FILED).json()["check_id"] == allowed.json()["check_id"]  # the same declaration, same check
    assert post(served, FILED, role="developer").json()["verdict"] == "allow"
    for answer in (allowed, review):
        stored = requests.get(f"{served.url}/api/v1/checks/{answer.json()['check_id']}",
                              headers=served.headers("store"), timeout=10).json()
        assert stored["verdict"] == answer.json()["verdict"]
    with served.engine.connect() as conn:
        rows = conn.execute(text("SELECT platform, package, verdict FROM gate_check ORDER BY id")).all()
        audited = conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'check' AND subject = :s"),
                               {"s": APPID}).scalar_one()
    assert {(r.platform, r.package, r.verdict) for r in rows} == {("miniprogram", APPID, "allow"),
                                                                  ("miniprogram", APPID, "review")}
    assert audited >= 2
    create_user(served.engine, username="viewer1", role="viewer", password=PASSWORD)
    session, _ = signed_in(served, "viewer1")
    listing = session.get(f"{served.url}/console/checks")
    assert listing.status_code == 200 and listing.text.count(APPID) >= 2
    page = session.get(f"{served.url}/console/checks/{review.json()['check_id']}")
    assert page.status_code == 200 and "h5.unfiled-example.com" in page.text
    assert "no verified signer" not in page.text and "无已验证的签名" not in page.text


def test_unfiled_appid_is_blocked_and_bad_input_refused(served):
    r = post(served, {**FILED, "appid": "wxffffffffffffffff"})
    assert (r.json()["verdict"], r.json()["reasons"][0]["code"]) == ("block", "unfiled")
    r = post(served, {**FILED, "request_domain": ["https://203.0.113.7"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "declaration_invalid"
    r = requests.post(f"{served.url}/api/v1/miniprogram-checks", data=b"{", headers={
        **served.headers("store"), "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_invalid"
    assert post(served, FILED, role="oem").status_code == 403
    assert requests.post(f"{served.url}/api/v1/miniprogram-checks", json=FILED, timeout=10).status_code == 401


def test_cli_decides_a_declaration_file(tmp_path, sqlite_url):
    from tests.integration.http_support import prepare_database

    engine = prepare_database(sqlite_url, tmp_path, FILINGS + [MP_FILING])
    engine.dispose()
    path = tmp_path / "declarations.json"
    path.write_text(json.dumps([FILED, UNFILED_DOMAIN], ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "GATE_DATABASE_URL": sqlite_url}
    run = subprocess.run([sys.executable, "-m", "gate.cli", "miniprogram", "check", "--json", str(path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 3, run.stderr  # worst verdict: review
    verdicts = [json.loads(line)["verdict"] for line in run.stdout.splitlines()]
    assert verdicts == ["allow", "review"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x"}), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "gate.cli", "miniprogram", "check", str(bad)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "declaration_invalid" in run.stderr and "Traceback" not in run.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000, encoding="utf-8")  # deeper than json's decoder recurses
    run = subprocess.run([sys.executable, "-m", "gate.cli", "miniprogram", "check", str(deep)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "declaration_invalid" in run.stderr and "internal_error" not in run.stderr


def test_listed_mini_programs_are_in_the_distribution_report(served):
    """Listing events with platform miniprogram (signed webhook) -> the report's events and inventory name the
    platform and the filing found on it; an unfiled AppID cannot be reported and is counted instead."""
    from gate.sync.reports import body_chunks, build_report
    from tests.integration.sync_support import ago, backdate_arrivals

    body = json.dumps({"events": [
        {"platform": "miniprogram", "package": APPID, "action": "listed", "at": ago(days=3)},
        {"platform": "miniprogram", "package": "wxffffffffffffffff", "action": "listed", "at": ago(days=3)},
        {"package": "cn.filinggate.hello", "version_code": 1, "action": "listed", "at": ago(days=3)}]}).encode()
    r = requests.post(f"{served.url}/api/v1/hooks/store/listings", data=body, timeout=10,
                      headers=served.signed("store", body, "application/json"))
    assert r.status_code == 200 and r.json()["listed"] == 3, r.text
    bad = json.dumps({"events": [{"platform": "miniprogram", "package": "not an appid!", "action": "listed",
                                  "at": ago(days=3)}]}).encode()
    r = requests.post(f"{served.url}/api/v1/hooks/store/listings", data=bad, timeout=10,
                      headers=served.signed("store", bad, "application/json"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "event_invalid"
    backdate_arrivals(served.engine, minutes=5)
    built = build_report(served.engine, platform_id="store-001", secret="s", report_time="02:00")
    assert built is not None and built.unfiled == 1
    report = json.loads(b"".join(body_chunks(served.engine, built.outbox_id)))
    items = {(i["platform"], i["identifier"]): i for i in report["inventory"]}
    assert items[("miniprogram", APPID)]["service_licence"] == "京ICP备2024000001号-7X"
    assert items[("miniprogram", APPID)]["service_name"] == "门禁小程序"
    assert ("android", "cn.filinggate.hello") in items
    events = {(e["platform"], e["identifier"]): e for e in report["events"]}
    assert events[("miniprogram", APPID)]["service_licence"] == "京ICP备2024000001号-7X"
    assert events[("miniprogram", "wxffffffffffffffff")]["service_licence"] is None


def test_the_badge_shows_a_mini_programs_filing_number(served):
    r = requests.get(f"{served.url}/api/v1/badge/{APPID}?platform=miniprogram", headers=served.headers("store"),
                     timeout=10)
    assert r.status_code == 200 and r.json()["text"] == "小程序备案号：京ICP备2024000001号-7X"
    html = requests.get(f"{served.url}/api/v1/badge/{APPID}?platform=miniprogram&format=html",
                        headers=served.headers("store"), timeout=10).text
    assert "小程序备案号：京ICP备2024000001号-7X" in html
    assert requests.get(f"{served.url}/api/v1/badge/{APPID}", headers=served.headers("store"),
                        timeout=10).status_code == 404  # not an Android package
    r = requests.get(f"{served.url}/api/v1/badge/{APPID}?platform=wechat", headers=served.headers("store"), timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "platform_invalid"
