"""The review workflow over HTTP on SQLite and PostgreSQL: what an approval or rejection may and may never do.
Verdicts are read back from the machine API (GET /api/v1/checks/<id>), not from the console's own pages."""

from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import select

from tests.integration.console_support import PASSWORD, served_with_reviewer
from tests.integration.console_support import signed_in as console_signed_in
from tests.integration.http_support import FILINGS, HELLO


@pytest.fixture
def served(tmp_path, database_url):
    yield from served_with_reviewer(tmp_path, database_url)


def signed_in(gate, user="rev") -> tuple[requests.Session, str]:
    return console_signed_in(gate, user)


def review(gate, session, token, check_id, outcome, comment="核实无误"):
    return session.post(f"{gate.url}/console/checks/{check_id}/review",
                        data={"csrf_token": token, "outcome": outcome, "comment": comment}, allow_redirects=False)


def api_verdict(gate, check_id):
    answer = requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("store")).json()
    # filing_number_not_shown (info) is left out: the bundled example does not show its filing number.
    return answer["verdict"], [r["code"] for r in answer["reasons"] if r["code"] != "filing_number_not_shown"]


def upload(gate, entity):
    r = gate.upload(HELLO, metadata={"developer_entity": entity})
    assert r.json()["verdict"] == "review", r.text
    return r.json()["check_id"]


def test_approve_reject_and_what_they_cover(served):
    session, token = signed_in(served)
    approved, rejected = upload(served, "甲公司"), upload(served, "乙公司")
    assert review(served, session, token, approved, "approve", comment="  ").status_code == 400  # comment required
    assert api_verdict(served, approved) == ("review", ["entity_mismatch"])
    assert review(served, session, token, approved, "approve").status_code == 302
    assert review(served, session, token, rejected, "reject").status_code == 302
    assert api_verdict(served, approved) == ("allow", ["entity_mismatch", "review_approved"])
    assert api_verdict(served, rejected) == ("block", ["entity_mismatch", "review_rejected"])
    # Settled once: a second decision on the same check is refused.
    assert review(served, session, token, approved, "reject").status_code == 409

    # The store re-sends the same upload: the review still applies. Another uploader's entity is a new check.
    again = served.upload(HELLO, metadata={"developer_entity": "甲公司"}).json()
    assert (again["check_id"], again["verdict"]) == (approved, "allow")
    assert served.upload(HELLO, metadata={"developer_entity": "丙公司"}).json()["verdict"] == "review"

    from gate.db.tables import AuditEvent

    AE = AuditEvent.__table__
    with served.engine.connect() as conn:
        events = conn.execute(select(AE.c.action, AE.c.actor).where(AE.c.action.like("review.%"))
                              .order_by(AE.c.id)).all()
    assert [tuple(e) for e in events] == [("review.approved", "staff:rev"), ("review.rejected", "staff:rev")]


def test_a_review_keeps_the_store_category_and_its_content_approval(served):
    """The re-decision a review makes is the upload's own: the store's category (step 10) stays in the record."""
    session, token = signed_in(served)
    r = served.upload(HELLO, metadata={"developer_entity": "甲公司", "category": "新闻资讯"})
    check_id = r.json()["check_id"]
    assert api_verdict(served, check_id) == ("review", ["entity_mismatch", "content_approval_missing"])
    assert review(served, session, token, check_id, "approve").status_code == 302
    assert api_verdict(served, check_id) == ("allow",
                                             ["entity_mismatch", "content_approval_missing", "review_approved"])


def test_an_approval_never_overrides_a_block(served, tmp_path):
    from gate.db.filings import import_into_database

    session, token = signed_in(served)
    check_id = upload(served, "甲公司")
    cancelled = [{**FILINGS[0], "status": "cancelled"}]
    path = tmp_path / "cancel.json"
    path.write_text(json.dumps(cancelled, ensure_ascii=False), encoding="utf-8")
    import_into_database(served.engine, [path])
    r = review(served, session, token, check_id, "approve")
    assert r.status_code == 409 and "review_blocked" in r.text
    assert api_verdict(served, check_id) == ("review", ["entity_mismatch"])  # nothing was changed
    # Re-sent after the filing was cancelled: blocks, whatever a person said before.
    assert served.upload(HELLO, metadata={"developer_entity": "甲公司"}).json()["verdict"] == "block"


def test_a_viewer_and_a_stranger_cannot_review(served):
    from gate.web.accounts import create_user

    create_user(served.engine, username="view", role="viewer", password=PASSWORD)
    check_id = upload(served, "甲公司")
    session, token = signed_in(served, "view")
    refused = review(served, session, token, check_id, "approve")
    assert refused.status_code == 403
    assert "复核员或管理员" in refused.text  # every role that may review is named (zh by default)
    stranger = requests.post(f"{served.url}/console/checks/{check_id}/review",
                             data={"outcome": "approve", "comment": "x"}, allow_redirects=False)
    assert stranger.status_code == 400  # no session, no CSRF token: refused before anything else
    assert api_verdict(served, check_id) == ("review", ["entity_mismatch"])


def test_every_page_renders_with_data(served):
    from gate.db.tables import utcnow
    from gate.web.accounts import create_user

    create_user(served.engine, username="boss", role="admin", password=PASSWORD)
    check_id = upload(served, "甲公司")
    session, token = signed_in(served, "boss")
    r = session.post(f"{served.url}/console/exemptions", data={
        "csrf_token": token, "package": "com.android.settings", "cert_sha256": "ab" * 32,
        "reason_category": "platform_component", "reason": "系统设置", "approved_by": "王敏",
        "expires_at": f"{utcnow().year + 1}-01-01"}, allow_redirects=False)
    assert r.status_code == 302, r.text
    pages = ["/console/", "/console/reviews?age=0&reason=entity", f"/console/checks/{check_id}",
             "/console/checks?verdict=review&package=hello", "/console/filings?q=hello",
             "/console/filings/京ICP备2024000001号-1A", "/console/exemptions?q=settings&state=active",
             "/console/listings?status=listed", "/console/reports", "/console/callbacks?status=pending",
             "/console/clients", "/console/?lang=en"]
    for path in pages:
        r = session.get(f"{served.url}{path}")
        assert r.status_code == 200 and "Traceback" not in r.text, (path, r.status_code)
    assert "com.android.settings" in session.get(f"{served.url}/console/exemptions").text
    bad = session.post(f"{served.url}/console/exemptions?lang=zh", data={
        "csrf_token": token, "package": "com.android.phone", "cert_sha256": "abc", "reason_category": "other",
        "reason": "x", "expires_at": f"{utcnow().year + 1}-01-01"})
    assert bad.status_code == 400 and "证书 SHA-256 须为 64 位十六进制数字" in bad.text  # in the page's language
    assert "64 hex digits" in session.post(f"{served.url}/console/exemptions?lang=en", data={
        "csrf_token": token, "package": "com.android.phone", "cert_sha256": "abc", "reason_category": "other",
        "reason": "x", "expires_at": f"{utcnow().year + 1}-01-01"}).text
    assert session.get(f"{served.url}/console/checks/chk_nope").status_code == 404
    created = session.post(f"{served.url}/console/clients", data={"csrf_token": token, "name": "新商店",
                                                                  "role": "store"})
    key = re.search(r'api_key <input class="copy" readonly value="([^"]+)"', created.text).group(1)
    assert requests.get(f"{served.url}/api/v1/checks/{check_id}",
                        headers={"Authorization": f"Bearer {key}"}).status_code == 404  # valid key, not its check


def test_times_are_beijing_time_in_time_elements(served):
    """Stored UTC is shown as Beijing time: the exemption that ends "end of day, Beijing time" on the day given,
    and the check's own time converted by the tz database (zoneinfo), not by the gate."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from gate.db.service_tables import ServiceCheck
    from gate.web.accounts import create_user

    create_user(served.engine, username="boss2", role="admin", password=PASSWORD)
    check_id = upload(served, "甲公司")
    session, token = signed_in(served, "boss2")
    year = dt.date.today().year + 1
    assert session.post(f"{served.url}/console/exemptions", data={
        "csrf_token": token, "package": "com.android.settings", "cert_sha256": "cd" * 32,
        "reason_category": "platform_component", "reason": "系统设置", "approved_by": "王敏",
        "expires_at": f"{year}-03-01"}, allow_redirects=False).status_code == 302
    page = session.get(f"{served.url}/console/exemptions").text
    assert f'<time datetime="{year}-03-01T23:59:59+08:00">{year}-03-01 23:59</time>' in page
    assert "UTC</td>" not in page

    SCT = ServiceCheck.__table__
    with served.engine.connect() as conn:
        stored = conn.execute(select(SCT.c.created_at).where(SCT.c.check_id == check_id)).scalar_one()
    stored = stored if stored.tzinfo else stored.replace(tzinfo=dt.UTC)
    local = stored.astimezone(ZoneInfo("Asia/Shanghai"))
    page = session.get(f"{served.url}/console/checks/{check_id}").text
    assert f'<time datetime="{local.isoformat(timespec="seconds")}">{local:%Y-%m-%d %H:%M}</time>' in page
    assert "北京时间" in page


def test_the_api_carries_the_review_with_iso_times(served):
    import datetime as dt

    check_id = upload(served, "甲公司")
    before = requests.get(f"{served.url}/api/v1/checks/{check_id}", headers=served.headers("store")).json()
    assert before["review"] is None
    assert dt.datetime.fromisoformat(before["checked_at"]).utcoffset() == dt.timedelta(hours=8)
    session, token = signed_in(served)
    assert review(served, session, token, check_id, "approve", comment="核实无误").status_code == 302
    answer = requests.get(f"{served.url}/api/v1/checks/{check_id}", headers=served.headers("store")).json()
    got = answer["review"]
    assert (got["outcome"], got["comment"], got["reviewer"]) == ("approved", "核实无误", "rev")
    at = dt.datetime.fromisoformat(got["at"])
    assert at.utcoffset() == dt.timedelta(hours=8)
    assert abs((at - dt.datetime.now(dt.UTC)).total_seconds()) < 120
    approved = next(r for r in answer["reasons"] if r["code"] == "review_approved")
    assert got["at"] in approved["message"]["zh"] and "UTC" not in approved["message"]["zh"]


def test_approving_a_check_the_rules_decided_says_so(served):
    from tests.integration.http_support import APKS

    blocked = served.upload(APKS / "key_ec256.apk").json()  # not filed: blocked by the rules
    assert blocked["verdict"] == "block"
    session, token = signed_in(served)
    r = review(served, session, token, blocked["check_id"], "approve")
    assert r.status_code == 409 and "不需要人工复核" in r.text and "他人" not in r.text
    assert api_verdict(served, blocked["check_id"])[0] == "block"
