"""Pure parts of the regulator client: signatures, Retry-After, backoff, replayable bodies. No sockets."""

from __future__ import annotations

import io
import random

import pytest

from gate.sync.client import RegulatorClient, _Body, parse_retry_after
from gate.sync.errors import REPORT_BODY_NOT_REPLAYABLE, RegulatorError
from gate.sync.signing import BodySigner, sign_body, sign_file, signature_matches

# RFC 4231 §4.3, test case 2 (HMAC-SHA-256): an external oracle for the signature, not our own output.
RFC4231_KEY = b"Jefe"
RFC4231_DATA = b"what do ya want for nothing?"
RFC4231_MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_signature_matches_rfc4231_whole_chunked_and_streamed():
    assert sign_body(RFC4231_KEY, RFC4231_DATA) == RFC4231_MAC
    assert sign_body("Jefe", [RFC4231_DATA[:5], b"", RFC4231_DATA[5:]]) == RFC4231_MAC
    assert sign_file(RFC4231_KEY, io.BytesIO(RFC4231_DATA), chunk_size=3) == RFC4231_MAC
    signer = BodySigner(RFC4231_KEY)
    for byte in RFC4231_DATA:
        signer.update(bytes([byte]))
    assert signer.hexdigest() == RFC4231_MAC


def test_signature_comparison_accepts_uppercase_and_refuses_others():
    assert signature_matches(RFC4231_MAC, RFC4231_MAC.upper())
    assert not signature_matches(RFC4231_MAC, RFC4231_MAC[:-1] + "0")
    assert not signature_matches(RFC4231_MAC, None)
    assert not signature_matches(RFC4231_MAC, "")
    assert not signature_matches(RFC4231_MAC, "é" * 64)


@pytest.mark.parametrize("header, expected", [
    ("7", 7.0), (" 0 ", 0.0),
    # RFC 9110's example date, 70 s after "now"
    ("Sun, 06 Nov 1994 08:49:37 GMT", 70.0),
    ("Sun, 06 Nov 1994 08:47:00 GMT", 0.0),   # in the past: retry at once
    ("soon", None), ("-5", None), ("1.5", None), (None, None),
])
def test_retry_after_seconds_or_http_date(header, expected):
    now = 784111777.0 - 70  # 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
    assert parse_retry_after(header, now=now) == expected


def test_backoff_is_full_jitter_below_the_exponential_cap():
    client = RegulatorClient("http://unused.invalid", "p", "s", backoff_base=0.5, backoff_cap=3.0,
                             rng=random.Random(7))
    for attempt in range(1, 9):
        bound = min(3.0, 0.5 * 2 ** (attempt - 1))
        waits = [client.backoff(attempt) for _ in range(200)]
        assert all(0.0 <= w <= bound for w in waits)
        assert max(waits) > bound / 2  # jitter spreads over the whole range, not a fixed delay


def test_file_body_is_rewound_to_its_start_for_each_attempt():
    stream = io.BytesIO(b"HEADER{\"a\":1}")
    stream.seek(6)
    body = _Body(stream)
    assert body.fresh().read() == b'{"a":1}'
    assert body.fresh().read() == b'{"a":1}'
    assert body.sign("k") == sign_body("k", b'{"a":1}')


def test_chunk_factory_and_reiterable_give_fresh_chunks():
    factory = _Body(lambda: iter([b"ab", b"cd"]))
    assert b"".join(factory.fresh()) == b"abcd" and b"".join(factory.fresh()) == b"abcd"
    listed = _Body([b"ab", b"cd"])
    assert b"".join(listed.fresh()) == b"abcd" and b"".join(listed.fresh()) == b"abcd"


def test_one_shot_generator_is_refused_because_a_retry_would_send_it_empty():
    with pytest.raises(RegulatorError) as info:
        _Body(chunk for chunk in [b"{}"])
    assert info.value.code == REPORT_BODY_NOT_REPLAYABLE


def test_bad_idempotency_keys_are_refused_before_sending():
    client = RegulatorClient("http://unused.invalid", "p", "s")
    for key in ("", "has space", "x" * 256, "键"):
        with pytest.raises(RegulatorError) as info:
            client.submit_report(b"{}", key)
        assert info.value.code == "regulator_rejected"


def test_a_pathologically_nested_answer_is_a_bad_response():
    import requests

    from gate.sync.errors import REGULATOR_BAD_RESPONSE

    answer = requests.Response()
    answer.status_code = 200
    answer._content = b"[" * 100_000 + b"]" * 100_000  # a real Response object holding the regulator's bytes
    with pytest.raises(RegulatorError) as info:
        RegulatorClient._json(answer, "GET", "/v1/filings/feed")
    assert info.value.code == REGULATOR_BAD_RESPONSE
