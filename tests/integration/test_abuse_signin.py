"""Guessing staff passwords, reproduced as the outside review found it: parallel wrong passwords against `gate serve`
(gunicorn, two processes of eight threads) on PostgreSQL, and one address guessing across usernames.

Policy under test (gate.web.accounts, gate.web.login_throttle; docs/security.md): a delay that doubles, never a
lock — so no one can keep staff out, and no burst of parallel guesses gets more than the free tries checked."""

from __future__ import annotations

import concurrent.futures
import json
import re
import time

import requests
from sqlalchemy import select

from gate.db.console_tables import StaffUser
from gate.db.tables import AuditEvent, as_utc, utcnow
from gate.web import accounts, login_throttle
from tests.integration.http_support import start_gate_process, stop_process

PASSWORD = "the right password 1"


def _login_form(url: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{url}/console/login", timeout=30)
    return session, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _attempt(url, session, token, username, password, address: str | None = None) -> int:
    # ``address``: the caller's address as a trusted proxy forwards it (the gate runs with GATE_PROXY_HOPS=1 then).
    headers = {"X-Forwarded-For": address} if address else {}
    return session.post(f"{url}/console/login", data={"csrf_token": token, "username": username,
                                                      "password": password},
                        headers=headers, allow_redirects=False, timeout=60).status_code


def _whys(engine, username: str) -> list:
    AE = AuditEvent.__table__
    with engine.connect() as conn:
        return [json.loads(d)["why"] for d in conn.execute(
            select(AE.c.details).where(AE.c.action == "console.login", AE.c.subject == username)
            .order_by(AE.c.id)).scalars()]


def test_fourteen_parallel_wrong_passwords_on_postgresql(tmp_path, postgres_url):
    g, proc = start_gate_process(tmp_path, postgres_url, serve_args=("--workers", "2", "--threads", "8"),
                                 env={"GATE_RATE_LIMIT_UPLOAD": "100/minute", "GATE_PROXY_HOPS": "1"})
    try:
        accounts.create_user(g.engine, username="li.hua", role="reviewer", password=PASSWORD)
        session, token = _login_form(g.url)
        with concurrent.futures.ThreadPoolExecutor(14) as pool:
            # Guesses at one account from 14 addresses (what the account's own backoff is for), so the per-address
            # throttle, counted in each worker process's memory, is not what answers them.
            statuses = list(pool.map(lambda i: _attempt(g.url, session, token, "li.hua", "a wrong guess!",
                                                        f"203.0.113.{i + 1}"), range(14)))
        assert set(statuses) == {401}
        U = StaffUser.__table__
        with g.engine.connect() as conn:
            failed, until = conn.execute(select(U.c.failed_logins, U.c.locked_until)
                                         .where(U.c.username == "li.hua")).one()
        whys = _whys(g.engine, "li.hua")
        checked = whys.count("wrong_password")
        # Every try was claimed in one UPDATE before its password was checked: the count is exactly the tries that
        # were checked (the read-add-write race left it at 2 after 14), the free tries were checked and the rest
        # were turned away unchecked — but for one that arrived after the 4 s wait, on a loaded machine.
        assert failed == checked and accounts.FREE_TRIES <= checked <= accounts.FREE_TRIES + 1
        assert whys.count("delayed") == 14 - checked and len(whys) == 14
        # The right password during the wait is refused (the account waits) ... On a loaded machine the 14 tries
        # can outlast the 4 s wait; then the right password is simply taken, which is the other half of the rule.
        waiting = (as_utc(until) - utcnow()).total_seconds() > 1.0
        answer = _attempt(g.url, session, token, "li.hua", PASSWORD, "198.51.100.1")
        if waiting:
            assert answer == 401 and _whys(g.engine, "li.hua")[-1] == "delayed"
            # ... and after the wait it signs in: a delay, not a lock anyone could keep closed.
            time.sleep(max(0.0, (as_utc(until) - utcnow()).total_seconds()) + 0.5)
            answer = _attempt(g.url, session, token, "li.hua", PASSWORD, "198.51.100.1")
        assert answer == 302
    finally:
        stop_process(proc)


def test_one_address_guessing_across_usernames_waits(tmp_path, sqlite_url):
    g, proc = start_gate_process(tmp_path, sqlite_url, serve_args=("--workers", "1"),
                                 env={"GATE_RATE_LIMIT_UPLOAD": "1000/minute"})
    try:
        accounts.create_user(g.engine, username="wang.fang", role="viewer", password=PASSWORD)
        session, token = _login_form(g.url)
        started = time.monotonic()
        statuses = [_attempt(g.url, session, token, f"user{i}", "password1234") for i in range(30)]
        elapsed = time.monotonic() - started
        free = login_throttle.FREE_FAILURES
        # The free failures are answered; then the address waits 4 s, 8 s, ...: within the few seconds the loop
        # takes, at most one more guess gets through.
        assert statuses[:free + 1] == [401] * (free + 1)
        assert statuses.count(401) <= free + 1 + int(elapsed // login_throttle.FIRST_DELAY_SECONDS)
        refused = statuses[free + 1:]
        assert refused.count(429) >= len(refused) - int(elapsed // login_throttle.FIRST_DELAY_SECONDS)
        # Waiting is per address: the account itself has no failures and signs in from elsewhere at once.
        assert accounts.sign_in(g.engine, username="wang.fang", password=PASSWORD, remote="192.0.2.1")
    finally:
        stop_process(proc)
