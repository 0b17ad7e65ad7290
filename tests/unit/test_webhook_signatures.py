from __future__ import annotations

import hashlib
import hmac

import pytest

from gate.services.signatures import SignatureError, StreamingVerifier, sign, verify

SECRET = "whsec_test"
BODY = b'{"events": []}'


def expect(code, header, body=BODY, now=1_700_000_000, secret=SECRET):
    with pytest.raises(SignatureError) as info:
        verify(header, body, secret, now=now)
    assert info.value.code == code


def test_signature_is_hmac_of_timestamp_dot_body():
    header = sign(BODY, SECRET, timestamp=1_700_000_000)
    mac = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()  # the documented formula
    assert header == f"t=1700000000,v1={mac}"
    verify(header, BODY, SECRET, now=1_700_000_100)


def test_streaming_equals_whole_body():
    header = sign(BODY, SECRET, timestamp=1_700_000_000)
    v = StreamingVerifier(header, SECRET, now=1_700_000_000)
    for i in range(len(BODY)):
        v.update(BODY[i:i + 1])
    v.verify()


def test_failures_have_codes():
    good = sign(BODY, SECRET, timestamp=1_700_000_000)
    expect("signature_missing", None)
    expect("signature_missing", "")
    expect("signature_malformed", "v1=abc")
    expect("signature_malformed", "t=abc,v1=" + "0" * 64)
    expect("signature_mismatch", good, body=BODY + b" ")
    expect("signature_mismatch", good, secret="other")
    expect("signature_stale", good, now=1_700_000_301)
    expect("signature_stale", good, now=1_699_999_699)
