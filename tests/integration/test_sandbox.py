"""The sandbox regulator over HTTP: request checks, period defects, the feed, inspection, the OpenAPI document."""

from __future__ import annotations

import io
import json

import pytest
import requests

from gate.sync.sandbox import report_stream
from gate.sync.sandbox.report_stream import ReportSyntaxError, iter_report
from gate.sync.signing import sign_body
from tests.integration.sandbox_support import PLATFORM, SECRET, make_client, report_body


def post_report(server, body: bytes, *, key: str | None = "k", platform: str | None = PLATFORM,
                signature: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if platform is not None:
        headers["X-Platform-Id"] = platform
    headers["X-Signature"] = signature if signature is not None else sign_body(SECRET, body)
    return requests.post(server.url + "/v1/reports", data=body, headers=headers, timeout=5)


def error_of(response: requests.Response) -> tuple[int, str]:
    payload = response.json()
    assert set(payload["error"]) == {"code", "message"} and payload["error"]["message"]
    return response.status_code, payload["error"]["code"]


def arrived(server, **params) -> dict:
    return requests.get(server.url + "/_sandbox/reports", params=params, timeout=5).json()


def test_signature_platform_and_key_are_required(sandbox_factory):
    server = sandbox_factory()
    body = report_body()
    assert error_of(post_report(server, body, signature="00" * 32)) == (401, "signature_invalid")
    assert error_of(post_report(server, body, signature="")) == (401, "signature_invalid")
    assert error_of(post_report(server, body + b" ", signature=sign_body(SECRET, body))) == (401, "signature_invalid")
    assert error_of(post_report(server, body, key=None)) == (400, "idempotency_key_missing")
    assert error_of(post_report(server, body, platform=None)) == (400, "platform_id_missing")
    seen = arrived(server)
    assert seen["reports"] == [] and seen["attempts"] == 5


def test_report_shape_is_checked(sandbox_factory):
    server = sandbox_factory()
    good = json.loads(report_body())
    cases = [
        (b"{not json", (400, "report_malformed")),
        (b'{"inventory": [], "inventory": []}', (400, "report_malformed")),
        (json.dumps({**good, "platform_id": "someone-else"}).encode(), (422, "platform_mismatch")),
        (json.dumps({k: v for k, v in good.items() if k != "inventory"}).encode(), (422, "report_invalid")),
        (json.dumps({**good, "period_end": good["period_start"]}).encode(), (422, "report_invalid")),
        (json.dumps({**good, "inventory": [{"identifier": "x"}]}).encode(), (422, "report_invalid")),
        (json.dumps({**good, "events": [{**good["events"][0], "action": "sold"}]}).encode(), (422, "report_invalid")),
    ]
    for number, (body, expected) in enumerate(cases):
        assert error_of(post_report(server, body, key=f"k{number}")) == expected, body
    assert arrived(server)["reports"] == []  # nothing half-recorded: items roll back with a refused report


def test_replay_answers_the_same_receipt_and_records_nothing(sandbox_factory):
    server = sandbox_factory()
    first = post_report(server, report_body(), key="once")
    again = post_report(server, report_body(), key="once")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["receipt_id"] == first.json()["receipt_id"]
    assert again.headers["Idempotent-Replayed"] == "true" and first.headers["Idempotent-Replayed"] == "false"
    seen = arrived(server)
    assert len(seen["reports"]) == 1 and seen["replays"] == 1 and seen["attempts"] == 2


def test_overlaps_and_gaps_are_counted_per_platform(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    client.submit_report(report_body(0), "d0")                  # first report: nothing to compare with
    client.submit_report(report_body(1), "d1")                  # consecutive: fine
    client.submit_report(report_body(1), "d1-again")            # same period under a new key: overlap
    client.submit_report(report_body(3), "d3")                  # day 2 never reported: gap
    other = make_client(server.url, [], platform_id="store-002")
    other.submit_report(report_body(0, platform_id="store-002"), "d0")  # another platform: independent
    seen = arrived(server, items="0")
    flags = [(r["platform_id"], r["idempotency_key"], r["overlap"], r["gap"]) for r in seen["reports"]]
    assert flags == [(PLATFORM, "d0", False, False), (PLATFORM, "d1", False, False),
                     (PLATFORM, "d1-again", True, False), (PLATFORM, "d3", False, True),
                     ("store-002", "d0", False, False)]
    assert (seen["overlaps"], seen["gaps"], seen["replays"]) == (1, 1, 0)
    assert "events" not in seen["reports"][0] and seen["reports"][0]["inventory_count"] == 2


def test_partial_overlap_across_a_longer_period(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    client.submit_report(report_body(0, days=2), "two-days")
    client.submit_report(report_body(1, days=2), "shifted")   # starts inside the previous period
    seen = arrived(server)
    assert (seen["overlaps"], seen["gaps"]) == (1, 0)


def write_feed(path, records, *, lines: bool) -> str:
    if lines:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return str(path)


def filing(n: int, **changes) -> dict:
    record = {"service_licence": f"京ICP备2024{n:06d}号-1A", "main_licence": f"京ICP备2024{n:06d}号",
              "service_type": "app", "service_name": f"应用{n}", "unit_name": "示例公司", "status": "active",
              "blacklisted": False, "platforms": [{"platform": "android", "identifier": f"com.example.app{n}",
                                                   "signature_md5": f"{n:032x}"}], "domains": ["example.cn"]}
    record.update(changes)
    return record


@pytest.mark.parametrize("lines", [True, False], ids=["jsonl", "array"])
def test_feed_pages_through_a_file_then_serves_appended_changes(sandbox_factory, tmp_path, lines):
    records = [filing(n) for n in range(5)]
    server = sandbox_factory(feed=write_feed(tmp_path / "feed.json", records, lines=lines))
    client = make_client(server.url, [])
    pages, cursor = [], None
    while True:
        page = client.fetch_feed(cursor, limit=2)
        pages.append(page)
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert [len(p.records) for p in pages] == [2, 2, 1] and [p.has_more for p in pages] == [True, True, False]
    assert [r["service_licence"] for p in pages for r in p.records] == [r["service_licence"] for r in records]
    assert client.fetch_feed(cursor, limit=2).records == []  # caught up: an empty page, same position

    changes = [filing(1, status="cancelled"), filing(3, blacklisted=True)]
    answer = requests.post(server.url + "/_sandbox/feed", json=changes, timeout=5).json()
    assert answer == {"appended": 2, "feed_size": 7}
    page = client.fetch_feed(cursor, limit=100)
    assert page.records == changes and not page.has_more


def test_feed_refuses_bad_limits_and_records(sandbox_factory):
    server = sandbox_factory()
    headers = {"X-Platform-Id": PLATFORM}
    for limit in ("0", "1001", "ten", "-1"):
        response = requests.get(server.url + "/v1/filings/feed", params={"limit": limit}, headers=headers, timeout=5)
        assert error_of(response) == (400, "limit_invalid")
    assert error_of(requests.get(server.url + "/v1/filings/feed", timeout=5)) == (400, "platform_id_missing")
    bad = requests.post(server.url + "/_sandbox/feed", json=[filing(1), {"status": "active"}], timeout=5)
    assert error_of(bad) == (422, "record_invalid")
    wrong = requests.post(server.url + "/_sandbox/feed", json=[filing(1, status="gone")], timeout=5)
    assert error_of(wrong) == (422, "record_invalid")
    assert requests.post(server.url + "/_sandbox/feed", json=filing(2), timeout=5).json()["feed_size"] == 1


def test_inspection_page_lists_reports(sandbox_factory):
    server = sandbox_factory()
    make_client(server.url, []).submit_report(report_body(), "page-key<script>")
    html = requests.get(server.url + "/_sandbox/", timeout=5)
    assert html.headers["Content-Type"].startswith("text/html")
    assert "page-key&lt;script&gt;" in html.text and "<script>" not in html.text


def test_openapi_is_served_resolves_and_documents_every_route(sandbox_factory):
    server = sandbox_factory()
    doc = requests.get(server.url + "/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.1")
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for ref in refs:
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    assert {"/v1/filings/feed", "/v1/reports", "/_sandbox/reports", "/_sandbox/feed", "/_sandbox/",
            "/openapi.json"} <= set(doc["paths"])
    report = doc["components"]["schemas"]["DistributionReport"]
    assert set(report["required"]) == {"platform_id", "period_start", "period_end", "events", "inventory"}


def test_a_larger_report_is_streamed_into_storage(sandbox_factory):
    server = sandbox_factory()
    receipt = make_client(server.url, []).submit_report(report_body(items=5000), "big")
    assert receipt.accepted_items == 5001
    inventory = arrived(server)["reports"][0]["inventory"]
    assert len(inventory) == 5000 and inventory[4999]["service_name"] == "应用4999"


# The streaming reader, fed through windows much smaller than its values: pure, but sandbox-only.

def test_report_reader_survives_values_split_across_windows(monkeypatch):
    monkeypatch.setattr(report_stream, "READ_CHARS", 3)
    text = json.dumps({"n": 1234567890, "events": [{"s": "a\"]}b", "u": "备案"}, []], "inventory": [],
                       "t": [1, {"x": None}]}, ensure_ascii=False, indent=2)
    assert list(iter_report(io.StringIO(text))) == [
        ("field", "n", 1234567890), ("array", "events", None), ("item", "events", {"s": "a\"]}b", "u": "备案"}),
        ("item", "events", []), ("array", "inventory", None), ("field", "t", [1, {"x": None}])]


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": 1,}', "[]", '{"a": 1} 2', '{"events": {}}', '{"events": [1,]}',
                                  '{"a": 1, "a": 2}', "", '{"a" 1}'])
def test_report_reader_refuses_malformed_bodies(text):
    with pytest.raises(ReportSyntaxError):
        list(iter_report(io.StringIO(text)))


def test_report_reader_bounds_a_single_value(monkeypatch):
    monkeypatch.setattr(report_stream, "MAX_VALUE_CHARS", 100)
    monkeypatch.setattr(report_stream, "READ_CHARS", 10)
    with pytest.raises(ReportSyntaxError):
        list(iter_report(io.StringIO('{"events": ["' + "x" * 1000)))
