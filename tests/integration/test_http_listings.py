"""Listing events, the badge and filing lookups over HTTP (stores' inventory and store-page display)."""

from __future__ import annotations

import json

import requests

from tests.integration.http_support import HELLO_LICENCE, HELLO_PACKAGE, LEGACY_PACKAGE, count


def post_events(g, events, role="store"):
    body = json.dumps({"events": events}).encode()
    return requests.post(f"{g.url}/api/v1/hooks/store/listings", data=body,
                         headers=g.signed(role, body, "application/json"))


def listings(g):
    from gate.db.service_tables import Listing

    with g.engine.connect() as conn:
        rows = conn.execute(Listing.__table__.select()).all()
    return {r.package: (r.status, r.version_code, r.listed_since.strftime("%Y-%m-%d %H:%M:%S") if r.listed_since
                        else None) for r in rows}


def test_events_move_the_inventory_forward_in_event_time(gate):
    r = post_events(gate, [
        {"package": "com.a.one", "version_code": 1, "action": "listed", "at": "2024-05-01T10:00:00+08:00"},
        {"package": "com.a.two", "version_code": 5, "action": "listed", "at": "2024-05-01T11:00:00+08:00"},
        {"package": "com.a.one", "version_code": 2, "action": "listed", "at": "2024-05-02T10:00:00+08:00"},
    ])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "duplicates": 0, "listed": 3, "delisted": 0, "stale": 0}
    # one.listed_since stays at the first listing (02:00 UTC); an update of the version does not reset it
    assert listings(gate) == {"com.a.one": ("listed", 2, "2024-05-01 02:00:00"),
                              "com.a.two": ("listed", 5, "2024-05-01 03:00:00")}
    r = post_events(gate, [
        {"package": "com.a.two", "action": "delisted", "at": "2024-05-03T00:00:00Z"},
        {"package": "com.a.one", "version_code": 0, "action": "delisted", "at": "2024-04-01T00:00:00Z"},  # late
    ])
    assert r.json() == {"accepted": 2, "duplicates": 0, "listed": 0, "delisted": 1, "stale": 1}
    assert listings(gate)["com.a.two"] == ("delisted", None, None)
    assert listings(gate)["com.a.one"][0] == "listed"
    assert count(gate.engine, "listing_event") == 5  # every event is kept for the report, stale ones too


def test_a_resent_batch_records_nothing_twice(gate):
    # Stores retry a webhook that timed out: the same events arrive again (with a fresh signature).
    batch = [{"package": "com.a.one", "version_code": 1, "action": "listed", "at": "2024-05-01T10:00:00+08:00"},
             {"package": "com.a.two", "version_code": 1, "action": "listed", "at": "2024-05-01T10:00:00+08:00"}]
    assert post_events(gate, batch).json()["duplicates"] == 0
    again = post_events(gate, batch + [{"package": "com.a.two", "action": "delisted",
                                        "at": "2024-05-02T10:00:00+08:00"}])
    assert again.json() == {"accepted": 3, "duplicates": 2, "listed": 0, "delisted": 1, "stale": 0}
    # The same instant written with another offset is the same event.
    same = [{"package": "com.a.one", "version_code": 1, "action": "listed", "at": "2024-05-01T02:00:00Z"}]
    assert post_events(gate, same).json()["duplicates"] == 1
    assert count(gate.engine, "listing_event") == 3


def test_event_validation_and_signature(gate):
    bad = [({"package": "nodots", "action": "listed", "at": "2024-05-01T10:00:00+08:00"}, "event_invalid"),
           ({"package": "com.a.b", "action": "sold", "at": "2024-05-01T10:00:00+08:00"}, "event_invalid"),
           ({"package": "com.a.b", "action": "listed", "at": "2024-05-01T10:00:00"}, "event_invalid"),  # no offset
           ({"package": "com.a.b", "action": "listed", "at": "2024-05-01T10:00:00Z", "version_code": -1},
            "event_invalid")]
    for event, code in bad:
        r = post_events(gate, [event])
        assert r.status_code == 400 and r.json()["error"]["code"] == code, event
    body = b'{"events": []}'
    r = requests.post(f"{gate.url}/api/v1/hooks/store/listings", data=body,
                      headers=gate.headers("store", **{"Content-Type": "application/json"}))
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_missing"
    assert post_events(gate, [], role="oem").status_code == 403
    assert count(gate.engine, "listing_event") == 0


def test_badge_json_and_html(gate):
    r = requests.get(f"{gate.url}/api/v1/badge/{HELLO_PACKAGE}", headers=gate.headers("store"))
    assert r.status_code == 200
    assert r.json()["service_licence"] == HELLO_LICENCE and r.json()["link"] == "https://beian.miit.gov.cn/"
    html = requests.get(f"{gate.url}/api/v1/badge/{HELLO_PACKAGE}?format=html", headers=gate.headers("store"))
    assert html.headers["Content-Type"].startswith("text/html")
    assert HELLO_LICENCE in html.text and 'href="https://beian.miit.gov.cn/"' in html.text
    by_accept = requests.get(f"{gate.url}/api/v1/badge/{HELLO_PACKAGE}",
                             headers=gate.headers("store", Accept="text/html"))
    assert by_accept.headers["Content-Type"].startswith("text/html")
    # A cancelled filing gets no badge: showing it would tell users the app is filed.
    r = requests.get(f"{gate.url}/api/v1/badge/{LEGACY_PACKAGE}", headers=gate.headers("store"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "filing_not_found"


def test_filing_lookup(gate):
    r = requests.get(f"{gate.url}/api/v1/filings/{HELLO_LICENCE}", headers=gate.headers("developer"))
    assert r.status_code == 200
    assert r.json()["service_licence"] == HELLO_LICENCE
    assert r.json()["platforms"][0]["identifier"] == HELLO_PACKAGE
    r = requests.get(f"{gate.url}/api/v1/filings/京ICP备2099999999号-9A", headers=gate.headers("oem"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "filing_not_found"
