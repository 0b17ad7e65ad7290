"""Abuse without credentials, reproduced as the outside review found it against `gate serve` (gunicorn, one worker
so its in-memory counters are the whole budget): invented API keys must not buy a client's budget, and the
expensive anonymous routes (pre-check uploads, sign-ins) are limited whatever the Authorization header says."""

import re
import secrets

import requests

from tests.integration.http_support import HELLO, multipart, start_gate_process, stop_process


def _invented_key() -> str:
    return f"gk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def test_fresh_random_key_ids_do_not_lift_the_upload_budget(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, serve_args=("--workers", "1"),
                                 env={"GATE_RATE_LIMIT_UPLOAD": "7/minute"})
    try:
        body, content_type = multipart(HELLO)
        statuses = [requests.post(f"{g.url}/precheck", data=body, timeout=30,
                                  headers={"Content-Type": content_type,
                                           "Authorization": f"Bearer {_invented_key()}"}).status_code
                    for _ in range(45)]
        assert statuses == [200] * 7 + [429] * 38
        # The certificate form is in the same budget, and a real API key does not lift it either: no API client
        # has a reason to use the pages, and the header costs nothing to send.
        real = requests.post(f"{g.url}/precheck/certificate", data={"certificate": "x"}, timeout=30,
                             headers=g.headers("store"))
        assert real.status_code == 429
        # A real key is still served by its own client budget on the API.
        assert requests.get(f"{g.url}/api/v1/badge/cn.filinggate.hello", headers=g.headers("store"),
                            timeout=30).status_code == 200
    finally:
        stop_process(proc)


def test_sign_ins_across_usernames_with_invented_keys_are_limited(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, serve_args=("--workers", "1"))
    try:
        session = requests.Session()
        page = session.get(f"{g.url}/console/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        statuses = [session.post(f"{g.url}/console/login", timeout=30,
                                 headers={"Authorization": f"Bearer {_invented_key()}"},
                                 data={"csrf_token": token, "username": f"user{i}", "password": "wrong-password-1"}
                                 ).status_code
                    for i in range(60)]
        # The default upload budget (20/minute per address) covers sign-in attempts: after 20 every one is 429.
        # Before that the address's own backoff (gate.web.login_throttle) already slows it after 10 failures.
        assert statuses[:11] == [401] * 11 and set(statuses[11:20]) <= {401, 429} and set(statuses[20:]) == {429}
    finally:
        stop_process(proc)
