"""The console's request rules that need no database: cookie flags, sign-in redirects, CSRF before anything, the
language switch (Flask's test client; no socket, no database — nobody is signed in)."""

from __future__ import annotations

import pytest

from gate.api.app import create_app
from gate.config import Settings


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'never-opened.db'}", log_format="text"))
    return app.test_client()


def _cookie(response, name):
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}="))


@pytest.mark.parametrize("base, secure", [("https://gate.example.cn", True), ("http://gate.example.cn", True),
                                          ("http://127.0.0.1:8000", False), ("http://[::1]:8000", False),
                                          ("http://localhost:8000", False)])
def test_cookies_are_secure_except_plain_http_on_loopback(client, base, secure):
    r = client.get("/console/login", base_url=base)
    cookie = _cookie(r, "gate_login_csrf")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert ("Secure" in cookie) is secure


def test_signed_out_is_sent_to_sign_in_and_forms_need_their_token(client):
    r = client.get("/console/reviews")
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login?next=")
    r = client.post("/console/checks/chk_x/review", data={"outcome": "approve", "comment": "x"})
    assert r.status_code == 400 and "csrf_invalid" in r.text and "<html" in r.text
    r = client.post("/console/login", data={"username": "a", "password": "b", "csrf_token": "forged"},
                    headers={"Cookie": "gate_login_csrf=other"})
    assert r.status_code == 400 and "csrf_invalid" in r.text


def test_language_switch_and_security_headers(client):
    zh = client.get("/console/login")
    assert '<html lang="zh-CN">' in zh.text and "登录控制台" in zh.text
    en = client.get("/console/login?lang=en")
    assert '<html lang="en">' in en.text and "Sign in to the console" in en.text
    assert "gate_lang=en" in _cookie(en, "gate_lang")
    assert "'unsafe-inline'" not in en.headers["Content-Security-Policy"]  # console pages have no inline code
    assert en.headers["X-Frame-Options"] == "DENY" and en.headers["Cache-Control"] == "no-store"
