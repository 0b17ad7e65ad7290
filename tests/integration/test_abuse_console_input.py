"""The console against hostile input, as the outside review found it: a NUL in every list page's filters (a 500 on
PostgreSQL), and a sign-in form that took an attacker-chosen CSRF cookie as long as the form token matched it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import requests

from gate.web import kit
from gate.web.accounts import create_user
from tests.integration.http_support import serve, start_gate

PASSWORD = "correct horse battery"
FILTERED_PAGES = [  # every filter of the console's list pages (the review tried these eight)
    "/console/checks?verdict=%00", "/console/checks?package=%00&reason=x%00y",
    "/console/filings?q=%00", "/console/listings?package=%00", "/console/listings?status=%00",
    "/console/callbacks?status=%00", "/console/reviews?reason=%00", "/console/exemptions?q=%00&state=active",
    "/console/exemptions?state=%00", "/console/filing-applications?status=%00",
    "/console/filing-applications?package=%00", "/console/reports?%00=1",
]


@pytest.fixture
def served(tmp_path, database_url):
    gate, server = start_gate(tmp_path, database_url)
    create_user(gate.engine, username="boss", role="admin", password=PASSWORD)
    yield gate
    server.shutdown()
    gate.engine.dispose()


def _form(url: str, session: requests.Session | None = None) -> tuple[requests.Session, str]:
    session = session or requests.Session()
    page = session.get(f"{url}/console/login", timeout=30)
    return session, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _sign_in(url, session, token, **headers):
    return session.post(f"{url}/console/login", data={"csrf_token": token, "username": "boss",
                                                      "password": PASSWORD},
                        headers=headers, allow_redirects=False, timeout=30)


def test_nul_in_console_filters_is_a_clean_400_page(served):
    session, token = _form(served.url)
    assert _sign_in(served.url, session, token).status_code == 302
    for path in FILTERED_PAGES:
        for lang, words in (("zh", "NUL"), ("en", "NUL character")):
            page = session.get(f"{served.url}{path}&lang={lang}", timeout=30)
            assert page.status_code == 400, (path, page.status_code, page.text[:300])
            assert "query_invalid" in page.text and words in page.text and "text/html" in page.headers["Content-Type"]
    # The same filters without the NUL still answer.
    assert session.get(f"{served.url}/console/checks?package=hello", timeout=30).status_code == 200
    # The API answers the same refusal as JSON.
    answer = requests.get(f"{served.url}/api/v1/badge/cn.filinggate.hello?x=%00", timeout=30)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "query_invalid"


def test_an_attacker_chosen_login_csrf_cookie_is_refused(served):
    # Login CSRF: a cookie planted on the victim's browser (a sibling domain, plain HTTP) with a token to match.
    planted = requests.Session()
    planted.cookies.set(kit.LOGIN_CSRF_COOKIE, "attacker-chosen-nonce-0123456789", path="/console")
    refused = _sign_in(served.url, planted, "attacker-chosen-nonce-0123456789")
    assert refused.status_code == 400 and "csrf_invalid" in refused.text
    # A token the attacker fetched for his own cookie, posted from his page: the browser names the origin.
    session, token = _form(served.url)
    assert _sign_in(served.url, session, token, Origin="https://evil.example").status_code == 400
    assert _sign_in(served.url, session, token, **{"Sec-Fetch-Site": "same-site"}).status_code == 400  # a sibling
    assert _sign_in(served.url, session, token, **{"Sec-Fetch-Site": "cross-site"}).status_code == 400
    # The server-issued pair signs in (from its own origin, or from a client that sends no Origin).
    host = served.url.split("//", 1)[1].rsplit(":", 1)[0]
    assert _sign_in(served.url, session, token, Origin=f"http://{host}:1").status_code == 302


def test_a_login_form_from_another_instance_of_the_deployment_signs_in(tmp_path, sqlite_url):
    # Two instances behind one proxy share GATE_CONSOLE_SECRET (or the database password): a form fetched from one
    # posts to the other; an instance with another secret refuses it.
    from gate.api.app import create_app

    first, server = start_gate(tmp_path, sqlite_url, console_secret="shared-secret-1")
    create_user(first.engine, username="boss", role="admin", password=PASSWORD)
    second_server, second_url = serve(create_app(replace(first.settings, console_secret="shared-secret-1")))
    other_server, other_url = serve(create_app(replace(first.settings, console_secret="another-secret")))
    try:
        session, token = _form(first.url)
        other = requests.Session()
        other.cookies.update(session.cookies)
        assert _sign_in(other_url, other, token).status_code == 400
        assert _sign_in(second_url, session, token).status_code == 302
    finally:
        for s in (server, second_server, other_server):
            s.shutdown()
