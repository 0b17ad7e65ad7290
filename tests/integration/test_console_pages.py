"""Console pages over HTTP on SQLite and PostgreSQL: error pages in the page's language for every status,
confirmation before destructive actions (and what they then do, read back from the API and the database),
the approver and revoker being the signed-in user."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from tests.integration.console_support import PASSWORD, signed_in
from tests.integration.http_support import start_gate


@pytest.fixture
def served(tmp_path, database_url):
    from gate.web.accounts import create_user

    gate, server = start_gate(tmp_path, database_url)
    create_user(gate.engine, username="boss", role="admin", password=PASSWORD)
    yield gate
    server.shutdown()
    gate.engine.dispose()


def test_error_pages_are_html_in_the_pages_language(served):
    session, token = signed_in(served, "boss")
    for path, status, zh, en in [("/console/no-such-page", 404, "没有这个页面", "Not found"),
                                 ("/console/checks/chk_nope", 404, "没有这条检查记录", "Not found")]:
        r = session.get(f"{served.url}{path}?lang=zh")
        assert r.status_code == status and r.headers["Content-Type"].startswith("text/html"), path
        assert "<h1>没有找到</h1>" in r.text and zh in r.text and "The request was refused" not in r.text
        r = session.get(f"{served.url}{path}?lang=en")
        assert r.status_code == status and f"<h1>{en}</h1>" in r.text
    r = session.delete(f"{served.url}/console/reviews?lang=zh")
    assert r.status_code == 405 and "<h1>不支持这种请求</h1>" in r.text
    assert requests.get(f"{served.url}/api/v1/nothing").headers["Content-Type"].startswith("application/json")


def test_rotate_and_disable_ask_first_and_name_the_consequence(served):
    session, token = signed_in(served, "boss")
    store = served.clients["store"]
    page = session.get(f"{served.url}/console/clients/{store.id}/rotate?lang=zh")
    assert page.status_code == 200 and "立即失效" in page.text and store.name in page.text
    # A POST that did not come through the confirmation changes nothing.
    r = session.post(f"{served.url}/console/clients/{store.id}/rotate", data={"csrf_token": token})
    assert r.status_code == 400 and "立即失效" in r.text
    assert served.upload().status_code == 200  # the old key still works
    r = session.post(f"{served.url}/console/clients/{store.id}/rotate", data={"csrf_token": token, "confirm": "1"})
    key = re.search(r'api_key <input class="copy" readonly value="([^"]+)"', r.text).group(1)
    assert f"<p>{store.name} (应用商店)</p>" in r.text  # the name and role of the client whose key this is
    assert served.upload().status_code == 401  # the old key is dead ...
    assert requests.get(f"{served.url}/api/v1/checks/chk_x", headers={"Authorization": f"Bearer {key}"}
                        ).status_code == 404  # ... the new one works

    dev = served.clients["developer"]
    assert "立即被拒绝" in session.get(f"{served.url}/console/clients/{dev.id}/disable").text
    r = session.post(f"{served.url}/console/clients/{dev.id}/disable", data={"csrf_token": token, "disabled": "1"})
    assert r.status_code == 400
    assert served.upload(role="developer").status_code != 401
    r = session.post(f"{served.url}/console/clients/{dev.id}/disable",
                     data={"csrf_token": token, "disabled": "1", "confirm": "1"}, allow_redirects=False)
    assert r.status_code == 302 and served.upload(role="developer").status_code == 401


def test_the_approver_and_the_revoker_are_the_signed_in_user_with_a_reason(served):
    from gate.db.tables import AuditEvent, utcnow

    session, token = signed_in(served, "boss")
    r = session.post(f"{served.url}/console/exemptions", data={
        "csrf_token": token, "package": "com.android.settings", "cert_sha256": "ab" * 32,
        "reason_category": "platform_component", "reason": "系统设置", "approved_by": "someone.else",
        "expires_at": f"{utcnow().year + 1}-01-01"}, allow_redirects=False)
    assert r.status_code == 302
    listing = session.get(f"{served.url}/console/exemptions").text
    assert "someone.else" not in listing and 'data-label="批准人">boss</td>' in listing
    exemption_id = re.search(r"/console/exemptions/(\d+)/revoke", listing).group(1)
    confirm = session.get(f"{served.url}/console/exemptions/{exemption_id}/revoke").text
    assert "com.android.settings" in confirm and 'name="why"' in confirm
    r = session.post(f"{served.url}/console/exemptions/{exemption_id}/revoke",
                     data={"csrf_token": token, "confirm": "1", "why": "  "})
    assert r.status_code == 400 and "请填写撤销原因" in r.text
    r = session.post(f"{served.url}/console/exemptions/{exemption_id}/revoke",
                     data={"csrf_token": token, "confirm": "1", "why": "新版本开始联网"}, allow_redirects=False)
    assert r.status_code == 302
    AE = AuditEvent.__table__
    with served.engine.connect() as conn:
        events = conn.execute(select(AE.c.action, AE.c.actor, AE.c.details).where(AE.c.action.like("exemption.%"))
                              .order_by(AE.c.id)).all()
    assert [(e.action, e.actor) for e in events] == [("exemption.add", "staff:boss"), ("exemption.revoke", "staff:boss")]
    assert "新版本开始联网" in events[1].details


def test_the_audit_page_and_the_history_sections(served):
    from tests.integration.http_support import HELLO, HELLO_LICENCE, HELLO_PACKAGE

    session, token = signed_in(served, "boss")
    r = served.upload(HELLO, metadata={"developer_entity": "另一家公司"})
    check_id = r.json()["check_id"]
    assert session.post(f"{served.url}/console/checks/{check_id}/review", data={
        "csrf_token": token, "outcome": "approve", "comment": "已核实"}, allow_redirects=False).status_code == 302
    store = served.clients["store"]
    session.post(f"{served.url}/console/clients/{store.id}/rotate", data={"csrf_token": token, "confirm": "1"})

    page = session.get(f"{served.url}/console/audit?lang=zh").text
    assert "复核通过" in page and "轮换密钥" in page and "登录" in page
    mine = session.get(f"{served.url}/console/audit?actor=boss&action=review.approved").text
    assert mine.count("复核通过") >= 1 and "轮换密钥</td>" not in mine
    assert "没有符合筛选条件的记录" in session.get(f"{served.url}/console/audit?actor=nobody").text
    # a client's name finds its events (stored as client:<name>), the stored form typed whole finds its own
    by_store = session.get(f"{served.url}/console/audit?actor={store.name}").text
    assert f"client:{store.name}" in by_store and "staff:boss" not in by_store
    assert "复核通过" in session.get(f"{served.url}/console/audit?actor=staff:boss&action=review.approved").text
    today = dt_today_beijing()
    assert "复核通过" in session.get(f"{served.url}/console/audit?from={today}&to={today}").text

    check = session.get(f"{served.url}/console/checks/{check_id}").text
    assert 'id="history"' in check and "复核通过" in check.split('id="history"')[1]
    from urllib.parse import quote

    assert f'href="/console/filings/{quote(HELLO_LICENCE)}"' in check  # the check links to its filing
    assert f"/console/checks?package={HELLO_PACKAGE}" in check
    filing = session.get(f"{served.url}/console/filings/{HELLO_LICENCE}").text
    assert "第 1 版" in filing and "版本 #" not in filing and f"/console/checks?package={HELLO_PACKAGE}" in filing


def dt_today_beijing() -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _password_shown(html: str) -> str:
    return re.search(r'id="issued-password" value="([^"]+)"', html).group(1)


def _can_sign_in(gate, user: str, password: str) -> bool:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{gate.url}/console/login").text).group(1)
    return s.post(f"{gate.url}/console/login", data={"username": user, "password": password, "csrf_token": token},
                  allow_redirects=False).status_code == 302


def test_the_users_page_creates_resets_changes_and_disables_audited(served):
    from gate.db.tables import AuditEvent

    session, token = signed_in(served, "boss")
    created = session.post(f"{served.url}/console/users", data={"csrf_token": token, "username": "zhao.lei",
                                                                "role": "viewer"})
    first = _password_shown(created.text)
    assert _can_sign_in(served, "zhao.lei", first)
    reset = session.post(f"{served.url}/console/users/zhao.lei", data={"csrf_token": token, "action": "reset"})
    second = _password_shown(reset.text)
    assert not _can_sign_in(served, "zhao.lei", first) and _can_sign_in(served, "zhao.lei", second)
    session.post(f"{served.url}/console/users/zhao.lei", data={"csrf_token": token, "action": "role",
                                                              "role": "reviewer"})
    assert "复核员" in session.get(f"{served.url}/console/users").text.split('data-user="zhao.lei"')[1].split("</tr>")[0]
    session.post(f"{served.url}/console/users/zhao.lei", data={"csrf_token": token, "action": "disable"})
    assert not _can_sign_in(served, "zhao.lei", second)
    mine = session.post(f"{served.url}/console/users/boss", data={"csrf_token": token, "action": "disable"})
    assert mine.status_code == 400 and "不能停用自己的账号" in mine.text
    AE = AuditEvent.__table__
    with served.engine.connect() as conn:
        events = conn.execute(select(AE.c.action, AE.c.actor, AE.c.details).where(AE.c.subject == "zhao.lei",
                              AE.c.action.like("console.user%")).order_by(AE.c.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        ("console.user_create", "staff:boss"), ("console.user_password_reset", "staff:boss"),
        ("console.user_role", "staff:boss"), ("console.user_disable", "staff:boss")]
    assert '"from": "viewer"' in events[2].details and '"to": "reviewer"' in events[2].details


def test_the_dashboard_counts_beijing_days_and_today_stays_live(served):
    """Per-day counts by verdict against the decisions this test stores at known times (Beijing days computed with
    zoneinfo): a completed day and today, each decision counted where it is stored (record_check, decision_day)."""
    import datetime as dt
    import json
    from zoneinfo import ZoneInfo

    from gate.db.checks import record_check
    from gate.db.tables import Check
    from gate.decide import Decision, Policy
    from gate.extract.facts import PackageFacts

    GCT = Check.__table__
    served.upload()  # one real decision to copy
    with served.engine.begin() as conn:
        model = dict(conn.execute(select(GCT)).mappings().first())
        facts = PackageFacts.from_dict(json.loads(model["facts"]))
        blocked = Decision(path=facts.path, verdict="block", reasons=(), filing=None, package={})
        three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        for _ in range(2):
            record_check(conn, facts=facts, decision=blocked, policy=Policy(), at=three_days_ago)
    past = three_days_ago.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%m-%d")
    session, _ = signed_in(served, "boss")

    def shown() -> dict:
        page = session.get(f"{served.url}/console/").text
        return {(d, v): int(n) for d, v, n in re.findall(r"<title>(\d\d-\d\d) (\w+): (\d+)</title>", page)}

    first = shown()
    assert first[(past, "block")] == 2 and first[(today, model["verdict"])] >= 1
    served.upload(metadata={"developer_entity": "又一家公司"})  # a new decision today
    again = shown()
    assert sum(n for (d, _), n in again.items() if d == today) == sum(n for (d, _), n in first.items()
                                                                       if d == today) + 1
    assert again[(past, "block")] == 2
