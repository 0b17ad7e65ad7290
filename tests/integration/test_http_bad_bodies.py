"""Bad request bodies answer a 4xx with a stable code — never a 500 — and a refused listing batch
writes nothing (no event of the batch is kept when one of them is refused)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.integration.http_support import HELLO, count, multipart, spool_files

DEEP = b"[" * 100_000  # deeper than the JSON decoder's recursion limit


def _post_signed(g, path, body, content_type="application/json", role="store"):
    return requests.post(f"{g.url}{path}", data=body, headers=g.signed(role, body, content_type), timeout=30)


def test_deeply_nested_json_is_json_invalid(gate):
    for path, role in (("/api/v1/hooks/store/listings", "store"), ("/api/v1/hooks/store/upload", "store")):
        r = _post_signed(gate, path, DEEP, role=role)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "json_invalid"), r.text
    r = requests.post(f"{gate.url}/api/v1/preinstall/checks", data=DEEP,
                      headers=gate.headers("oem", **{"Content-Type": "application/json"}), timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "json_invalid"), r.text


def test_deeply_nested_metadata_is_metadata_invalid(gate):
    r = gate.upload(HELLO, data=_multipart_with_raw_metadata(HELLO, b"[" * 20_000))  # under the 64 KiB field cap
    assert (r.status_code, r.json()["error"]["code"]) == (400, "metadata_invalid"), r.text
    assert spool_files(gate) == [] and count(gate.engine, "service_check") == 0


def _multipart_with_raw_metadata(path, metadata: bytes):
    body, content_type = multipart(path)
    boundary = content_type.split("boundary=", 1)[1].encode()
    part = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n' + metadata + b"\r\n")
    return part + body, content_type


def test_preinstall_csv_row_with_extra_cells_is_an_invalid_item_or_refused(gate):
    csv = b"package,cert_md5\ncom.a.one,0176d8d0130a8b0d3729e7833d7cb8cc,surplus,cells\n"
    r = requests.post(f"{gate.url}/api/v1/preinstall/checks", data=csv,
                      headers=gate.headers("oem", **{"Content-Type": "text/csv"}), timeout=30)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        assert r.json()["items"][0]["verdict"] == "block"
    else:
        assert r.json()["error"]["code"] == "csv_invalid"


@pytest.mark.parametrize("event", [
    {"package": "com.a.two", "action": "listed", "at": "0001-01-01T00:00:00+08:00"},   # before year 1 in UTC
    {"package": "com.a.two", "action": "listed", "at": "9999-12-31T23:00:00-08:00"},   # after year 9999 in UTC
    {"package": "com.a.two", "action": "listed", "at": "2024-05-01T10:00:00+08:00", "version_code": 2 ** 63},
])
def test_out_of_range_event_refuses_the_whole_batch(gate, event):
    good = {"package": "com.a.one", "action": "listed", "at": "2024-05-01T10:00:00+08:00", "version_code": 1}
    body = json.dumps({"events": [good, event]}).encode()
    r = _post_signed(gate, "/api/v1/hooks/store/listings", body)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "event_invalid"), r.text
    assert "events[1]" in r.json()["error"]["message"]
    assert count(gate.engine, "listing_event") == 0 and count(gate.engine, "listing") == 0
