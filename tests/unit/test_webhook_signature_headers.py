"""A webhook signature header of odd characters is a 401 signature_malformed, never a 500.

Header values reach the app decoded as latin-1, so a client (or an attacker probing the webhook) can send characters
that ``str.isdigit`` accepts but ``int`` refuses (``²``), a timestamp longer than Python's int-parsing limit, or a
"hex" MAC with non-ASCII letters that ``hmac.compare_digest`` refuses with TypeError.
"""

from __future__ import annotations

import pytest

from gate.services.signatures import SignatureError, verify

SECRET = "whsec_test"
BODY = b'{"events": []}'
MAC = "a" * 64


@pytest.mark.parametrize("header", [
    f"t=\u00b2,v1={MAC}",                 # superscript two: isdigit() but not int()
    f"t={'9' * 5000},v1={MAC}",            # beyond int()'s 4300-digit limit
    f"t=\u0661\u0662\u0663,v1={MAC}",     # Arabic-Indic digits: int() accepts them, the contract says unix seconds
    "t=1700000000,v1=" + "\u00e9" * 64,   # 64 characters, not hex
    "t=1700000000,v1=" + "g" * 64,        # 64 characters, not hex
])
def test_malformed_header_is_refused_as_malformed(header):
    with pytest.raises(SignatureError) as info:
        verify(header, BODY, SECRET, now=1_700_000_000)
    assert info.value.code == "signature_malformed"
