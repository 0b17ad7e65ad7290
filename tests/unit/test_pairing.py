"""Pairing a packed package with its unpacked build (gate.pairing) and what the decision makes of it (gate.decide).

Packages are the real signed fixtures of fixtures/packers.py; which ones pair is the generator's statement (same
package, versionCode and key), and the filings' key digests are apksigner's (fixtures/apks/oracle.json).
"""

from __future__ import annotations

import json
import pathlib

import pytest

from gate.decide import Policy, PolicyError, decide
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record
from gate.pairing import differences, pair

ROOT = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
ORACLE = json.loads((ROOT / "apks" / "oracle.json").read_text())["apks"]
KEY_A_MD5 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]


def facts(name):
    return extract_features(ROOT / "packers" / name)


def filed(domains):
    record, problems = validate_record({
        "service_licence": "京ICP备2024000009号-1A", "service_type": "app", "service_name": "Packed Gate",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": list(domains),
        "platforms": [{"platform": "android", "identifier": "cn.filinggate.packed", "signature_md5": KEY_A_MD5}]})
    assert record is not None, problems
    return record


def test_pairs_on_package_version_and_signers():
    packed = facts("packed_baidu.apk")
    assert differences(packed, facts("unpacked_plain.apk")) == []
    assert [d["field"] for d in differences(packed, facts("unpacked_other_version.apk"))] == ["version_code"]
    assert [d["field"] for d in differences(packed, facts("unpacked_other_key.apk"))] == ["signers"]
    assert [d["field"] for d in differences(packed, facts("unpacked_other_package.apk"))] == ["package"]
    unreadable = extract_features(ROOT / "apks" / "not_a_zip.apk")
    assert [d["field"] for d in differences(packed, unreadable)] == ["readable"]


def test_paired_facts_keep_identity_and_take_marked_network():
    packed, unpacked = facts("packed_yidun.apk"), facts("unpacked_plain.apk")
    paired = pair(packed, unpacked)
    assert paired.sha256 == packed.sha256 and paired.signature == packed.signature
    assert paired.protection == packed.protection and paired.pairing.paired
    assert paired.pairing.unpacked_sha256 == unpacked.sha256
    host = next(h for h in paired.network.hosts if h.host == "api.packed-backend.cn")
    assert host.sources == ("unpacked:classes.dex",)
    assert {e.as_dict()["from"] for e in host.evidence} == {"unpacked"}


def codes(decision):
    """Reason codes but the filing number one (info: none of these apps shows a filing number)."""
    return [r.code for r in decision.reasons if r.code != "filing_number_not_shown"]


def test_decision_steps():
    packed, plain = facts("packed_ijiami.apk"), facts("unpacked_plain.apk")
    alone = decide(packed, [filed(["packed-backend.cn"])], policy=Policy())
    assert alone.verdict == "review" and codes(alone) == ["code_hidden_by_packer"]
    assert "爱加密" in alone.reasons[0].message["zh"]
    # Never allow with the domain check silently skipped: even with the domain policy off, the reason is there.
    off = decide(packed, [filed([])], policy=Policy(unfiled_domains="off", packed="info"))
    assert off.verdict == "allow" and codes(off) == ["code_hidden_by_packer"]
    paired = decide(pair(packed, plain), [filed(["other.cn"])], policy=Policy())
    assert codes(paired) == ["domain_not_filed"]
    mismatched = decide(pair(packed, facts("unpacked_other_key.apk")), [filed(["packed-backend.cn"])],
                        policy=Policy())
    assert mismatched.verdict == "block" and codes(mismatched) == ["unpacked_mismatch"]
    with pytest.raises(PolicyError):
        Policy(packed="off")


def test_an_unpacked_build_that_is_packed_too_settles_nothing():
    packed = facts("packed_jiagu.apk")
    also_packed = pair(packed, facts("packed_legu.apk"))  # same package, versionCode and key: it pairs
    assert also_packed.pairing.paired
    decision = decide(also_packed, [filed(["packed-backend.cn"])], policy=Policy())
    assert codes(decision) == ["code_hidden_by_packer"]
    assert decision.reasons[0].evidence["unpacked_is_packed"] is True
