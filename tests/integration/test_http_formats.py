"""The upload webhook accepts every package format and decides it by its content (split sets, IPA), over real HTTP."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).parents[2] / "fixtures"


def test_a_split_set_is_decided_as_a_set(gate):
    body = gate.upload(ROOT / "sets/split_good.apks").json()
    assert body["package"]["format"] == "apks" and body["package"]["package"] == "cn.filinggate.split"
    assert body["reasons"][0]["code"] == "unfiled"  # verified, but no filing names it
    mismatched = gate.upload(ROOT / "sets/split_other_key.apks").json()
    assert mismatched["verdict"] == "block"
    assert [r["code"] for r in mismatched["reasons"]] == ["split_mismatch"]
    assert mismatched["reasons"][0]["evidence"]["splits"] == ["splits/base-zh.apk"]


def test_an_ipa_is_decided_on_ios_facts(gate):
    body = gate.upload(ROOT / "ios/ios_signed.ipa").json()
    assert body["package"]["format"] == "ipa" and body["package"]["package"] == "cn.filinggate.ios.tiny"
    # The fixture signer does not chain to Apple Root CA, the only root the gate trusts.
    assert (body["verdict"], body["reasons"][0]["code"]) == ("block", "signature_invalid")
