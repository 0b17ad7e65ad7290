"""Sealing personal data (gate.pii) and the sandbox's application script: pure, no sockets."""

from __future__ import annotations

import base64
import os

import pytest

from gate.config import load_settings
from gate.errors import ConfigError
from gate.pii import PiiError, Sealer
from gate.sync.sandbox.applications import ApplicationScript

KEY = base64.b64encode(os.urandom(32)).decode()


def test_seal_opens_only_with_its_key_and_label():
    sealer = Sealer(KEY)
    sealed = sealer.seal(b"11010519491231002X", "fa_1")
    assert b"11010519491231002X" not in base64.b64decode(sealed)
    assert sealer.open(sealed, "fa_1") == b"11010519491231002X"
    assert sealer.seal(b"same", "fa_1") != sealer.seal(b"same", "fa_1")  # a fresh nonce each time
    with pytest.raises(PiiError) as moved:
        sealer.open(sealed, "fa_2")  # swapped to another application
    assert moved.value.code == "pii_unreadable"
    with pytest.raises(PiiError):
        Sealer(base64.b64encode(os.urandom(32)).decode()).open(sealed, "fa_1")


def test_no_key_no_personal_data():
    with pytest.raises(PiiError) as missing:
        Sealer(None).seal(b"x", "fa_1")
    assert missing.value.code == "pii_key_missing" and missing.value.status == 503


@pytest.mark.parametrize("value", ["short", base64.b64encode(os.urandom(16)).decode(), "not base64 at all!"])
def test_malformed_key_stops_the_gate(value):
    with pytest.raises(ConfigError) as bad:
        load_settings({"GATE_PII_KEY": value})
    assert "GATE_PII_KEY" in bad.value.message
    assert load_settings({"GATE_PII_KEY": KEY}).pii_key == KEY


def test_application_script_rounds():
    script = ApplicationScript(("returned", "returned", "approved"))
    assert [script.outcome(n) for n in (1, 2, 3, 4)] == ["returned", "returned", "approved", "approved"]
    with pytest.raises(ValueError):
        ApplicationScript(("maybe",))
    with pytest.raises(ValueError):
        ApplicationScript(())
