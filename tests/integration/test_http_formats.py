"""The upload webhook accepts every package format and decides it by its content (split sets, IPA), over real HTTP."""

from __future__ import annotations

import json
import pathlib

import requests

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


def test_the_precheck_page_shows_an_ipas_filing_features(gate):
    from tests.integration.http_support import multipart

    expected = json.loads((ROOT / "ios/expected.json").read_text(encoding="utf-8"))["signers"]["developer_a"]
    body, content_type = multipart(ROOT / "ios/ios_signed.ipa")
    page = requests.post(f"{gate.url}/precheck", data=body, headers={"Content-Type": content_type})
    assert page.status_code == 200
    assert "Bundle ID" in page.text and "cn.filinggate.ios.tiny" in page.text
    assert expected["cert_md5"] in page.text and expected["cert_sha1"] in page.text  # 签名MD5 and SHA-1, copyable
    assert "profile_app_id" in page.text  # what verified is shown
    assert "拦截" in page.text  # and the gate's decision: the fixture root is not Apple's
