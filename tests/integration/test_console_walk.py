"""The console's walk at a store's scale, in Debian's Chromium (Playwright), on SQLite and on PostgreSQL:

250 pending items -> page to the last one by rel="next" -> claim -> approve; bulk reject of 20; rotate a store's
key through its confirmation page; the audit page shows each. Then every screen of the walk at 390 px and 1366 px
without horizontal overflow (asserted on the document's scroll width), every <time> element's datetime in Beijing
time (+08:00), and a zh-CN scan of every rendered page for raw codes, English-only words and UTC times. Verdicts are read back from the machine API; the queue's order from
the generator (tests/integration/console_support.fill_queue).

Set GATE_CONSOLE_SCREENSHOTS=DIR to save the screenshots docs/console.md shows.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest
import requests

from tests import requirements
from tests.integration.console_support import CHROMIUM, PASSWORD, chromium, fill_queue
from tests.integration.http_support import HELLO, start_gate

pytestmark = requirements.needs_files(CHROMIUM, how="apt-get install chromium (Playwright drives Debian's browser)")
SHOTS = os.environ.get("GATE_CONSOLE_SCREENSHOTS")
WIDTHS = (390, 1366)

# What must not be on a zh-CN page (text outside <code>, inputs and <time>, whose machine values are legitimate):
RAW_CODE = re.compile(r"(?<![\w.@/-])[a-z]+(?:_[a-z]+)+(?![\w.@/-])")  # unfiled_domain, review_not_pending …
ENGLISH_ONLY = re.compile(r"(?<![\w-])(allow|block|review|active|expired|revoked|listed|delisted|delivered|pending|"
                          r"failed|approved|rejected|viewer|reviewer|admin|Dashboard|Next|Previous|Reviews|"
                          r"Checks|Filings|Exemptions|Listings|Reports|Callbacks|Search|Filter|Sign out)(?![\w-])")
UTC_TIME = re.compile(r"UTC(?!\+8)")
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, .code, input, textarea, select, time, script, style, svg, [hidden]')
      .forEach(e => e.remove());
  return copy.innerText;
}"""


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture
def gate(tmp_path, database_url):
    from gate.web.accounts import create_user

    served, server = start_gate(tmp_path, database_url)
    create_user(served.engine, username="li", role="reviewer", password=PASSWORD)
    create_user(served.engine, username="boss", role="admin", password=PASSWORD)
    yield served
    server.shutdown()
    served.engine.dispose()


def sign_in(page, gate, user: str) -> None:
    page.goto(f"{gate.url}/console/login?next=/console/reviews")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/console/reviews" in page.url, page.url


def verdict(gate, check_id: str) -> str:
    return requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("store")).json()["verdict"]


def scan(page, problems: list, where: str) -> None:
    """Overflow and language checks of the page as it is now."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        problems.append(f"{where}: {width[0]} px wide in a {width[1]} px window")
    # Times in Beijing time: every <time> on the page carries its machine value with the +08:00 offset.
    stamps = page.evaluate("() => [...document.querySelectorAll('time')].map(t => t.getAttribute('datetime'))")
    off = sorted({s for s in stamps if not (s or "").endswith("+08:00")})
    if off:
        problems.append(f"{where}: <time> not in Beijing time {off[:3]}")
    if page.evaluate("() => document.documentElement.lang") != "zh-CN":
        return
    text = page.evaluate(VISIBLE_TEXT)
    for pattern, what in ((RAW_CODE, "raw code"), (ENGLISH_ONLY, "English-only word"), (UTC_TIME, "UTC time")):
        found = sorted(set(m.group(0) for m in pattern.finditer(text)))
        if found:
            problems.append(f"{where}: {what} {found}")


def test_the_walk_at_scale_on_phone_and_laptop(browser, gate):
    ids = fill_queue(gate, 250)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    visited: list[str] = []

    def seen() -> None:
        visited.append(page.url)

    sign_in(page, gate, "li")
    assert "251" in page.locator("h1 .count").inner_text()  # 250 copies and the real upload
    seen()
    # Page to the last one by rel="next", as a person clicking "下一页" would.
    pages = 1
    while page.locator("a[rel=next]").count():
        page.click("a[rel=next]")
        page.wait_for_load_state()
        pages += 1
        assert pages < 20
    seen()
    assert pages == 6  # 50 per page
    # The last page holds the newest item: the real upload fill_queue made after its 250 older copies.
    newest = page.locator("#queue tbody tr").last.get_attribute("data-check")
    assert newest not in ids and page.locator("#queue tbody tr").count() == 1
    page.click(f"tr[data-check='{newest}'] a.button")
    page.wait_for_load_state()
    page.click("#claim-button")
    page.wait_for_load_state()
    assert "li 正在处理这条检查" in page.locator("#claim").inner_text()
    seen()
    page.fill("textarea[name=comment]", "主办单位变更已核实")
    page.click("button[value=approve]")
    page.wait_for_load_state()
    assert page.locator(".review.approved").is_visible()
    seen()
    assert verdict(gate, newest) == "allow"

    # Bulk reject of 20 from the first page of the queue.
    page.goto(f"{gate.url}/console/reviews")
    boxes = page.locator("#queue input[type=checkbox]")
    for i in range(20):
        boxes.nth(i).check()
    page.fill("fieldset.bulk textarea[name=comment]", "批量：开发者主体与备案不符")
    page.click("fieldset.bulk button[value=reject]")
    page.wait_for_load_state()
    assert "已拒绝 20 条" in page.locator("#bulk-result").inner_text()
    seen()
    assert [verdict(gate, i) for i in ids[:20]] == ["block"] * 20 and verdict(gate, ids[20]) == "review"
    context.close()

    # An admin rotates the store's key, through the confirmation that names the consequence.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, gate, "boss")
    page.goto(f"{gate.url}/console/clients")
    seen()
    store = gate.clients["store"]
    page.click(f"a[href='/console/clients/{store.id}/rotate']")
    page.wait_for_load_state()
    assert "立即失效" in page.locator(".confirm .alert").inner_text()
    seen()
    page.click(".confirm button.danger")
    page.wait_for_load_state()
    issued = page.locator("section.notice").inner_text()
    assert store.name in issued and "只显示这一次" in issued
    new_key = page.locator("section.notice input.copy").first.input_value()
    assert requests.get(f"{gate.url}/api/v1/checks/{newest}", headers={"Authorization": f"Bearer {new_key}"}
                        ).status_code == 200  # the new key is the store's
    assert gate.upload(HELLO).status_code == 401  # the old key is dead

    page.goto(f"{gate.url}/console/audit")
    audit = page.locator("table.list").inner_text()
    for event in ("复核通过", "认领复核", "批量拒绝", "轮换密钥", "复核拒绝"):
        assert event in audit, event
    seen()
    for path in ("/console/", "/console/checks", f"/console/checks/{ids[30]}", "/console/filings",
                 "/console/exemptions", "/console/listings", "/console/reports", "/console/callbacks",
                 "/console/users", "/console/audit?action=review.approved", "/console/no-such-page"):
        visited.append(f"{gate.url}{path}")

    # Every screen at a phone's and a laptop's width: no horizontal overflow, nothing raw in zh-CN.
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 700 else 900})
        for url in dict.fromkeys(visited):
            page.goto(url)
            scan(page, problems, f"{url.removeprefix(gate.url)} at {width}")
    page.goto(f"{gate.url}/console/reviews")
    if SHOTS:
        page.set_viewport_size({"width": 1366, "height": 900})
        _shots(page, gate, ids)
    context.close()

    # The developer pre-check page, result included, in a fresh browser.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{gate.url}/precheck")
    page.set_input_files("#package", str(HELLO))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#result")
    assert "/precheck/r/" in page.url  # the address bar holds the permanent link
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        page.reload()
        page.wait_for_selector("#result")  # a reload keeps the result
        scan(page, problems, f"pre-check result at {width}")
    context.close()
    assert problems == [], "\n".join(problems)


def _shots(page, gate, ids) -> None:
    out = pathlib.Path(SHOTS)
    page.goto(f"{gate.url}/console/reviews")
    page.screenshot(path=str(out / "console-queue.png"))
    page.goto(f"{gate.url}/console/checks/{ids[40]}")
    page.screenshot(path=str(out / "console-check.png"))
    page.goto(f"{gate.url}/console/")
    page.screenshot(path=str(out / "console-dashboard.png"))
    page.goto(f"{gate.url}/console/audit")
    page.screenshot(path=str(out / "console-audit.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{gate.url}/console/reviews")
    page.screenshot(path=str(out / "console-phone.png"))
    page.set_viewport_size({"width": 1366, "height": 900})
