"""The regulator client against a real sandbox regulator on loopback: retries, idempotency, errors."""

from __future__ import annotations

import io
import json

import pytest
import requests

from gate.sync.errors import RegulatorError
from gate.sync.signing import BodySigner, sign_file
from tests.integration.sandbox_support import SECRET, make_client, report_body


def arrived(server) -> dict:
    return requests.get(server.url + "/_sandbox/reports", timeout=5).json()


def test_fail_first_two_delivers_once_after_honouring_retry_after(sandbox_factory):
    server = sandbox_factory(fail_first=2, retry_after=4)
    waits: list[float] = []
    receipt = make_client(server.url, waits).submit_report(report_body(items=3), "report-2024-06-01")
    seen = arrived(server)
    assert len(seen["reports"]) == 1 and seen["reports"][0]["receipt_id"] == receipt.receipt_id
    assert seen["attempts"] == 3 and seen["overlaps"] == 0 and seen["replays"] == 0
    assert receipt.accepted_items == 4 and not receipt.replayed
    assert waits == [4.0, 4.0]  # the server's Retry-After, not our (tiny) backoff


def test_retry_after_beyond_the_cap_gives_up_instead_of_blocking(sandbox_factory):
    server = sandbox_factory(fail_first=5, retry_after=600)
    waits: list[float] = []
    with pytest.raises(RegulatorError) as info:
        make_client(server.url, waits, retry_after_cap=60).submit_report(report_body(), "k")
    assert info.value.code == "regulator_unavailable" and info.value.status == 503
    assert info.value.retry_after == 600.0 and waits == []


def test_dropped_connections_are_retried(sandbox_factory):
    server = sandbox_factory(drop_connections=2)
    waits: list[float] = []
    receipt = make_client(server.url, waits).submit_report(report_body(), "k-drop")
    seen = arrived(server)
    assert seen["dropped"] == 2 and len(seen["reports"]) == 1 and seen["attempts"] == 1
    assert len(waits) == 2 and all(0 <= w <= 0.01 for w in waits)
    assert receipt.receipt_id == seen["reports"][0]["receipt_id"]


def test_retries_are_bounded(sandbox_factory):
    server = sandbox_factory(drop_connections=10)
    waits: list[float] = []
    with pytest.raises(RegulatorError) as info:
        make_client(server.url, waits, max_attempts=3).fetch_feed(None)
    assert info.value.code == "regulator_unreachable" and info.value.attempts == 3 and info.value.status is None
    assert len(waits) == 2


def test_wrong_secret_is_401_and_not_retried(sandbox_factory):
    server = sandbox_factory()
    waits: list[float] = []
    with pytest.raises(RegulatorError) as info:
        make_client(server.url, waits, secret="not-the-secret").submit_report(report_body(), "k")
    error = info.value
    assert (error.code, error.status, error.remote_code, error.attempts) == (
        "regulator_unauthorized", 401, "signature_invalid", 1)
    assert "X-Signature" in error.message  # the server's message is carried
    assert waits == [] and arrived(server)["attempts"] == 1 and arrived(server)["reports"] == []


def test_invalid_report_is_422_and_not_retried(sandbox_factory):
    server = sandbox_factory()
    waits: list[float] = []
    body = json.loads(report_body())
    body["period_end"] = "2024-06-02T00:00:00"  # no UTC offset
    with pytest.raises(RegulatorError) as info:
        make_client(server.url, waits).submit_report(json.dumps(body).encode(), "k")
    assert (info.value.code, info.value.status, info.value.remote_code) == ("regulator_rejected", 422,
                                                                            "report_invalid")
    assert waits == [] and arrived(server)["attempts"] == 1


def test_bad_cursor_is_400_and_not_retried(sandbox_factory):
    server = sandbox_factory()
    waits: list[float] = []
    client = make_client(server.url, waits)
    good = client.fetch_feed(None).next_cursor
    for cursor in ("garbage", good[:-1] + ("0" if good[-1] != "0" else "1")):
        with pytest.raises(RegulatorError) as info:
            client.fetch_feed(cursor)
        assert (info.value.status, info.value.remote_code) == (400, "cursor_invalid")
    assert waits == []


def test_same_key_is_a_replay_with_the_same_receipt(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    first = client.submit_report(report_body(), "k-same")
    second = client.submit_report(report_body(), "k-same")
    assert second.receipt_id == first.receipt_id and second.replayed and not first.replayed
    assert second.accepted_items == first.accepted_items
    seen = arrived(server)
    assert len(seen["reports"]) == 1 and seen["replays"] == 1 and seen["overlaps"] == 0


def test_same_key_with_other_content_is_refused(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    client.submit_report(report_body(0), "k-reused")
    with pytest.raises(RegulatorError) as info:
        client.submit_report(report_body(1), "k-reused")
    assert (info.value.status, info.value.remote_code) == (409, "idempotency_key_reused")
    assert len(arrived(server)["reports"]) == 1


def test_file_body_signed_in_one_pass_is_rewound_on_retry(sandbox_factory, tmp_path):
    server = sandbox_factory(fail_first=1, drop_connections=1)
    path = tmp_path / "report.json"
    path.write_bytes(report_body(items=500))
    with path.open("rb") as stream:
        signature = sign_file(SECRET, stream)
        receipt = make_client(server.url, []).submit_report(stream, "k-file", signature=signature)
    assert receipt.accepted_items == 501
    assert arrived(server)["reports"][0]["inventory_count"] == 500


def test_chunk_factory_is_sent_chunked_and_signed_while_written(sandbox_factory):
    server = sandbox_factory(fail_first=1)
    raw = report_body(items=50)
    chunks = [raw[i:i + 97] for i in range(0, len(raw), 97)]
    signer = BodySigner(SECRET)
    for chunk in chunks:
        signer.update(chunk)
    receipt = make_client(server.url, []).submit_report(lambda: iter(chunks), "k-chunks",
                                                        signature=signer.hexdigest())
    assert receipt.accepted_items == 51
    assert arrived(server)["reports"][0]["inventory"][49]["identifier"] == "com.example.app49"


def test_read_timeout_is_retried_then_reported(sandbox_factory):
    server = sandbox_factory(latency=0.3)
    waits: list[float] = []
    with pytest.raises(RegulatorError) as info:
        make_client(server.url, waits, timeout=(2, 0.05), max_attempts=2).fetch_feed(None)
    assert info.value.code == "regulator_unreachable" and len(waits) == 1


def test_user_agent_and_platform_header_are_sent(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    response = client._session.get(server.url + "/openapi.json", timeout=5)
    assert response.request.headers["User-Agent"].startswith("filing-gate/")
    assert client.fetch_feed(None).records == []


def test_body_bytes_and_file_object_give_the_same_signature_header(sandbox_factory):
    server = sandbox_factory()
    client = make_client(server.url, [])
    raw = report_body()
    assert client.submit_report(io.BytesIO(raw), "k-a").accepted_items == 3
    assert client.submit_report(raw, "k-a").replayed  # same bytes → same digest → replay, not conflict
