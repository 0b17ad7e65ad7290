"""The staff console in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

One gate on loopback (SQLite) for the module; each test signs in its own browser context. Expected values come
from outside the console: certificate digests from apksigner (oracle.json), the callback signature recomputed
here with hmac/hashlib, verdicts from the HTTP API.
Set GATE_CONSOLE_SCREENSHOTS=DIR to also save the screenshots docs/console.md shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import pathlib
import re

import pytest
import requests

from tests import requirements
from tests.integration.console_support import CHROMIUM, PASSWORD, chromium
from tests.integration.http_support import HELLO, ORACLE, start_gate, wait_for
from tests.loopback_store import StoreEndpoint

pytestmark = requirements.needs_files(CHROMIUM, how="apt-get install chromium (Playwright drives Debian's browser)")
TINY = "key_ec256.apk"
TINY_PACKAGE = ORACLE[TINY]["aapt"]["package"]
TINY_SHA256 = ORACLE[TINY]["apksigner"]["signers"][0]["cert_sha256"]
SHOTS = os.environ.get("GATE_CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="module")
def receiver():
    with StoreEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def console(tmp_path_factory, receiver):
    from sqlalchemy import update

    from gate.db.service_tables import ApiClient
    from gate.web.accounts import create_user

    tmp = tmp_path_factory.mktemp("console")
    gate, server = start_gate(tmp, f"sqlite:///{tmp / 'gate.db'}", fetch_allow_http=True,
                              fetch_allow_networks="127.0.0.0/8")
    with gate.engine.begin() as conn:  # the store receives its callbacks at the loopback receiver
        conn.execute(update(ApiClient.__table__).where(ApiClient.__table__.c.id == gate.clients["store"].id)
                     .values(callback_url=receiver.url))
    for name, role in (("admin1", "admin"), ("reviewer1", "reviewer"), ("viewer1", "viewer"), ("locked1", "viewer")):
        create_user(gate.engine, username=name, role=role, password=PASSWORD)
    yield gate
    server.shutdown()
    gate.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page, gate, user: str, password: str = PASSWORD, then: str = "/console/"):
    page.goto(f"{gate.url}/console/login?next={then}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(pathlib.Path(SHOTS) / name), full_page=False)


def queue_review(gate, entity: str) -> str:
    """A store upload the engine answers `review` (the uploader's entity is not the filing's unit)."""
    r = gate.upload(HELLO, metadata={"developer_entity": entity})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "review" and [x["code"] for x in r.json()["reasons"]
                                                 if x["code"] != "filing_number_not_shown"] == ["entity_mismatch"]
    return r.json()["check_id"]


def test_sign_in_sets_safe_cookies_and_sign_out_ends_the_session(page, console):
    page.goto(f"{console.url}/console/reviews")
    assert "/console/login" in page.url  # signed out: sent to the sign-in page
    sign_in(page, console, "viewer1")
    assert page.url.endswith("/console/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "gate_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    page.click("text=退出")
    page.wait_for_load_state()
    assert "/console/login" in page.url
    page.context.add_cookies([{**cookie}])  # the old cookie is dead on the server, not only in the browser
    page.goto(f"{console.url}/console/reviews")
    assert "/console/login" in page.url


def test_approve_a_review_sends_a_signed_callback(page, console, receiver):
    from gate.services.callbacks import deliver_due

    check_id = queue_review(console, "另一家科技有限公司")
    sign_in(page, console, "reviewer1", then="/console/reviews")
    assert page.locator("#queue").is_visible()
    shot(page, "console-queue.png")
    page.click(f"a[href$='{check_id}']")
    page.wait_for_load_state()
    assert page.locator("tr.diff", has_text="另一家科技有限公司").is_visible()  # the entity differs: highlighted
    shot(page, "console-check.png")
    page.click("button[value=approve]")  # no comment: the browser's own required-field check stops it
    assert "/review" not in page.url
    page.fill("textarea[name=comment]", "主办单位变更已核实（附营业执照）")
    page.click("button[value=approve]")
    page.wait_for_load_state()
    assert page.locator(".review.approved").is_visible()
    assert "主办单位变更已核实" in page.locator(".review.approved").inner_text()
    assert "待发送" in page.locator(".notice").inner_text()  # not "notified": the callback has not gone yet

    # The API answers the settled decision now, citing the reviewer.
    answer = requests.get(f"{console.url}/api/v1/checks/{check_id}", headers=console.headers("store")).json()
    assert answer["verdict"] == "allow"
    assert [r["code"] for r in answer["reasons"]
            if r["code"] != "filing_number_not_shown"] == ["entity_mismatch", "review_approved"]

    before = len(receiver.received)
    deliver_due(console.engine, policy=_fetch_policy(console), backoff_seconds=1, max_attempts=3, timeout=5)
    headers, body = wait_for(lambda: receiver.received[before:] and receiver.received[-1], what="callback")
    event = json.loads(body)
    assert headers["X-Gate-Event"] == "check.reviewed" and event["event"] == "check.reviewed"
    assert (event["check_id"], event["verdict"], event["review"]["reviewer"]) == (check_id, "allow", "reviewer1")
    t, mac = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["X-Gate-Signature"]).groups()
    expected = hmac.new(console.clients["store"].webhook_secret.encode(), f"{t}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    page.reload()
    # The delivery is shown on the check, and only now does the page say the store was told.
    assert page.locator("tr", has_text="复核完成").locator("td", has_text="已送达").is_visible()
    assert "已通知商店" in page.locator(".notice").inner_text()


def _fetch_policy(gate):
    from gate.services.fetch import FetchPolicy, parse_networks

    return FetchPolicy(max_bytes=1 << 20, allow_http=True, allow_networks=parse_networks("127.0.0.0/8"))


def test_a_viewer_cannot_approve(page, console):
    check_id = queue_review(console, "第三家有限公司")
    sign_in(page, console, "viewer1", then=f"/console/checks/{check_id}")
    assert page.locator("button[value=approve]").count() == 0
    # A hand-made form with the viewer's own valid CSRF token still cannot approve.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate("""async ([url, token]) => {
        const body = new URLSearchParams({csrf_token: token, outcome: "approve", comment: "x"});
        return (await fetch(url, {method: "POST", body})).status; }""",
                           [f"{console.url}/console/checks/{check_id}/review", token])
    assert status == 403
    answer = requests.get(f"{console.url}/api/v1/checks/{check_id}", headers=console.headers("store")).json()
    assert answer["verdict"] == "review"


def test_a_form_without_its_csrf_token_is_refused(page, console):
    sign_in(page, console, "admin1", then="/console/exemptions")
    for fields in ({}, {"csrf_token": "forged"}):
        status = page.evaluate("""async ([url, fields]) => {
            const body = new URLSearchParams({package: "com.android.phone", cert_sha256: "ab".repeat(32),
                reason_category: "platform_component", reason: "x", expires_at: "2099-01-01", ...fields});
            return (await fetch(url, {method: "POST", body})).status; }""",
                               [f"{console.url}/console/exemptions", fields])
        assert status == 400
    page.reload()
    assert "com.android.phone" not in page.content()


def test_an_account_after_five_wrong_passwords_waits(page, console):
    from sqlalchemy import select

    from gate.db.tables import AuditEvent

    for _ in range(5):
        sign_in(page, console, "locked1", "wrong password!")
        assert page.locator(".alert").is_visible()
    sign_in(page, console, "locked1")  # the right password, within the 4 s wait (gate.web.accounts)
    assert "/console/login" in page.url and page.locator(".alert").is_visible()
    page.goto(f"{console.url}/console/")
    assert "/console/login" in page.url
    AE = AuditEvent.__table__
    with console.engine.connect() as conn:
        attempts = [json.loads(d) for d in conn.execute(
            select(AE.c.details).where(AE.c.action == "console.login", AE.c.subject == "locked1")
            .order_by(AE.c.id)).scalars()]
    assert [a["why"] for a in attempts] == ["wrong_password"] * 5 + ["delayed"]


def test_an_exemption_passes_a_platform_component_and_an_expired_one_does_not(page, console):
    from sqlalchemy import update

    from gate.db.console_tables import Exemption

    def preinstall_verdict():
        r = requests.post(f"{console.url}/api/v1/preinstall/checks", headers=console.headers("oem"),
                          json={"items": [{"package": TINY_PACKAGE, "cert_sha256": TINY_SHA256}]})
        item = r.json()["items"][0]
        return item["verdict"], [x["code"] for x in item["reasons"]]

    assert preinstall_verdict() == ("block", ["unfiled"])
    sign_in(page, console, "admin1", then="/console/exemptions")
    page.fill("input[name=package]", TINY_PACKAGE)
    page.fill("input[name=cert_sha256]", TINY_SHA256.upper())
    page.select_option("select[name=reason_category]", "platform_component")
    page.fill("textarea[name=reason]", "系统设置组件，不提供互联网信息服务")
    page.fill("input[name=expires_at]", (dt.date.today() + dt.timedelta(days=90)).isoformat())
    page.click("text=登记豁免")
    page.wait_for_load_state()
    row = page.locator("#exemptions tr", has_text=TINY_PACKAGE)
    assert row.is_visible() and "生效" in row.inner_text()
    shot(page, "console-exemptions.png")
    assert preinstall_verdict() == ("allow", ["exempted"])

    with console.engine.begin() as conn:  # the same exemption, past its expiry
        conn.execute(update(Exemption.__table__).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert preinstall_verdict() == ("block", ["unfiled"])
    page.reload()
    assert "已过期" in page.locator("#exemptions tr", has_text=TINY_PACKAGE).inner_text()


def test_chinese_by_default_english_on_request(page, console):
    sign_in(page, console, "viewer1")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("nav >> text=复核队列").is_visible()
    shot(page, "console-dashboard.png")
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("nav >> text=Reviews").is_visible()
    page.goto(f"{console.url}/console/reviews")  # the choice is remembered
    assert page.locator("h1", has_text="Review queue").is_visible()
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.locator("h1", has_text="复核队列").is_visible()


def test_phone_sized_viewport_renders_the_queue(browser, console):
    queue_review(console, "手机测试有限公司")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        sign_in(page, console, "reviewer1", then="/console/reviews")
        assert page.locator("#queue").is_visible()
        assert page.locator("#queue a.button").first.is_visible()
        # The page itself never scrolls sideways; only the table's own box may.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        if SHOTS:
            page.screenshot(path=str(pathlib.Path(SHOTS) / "console-phone.png"))
    finally:
        context.close()


def test_precheck_upload_by_drag_and_drop_with_a_progress_bar(page, console, monkeypatch):
    import base64
    import threading

    from gate.services import checks

    # The check is held until the bar has been seen at 100% (on loopback the whole answer takes milliseconds).
    seen, original = threading.Event(), checks.check_unregistered
    monkeypatch.setattr(checks, "check_unregistered", lambda *a, **k: (seen.wait(30), original(*a, **k))[1])
    page.goto(f"{console.url}/?lang=en")
    data = base64.b64encode(HELLO.read_bytes()).decode()
    page.evaluate("""([name, data]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: "application/vnd.android.package-archive"}));
        const drop = document.getElementById("drop");
        drop.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
        drop.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", [HELLO.name, data])
    assert page.locator("#progress").is_visible()
    bar = wait_for(lambda: page.evaluate("() => document.getElementById('bar').value") == 100 or None,
                   timeout=20, what="the progress bar to reach 100%")
    assert bar and "checking" in page.inner_text("#progress-text")
    shot(page, "precheck-progress.png")
    seen.set()
    page.wait_for_selector("#domains", timeout=60_000)  # the result page replaced the form
    expected = ORACLE[HELLO.name]
    assert page.input_value("#f-package") == expected["aapt"]["package"]
    assert page.input_value("#f-md5-1") == expected["apksigner"]["signers"][0]["cert_md5"]
    assert page.locator(".verdict").first.inner_text().strip() in ("allow", "review", "block")
    assert page.locator("button[data-copy=f-md5-1]").is_visible()
    assert page.locator("#domains tbody tr").count() >= 1
    shot(page, "precheck-result.png")
