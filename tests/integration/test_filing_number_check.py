"""`gate check` on packages built by aapt/smali with the filing number planted in one place each (expected.json,
written by fixtures/filing_numbers/build.py from what it planted), and with a store category needing an approval."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests.integration.test_cli_check import ORACLE, gate

HERE = pathlib.Path(__file__).parents[2] / "fixtures" / "filing_numbers"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
KEY_A_MD5 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]  # the fixtures are signed with key A


@pytest.fixture(scope="module")
def filings(tmp_path_factory):
    path = tmp_path_factory.mktemp("numbers") / "filings.json"
    base = {"service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "号码示例",
            "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
            "platforms": [{"platform": "android", "identifier": "cn.filinggate.numbers", "signature_md5": KEY_A_MD5}]}
    path.write_text(json.dumps([base]), encoding="utf-8")
    approved = path.with_name("approved.json")
    approved.write_text(json.dumps([{**base, "content_approvals": ["互联网新闻信息服务许可"]}]), encoding="utf-8")
    return path, approved


def test_where_the_number_is_found_and_the_reason_when_it_is_not(filings, tmp_path):
    plain, _ = filings
    for name, planted in EXPECTED.items():
        facts = json.loads(gate("features", "--json", HERE / name, cwd=tmp_path).stdout)
        assert {n["number"]: n["sources"] for n in facts["filing_numbers"]} == planted, name
        result = gate("check", "--json", "--filings", plain, HERE / name, cwd=tmp_path)
        decision = json.loads(result.stdout)
        codes = [(r["code"], r["severity"]) for r in decision["reasons"]]
        if name == "not_shown.apk":  # another unit's number is not the app's own
            assert codes == [("filing_number_not_shown", "info")] and decision["verdict"] == "allow"
            assert result.returncode == 0
        else:
            assert codes == [], name
    blocked = gate("check", "--json", "--filings", plain, HERE / "not_shown.apk", cwd=tmp_path,
                   env_extra={"GATE_POLICY_NUMBER_NOT_SHOWN": "block"})
    assert blocked.returncode == 4


def test_category_needing_an_approval(filings, tmp_path):
    plain, approved = filings
    apk = HERE / "shown_strings.apk"
    missing = gate("check", "--json", "--category", "新闻资讯", "--filings", plain, apk, cwd=tmp_path)
    decision = json.loads(missing.stdout)
    assert missing.returncode == 3
    assert [(r["code"], r["severity"]) for r in decision["reasons"]] == [("content_approval_missing", "review")]
    assert "互联网新闻信息服务许可" in decision["reasons"][0]["message"]["zh"]
    assert gate("check", "--category", "新闻资讯", "--filings", approved, apk, cwd=tmp_path).returncode == 0
    assert gate("check", "--category", "工具", "--filings", plain, apk, cwd=tmp_path).returncode == 0


def test_precheck_page_says_where_the_number_is_or_that_it_is_missing(gate):
    import requests

    shown = requests.post(f"{gate.url}/precheck", timeout=60,
                          files={"package": ("a.apk", (HERE / "shown_layout_utf16.apk").read_bytes())})
    assert shown.status_code == 200
    assert "京ICP备2024000001号-1A" in shown.text and "res/layout/about.xml" in shown.text
    missing = requests.post(f"{gate.url}/precheck?lang=en", timeout=60,
                            files={"package": ("b.apk", (HERE / "not_shown.apk").read_bytes())})
    assert "Filing numbers the app shows" in missing.text and "沪ICP备2023000002号-3A" in missing.text
