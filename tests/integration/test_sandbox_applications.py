"""The application endpoints of the sandbox regulator through our client: signatures, replays, conflicts, rounds,
another platform's application, and the approval published to the feed."""

from __future__ import annotations

import json

import pytest
import requests

from gate.sync.errors import RegulatorError
from gate.sync.sandbox.applications import ApplicationScript
from gate.sync.sandbox.server import SandboxConfig, running_sandbox
from tests.integration.sandbox_support import SECRET, make_client

BODY = {"platform": "android", "identifier": "cn.example.app", "public_key": "ab" * 8, "signature_md5": "0" * 32,
        "service_name": "示例", "unit_name": "示例科技有限公司", "domains": ["example.cn"], "content_approvals": [],
        "contacts": [{"name": "张三", "phone": "13800138000"}], "applicant": "dev"}


def raw(**change) -> bytes:
    return json.dumps({**BODY, **change}, ensure_ascii=False).encode()


@pytest.fixture
def sandbox(tmp_path):
    config = SandboxConfig(secret=SECRET, db_path=str(tmp_path / "regulator.sqlite3"),
                           applications=ApplicationScript(("returned", "approved")))
    with running_sandbox(config) as server:
        yield server


def test_rounds_replays_conflicts_and_the_feed(sandbox):
    client = make_client(sandbox.url, [])
    first = client.submit_application(raw(), "k1")
    assert first["status"] == "submitted" and not first["replayed"]
    assert client.submit_application(raw(), "k1") == {**first, "replayed": True}
    with pytest.raises(RegulatorError) as reused:
        client.submit_application(raw(service_name="别的"), "k1")
    assert reused.value.remote_code == "idempotency_key_reused"
    with pytest.raises(RegulatorError) as unsigned:
        make_client(sandbox.url, [], secret="wrong").submit_application(raw(), "k2")
    assert unsigned.value.remote_code == "signature_invalid"
    with pytest.raises(RegulatorError) as incomplete:
        client.submit_application(json.dumps({"platform": "android"}).encode(), "k3")
    assert incomplete.value.remote_code == "application_invalid"

    regulator_id = first["application_id"]
    returned = client.application_status(regulator_id)
    assert returned["status"] == "returned" and returned["reasons"][0]["code"] == "contact_unverified"
    with pytest.raises(RegulatorError) as foreign:
        make_client(sandbox.url, [], platform_id="store-002").application_status(regulator_id)
    assert foreign.value.remote_code == "application_not_found"
    corrected = client.submit_application(raw(contacts=[{"name": "张三", "phone": "13900139000"}]), "k1-r2",
                                          regulator_id=regulator_id)
    assert corrected == {"application_id": regulator_id, "status": "submitted", "replayed": False}
    approved = client.application_status(regulator_id)
    assert approved["status"] == "approved" and approved["service_licence"].endswith("号-1A")
    with pytest.raises(RegulatorError) as closed:
        client.submit_application(raw(), "k1-r3", regulator_id=regulator_id)
    assert closed.value.remote_code == "application_not_returned"

    page = client.fetch_feed(None)
    [record] = [r for r in page.records if r["service_licence"] == approved["service_licence"]]
    assert record["platforms"][0]["identifier"] == "cn.example.app" and record["status"] == "active"
    listed = requests.get(f"{sandbox.url}/_sandbox/applications", timeout=10).json()["applications"]
    assert [a["status"] for a in listed] == ["approved"]
