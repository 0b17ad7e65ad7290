"""Helpers for the console's tests: a signed-in requests session, and a review queue of many items.

``fill_queue`` uploads one real package the engine answers ``review`` (through the HTTP API), then copies its
service_check row ``n`` times with known check ids and creation times one minute apart: the expected order of
every list is known from here (the generator), not from the console.
"""

from __future__ import annotations

import datetime as dt
import re

import requests
from sqlalchemy import insert, select

from tests.integration.http_support import HELLO, start_gate

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"  # Debian's browser, driven by Playwright (never a downloaded one)


def chromium():
    """Debian's Chromium, headless, for a module's ``browser`` fixture (a generator: closed when the module ends)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                               "--disable-background-networking"])
        yield b
        b.close()


def served_with_reviewer(tmp_path, database_url: str):
    """A gate on loopback with one console reviewer, ``rev`` (PASSWORD), for a test's ``served`` fixture (a
    generator: the server stops when the test ends)."""
    from gate.web.accounts import create_user

    gate, server = start_gate(tmp_path, database_url)
    create_user(gate.engine, username="rev", role="reviewer", password=PASSWORD)
    yield gate
    server.shutdown()
    gate.engine.dispose()


def signed_in(gate, user: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    page = s.get(f"{gate.url}/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(f"{gate.url}/console/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
               allow_redirects=False)
    assert r.status_code == 302, r.text
    page = s.get(f"{gate.url}/console/reviews").text
    return s, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def fill_queue(gate, n: int, *, prefix: str = "chk_fill", start: dt.datetime | None = None,
               entity: str = "另一家科技有限公司") -> list[str]:
    """``n`` pending review items (oldest first), each a copy of one real `review` upload; returns their ids."""
    from gate.db.service_tables import ServiceCheck

    SC = ServiceCheck.__table__
    r = gate.upload(HELLO, metadata={"developer_entity": entity})
    assert r.status_code == 200 and r.json()["verdict"] == "review", r.text
    with gate.engine.begin() as conn:
        model = conn.execute(select(SC).where(SC.c.check_id == r.json()["check_id"])).mappings().one()
        start = start or dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
        ids = [f"{prefix}_{i:04d}" for i in range(n)]
        conn.execute(insert(SC), [{**model, "check_id": cid, "created_at": start + dt.timedelta(minutes=i),
                                   "updated_at": start + dt.timedelta(minutes=i)} for i, cid in enumerate(ids)])
    return ids
