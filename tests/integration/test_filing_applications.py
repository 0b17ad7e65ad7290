"""Filing through the platform (代为备案), end to end as processes: `gate serve`, the sandbox regulator, `gate sync`.

An unfiled package (multidex_native.apk: apksigner verifies it, no filing lists it) goes from `block unfiled` to an
approved filing — with a correction round — and then to `allow`; another application is rejected. Personal data is
never stored or audited in clear text.
"""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
import requests
from sqlalchemy import text

from tests.integration.http_support import APKS, FILINGS, start_gate_process, stop_process
from tests.integration.sync_support import PLATFORM, SECRET, gate, start_sandbox
from tests.integration.sync_support import stop_process as stop_sandbox

UNFILED = APKS / "multidex_native.apk"
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"
# A filing of another service of the same unit: it files the domains the package contacts (multidex-gate.cn and
# example.com), which is what the pre-submission check asks of every domain in an application.
WEBSITE = {"service_licence": "京ICP备2024000009号-1A", "main_licence": "京ICP备2024000009号", "service_type": "app",
           "service_name": "门禁官网", "unit_name": "多包示例科技有限公司", "status": "active",
           "platforms": [{"platform": "android", "identifier": "cn.filinggate.website",
                          "signature_md5": "0" * 32}],
           "domains": ["multidex-gate.cn", "example.com"]}
FORM = {"service_name": "Multidex Gate", "unit_name": "多包示例科技有限公司", "unit_nature": "企业",
        "content_approvals": [],
        "contacts": [{"name": "张三", "role": "负责人", "phone": PHONE, "email": "zs@multidex-gate.cn",
                      "id_number": ID_NUMBER, "hobby": "never stored"}]}


@pytest.fixture
def running(tmp_path, sqlite_url):
    started = []

    def start(*sandbox_options: str):
        sandbox = start_sandbox(*sandbox_options)
        started.append(sandbox.proc)
        env = {"GATE_REGULATOR_URL": sandbox.url, "GATE_REGULATOR_SECRET": SECRET, "GATE_PLATFORM_ID": PLATFORM,
               "GATE_PII_KEY": base64.b64encode(os.urandom(32)).decode()}
        g, proc = start_gate_process(tmp_path, sqlite_url, serve_args=("--dev",), filings=FILINGS + [WEBSITE],
                                     env=env)
        started.append(proc)
        return g, sandbox, {**os.environ, **env, "GATE_DATABASE_URL": sqlite_url, "GATE_LOG_FORMAT": "text"}

    yield start
    for proc in started:
        stop_process(proc) if proc.args[3:4] == ["serve"] else stop_sandbox(proc)


def developer_check(g) -> dict:
    with open(UNFILED, "rb") as handle:
        answer = requests.post(f"{g.url}/api/v1/checks", headers=g.headers("developer"),
                               files={"package": ("app.apk", handle)}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def sync(env, what: str) -> dict:
    result = gate("sync", what, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_unfiled_to_approved_through_a_correction_round(running):
    g, sandbox, env = running("--application-outcomes", "returned,approved")
    first = developer_check(g)
    assert first["verdict"] == "block" and first["reasons"][0]["code"] == "unfiled"
    url = f"{g.url}/api/v1/filing-applications"

    # Pre-submission checks: each problem named, nothing stored.
    bad = requests.post(url, headers=g.headers("developer"), timeout=30, json={
        **FORM, "check_id": first["check_id"], "service_name": "完全无关的名字", "domains": ["unfiled-site.cn"]})
    assert bad.status_code == 422
    assert {p["code"] for p in bad.json()["error"]["problems"]} == {"name_mismatch", "domain_not_filed"}
    assert requests.post(url, headers=g.headers("store"), json={**FORM, "check_id": first["check_id"]},
                         timeout=30).status_code == 403
    with g.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM filing_application")).scalar_one() == 0

    created = requests.post(url, headers=g.headers("developer"), json={**FORM, "check_id": first["check_id"]},
                            timeout=60)
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["status"] == "submitted" and application["identifier"] == "cn.filinggate.multidex"
    app_url = f"{url}/{application['application_id']}"

    # Personal data: sealed at rest, never in the audit trail, never in an answer; unknown members dropped.
    with g.engine.connect() as conn:
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM filing_application")).one())
        audit = " ".join(r[0] for r in conn.execute(text("SELECT details FROM audit_event")))
    for secret_value in (ID_NUMBER, PHONE, "张三", "never stored"):
        assert secret_value not in stored and secret_value not in audit and secret_value not in created.text
    received = requests.get(f"{sandbox.url}/_sandbox/applications", timeout=10).json()["applications"]
    assert len(received) == 1 and received[0]["platform_id"] == PLATFORM  # (inspection shows the outcome at once)

    # Round 1 is returned for correction, with the regulator's reasons.
    assert sync(env, "applications")["followed"][0]["status"] == "returned"
    returned = requests.get(app_url, headers=g.headers("developer"), timeout=10).json()
    assert returned["status"] == "returned" and returned["reasons"][0]["code"] == "contact_unverified"
    assert requests.get(app_url, headers=g.headers("developer"), timeout=10).status_code == 200
    corrected = requests.post(f"{app_url}/corrections", headers=g.headers("developer"), timeout=60,
                              json={"contacts": [{"name": "张三", "phone": "13900139000", "id_number": ID_NUMBER}]})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "submitted" and corrected.json()["round"] == 2
    again = requests.post(f"{app_url}/corrections", headers=g.headers("developer"), json={}, timeout=30)
    assert again.status_code == 409 and again.json()["error"]["code"] == "application_not_returned"

    # Round 2 is approved; the filing reaches the registry through the feed; the package is now allowed.
    approved = sync(env, "applications")["followed"][0]
    assert approved["status"] == "approved" and approved["service_licence"].endswith("号-1A")
    assert sync(env, "filings")["records"] >= 1
    result = gate("check", "--json", str(UNFILED), env=env)
    decision = json.loads(result.stdout)
    assert decision["verdict"] == "allow", decision
    assert decision["filing"]["service_licence"] == approved["service_licence"]

    # Staff see the application in the console, without personal data.
    from gate.web.accounts import create_user
    from tests.integration.test_console_reviews import PASSWORD, signed_in

    create_user(g.engine, username="officer", role="viewer", password=PASSWORD)
    session, _ = signed_in(g, "officer")
    page = session.get(f"{g.url}/console/filing-applications?lang=en", timeout=30)
    assert page.status_code == 200 and approved["service_licence"] in page.text and "approved" in page.text
    assert ID_NUMBER not in page.text and "13900139000" not in page.text


def test_a_rejected_application(running):
    g, sandbox, env = running("--application-outcomes", "rejected", "--application-delay", "3")
    check = developer_check(g)
    created = requests.post(f"{g.url}/api/v1/filing-applications", headers=g.headers("developer"), timeout=60,
                            json={**FORM, "check_id": check["check_id"]})
    assert created.status_code == 201 and created.json()["status"] == "submitted"
    regulator_id = created.json()["regulator_id"]
    examined = requests.get(f"{sandbox.url}/v1/filings/applications/{regulator_id}",
                            headers={"X-Platform-Id": PLATFORM}, timeout=10).json()
    assert examined["status"] == "submitted"  # the regulator takes its time (--application-delay)
    deadline = time.monotonic() + 60
    while not (followed := sync(env, "applications")["followed"]):
        assert time.monotonic() < deadline, "the application was never decided"
        time.sleep(0.5)
    [rejected] = followed
    assert rejected["status"] == "rejected" and rejected["service_licence"] is None
    answer = requests.get(f"{g.url}/api/v1/filing-applications/{created.json()['application_id']}",
                          headers=g.headers("developer"), timeout=10).json()
    assert answer["reasons"][0]["code"] == "content_not_permitted"
    sync(env, "filings")
    assert json.loads(gate("check", "--json", str(UNFILED), env=env).stdout)["verdict"] == "block"
