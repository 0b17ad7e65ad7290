"""A reviewer files on a developer's behalf (代为备案) from the check of the developer's package: the form is the
API's (pre-filled from the verified package, the same pre-submission checks, personal data sealed), the check's
client is the applicant and the reviewer is in the audit trail. Values are compared with apksigner's record."""

from __future__ import annotations

import base64
import json
import os

import pytest
from sqlalchemy import select

from tests.integration.http_support import APKS, ORACLE, start_gate
from tests.integration.test_console_reviews import PASSWORD, signed_in

TINY = APKS / "v2_only.apk"  # verified by apksigner, not in the test registry: unfiled


@pytest.fixture
def served(tmp_path, database_url):
    from gate.web.accounts import create_user

    gate, server = start_gate(tmp_path, database_url, pii_key=base64.b64encode(os.urandom(32)).decode())
    create_user(gate.engine, username="rev", role="reviewer", password=PASSWORD)
    create_user(gate.engine, username="view", role="viewer", password=PASSWORD)
    _file_the_website(gate.engine, tmp_path)
    yield gate
    server.shutdown()
    gate.engine.dispose()


def _file_the_website(engine, tmp_path) -> None:
    """The domain the package contacts is covered by another filing of the same unit (its website's)."""
    from gate.db.filings import import_into_database

    website = {"service_licence": "京ICP备2024000009号-2A", "service_type": "app", "service_name": "门禁官网",
               "unit_name": "微小门禁科技有限公司", "status": "active",
               "platforms": [{"platform": "android", "identifier": "cn.filinggate.site",
                              "signature_md5": "0" * 32}], "domains": ["filinggate.cn"]}
    path = tmp_path / "website.json"
    path.write_text(json.dumps([website], ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])


def _unfiled_check(gate) -> str:
    r = gate.upload(TINY, metadata={"developer_entity": "微小门禁科技有限公司"})
    assert r.json()["verdict"] == "block" and "unfiled" in [x["code"] for x in r.json()["reasons"]], r.text
    return r.json()["check_id"]


def test_a_reviewer_files_for_the_developer_from_the_check(served):
    from gate.db.application_tables import FilingApplication
    from gate.db.tables import AuditEvent

    check_id = _unfiled_check(served)
    session, token = signed_in(served)
    check_page = session.get(f"{served.url}/console/checks/{check_id}").text
    assert f"/console/checks/{check_id}/apply" in check_page
    form = session.get(f"{served.url}/console/checks/{check_id}/apply").text
    signer = ORACLE["v2_only.apk"]["apksigner"]["signers"][0]
    assert signer["cert_md5"] in form and ORACLE["v2_only.apk"]["aapt"]["package"] in form

    fields = {"csrf_token": token, "service_name": "Tiny Gate", "unit_name": "微小门禁科技有限公司",
              "unit_nature": "企业", "content_approvals": "", "contact_name": "张三", "contact_phone": "13800000000",
              "contact_email": "", "contact_id_number": "11010519491231002X"}
    refused = session.post(f"{served.url}/console/checks/{check_id}/apply",
                           data={**fields, "service_name": "完全不同的名字"}, allow_redirects=False)
    assert refused.status_code == 422 and "name_mismatch" in refused.text and "服务名称与应用名称不相符" in refused.text
    assert "11010519491231002X" not in refused.text  # personal data is not echoed back
    done = session.post(f"{served.url}/console/checks/{check_id}/apply", data=fields, allow_redirects=False)
    assert done.status_code == 302, done.text
    listed = session.get(f"{served.url}{done.headers['Location']}").text
    assert "Tiny Gate" in listed and "11010519491231002X" not in listed

    T, E = FilingApplication.__table__, AuditEvent.__table__
    with served.engine.connect() as conn:
        row = conn.execute(select(T)).one()
        actors = conn.execute(select(E.c.actor).where(E.c.action == "application.created")).scalars().all()
    assert (row.status, row.identifier, row.check_id) == ("pending", "cn.filinggate.tiny", check_id)
    sealed = base64.b64decode(row.body_sealed)  # AES-GCM under GATE_PII_KEY: nothing of the form in the clear
    assert b"11010519491231002X" not in sealed and "张三".encode() not in sealed
    assert actors == ["staff:rev"]


def test_a_viewer_cannot_file_and_a_form_without_its_token_is_refused(served):
    check_id = _unfiled_check(served)
    viewer, token = signed_in(served, user="view")
    assert "/apply" not in viewer.get(f"{served.url}/console/checks/{check_id}").text
    assert viewer.get(f"{served.url}/console/checks/{check_id}/apply").status_code == 403
    reviewer, _ = signed_in(served)
    no_token = reviewer.post(f"{served.url}/console/checks/{check_id}/apply",
                             data={"service_name": "Tiny Gate"}, allow_redirects=False)
    assert no_token.status_code == 400
