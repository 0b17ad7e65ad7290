"""Split APK sets (.apks, .xapk, .apkm) against what aapt and apksigner say of each APK inside them.

Fixtures and oracle: fixtures/sets.py (fixtures/sets/oracle.json holds aapt badging and apksigner verify of the base
and of every split variant).
"""

import json
import pathlib
import shutil
import zipfile

import pytest

from gate.decide import Policy, decide
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

SETS = pathlib.Path(__file__).parents[2] / "fixtures/sets"
ORACLE = json.loads((SETS / "oracle.json").read_text())
BASE = ORACLE["apks"]["base"]


def _filing():
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "Split Gate",
        "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
        "platforms": [{"platform": "android", "identifier": BASE["aapt"]["package"],
                       "signature_md5": BASE["apksigner"]["signers"][0]["cert_md5"]}]})
    assert record is not None, problems
    return record


def _decide(facts):
    return decide(facts, [_filing()], policy=Policy())


@pytest.mark.parametrize("name, fmt", [("split_good.apks", "apks"), ("split_good.xapk", "xapk"),
                                       ("split_good.apkm", "apkm")])
def test_good_set_has_the_base_identity_and_every_apks_network(name, fmt):
    facts = extract_features(SETS / name)
    assert facts.problems == ()
    assert (facts.format, facts.platform) == (fmt, "android")
    assert facts.package == BASE["aapt"]["package"]
    assert facts.version_code == BASE["aapt"]["version_code"]
    assert facts.label == BASE["aapt"]["label"]
    # Both the base and the split verify by apksigner, with the same signer: so does the set.
    assert BASE["apksigner"]["verifies"] and ORACLE["apks"]["split_good"]["apksigner"]["verifies"]
    assert facts.signature.verified
    assert [s.cert_sha256 for s in facts.signature.signers] == [s["cert_sha256"] for s in BASE["apksigner"]["signers"]]
    assert len(facts.parts) == 2 and all(p.verified for p in facts.parts)
    assert {p.split for p in facts.parts} == {None, "config.zh"}
    assert len(facts.signature.verified_parts) == 2
    hosts = {h.host: h.sources for h in facts.network.hosts}
    # The split's asset names a host that only the split contains.
    assert any(src.endswith("!/assets/zh.js") for src in hosts["cdn-zh.split.filinggate.cn"])
    assert _decide(facts).verdict in ("allow", "review")
    assert "split_mismatch" not in {r.code for r in _decide(facts).reasons}


def test_a_set_is_recognised_by_content_not_by_name(tmp_path):
    renamed = tmp_path / "looks-like.apk"
    shutil.copyfile(SETS / "split_good.apks", renamed)
    assert extract_features(renamed).format == "apks"


@pytest.mark.parametrize("name, oracle_split", [
    ("split_other_key.apks", "split_other_key"),
    ("split_other_package.apks", "split_other_package"),
    ("split_other_version.apks", "split_other_version"),
    ("split_unsigned.apks", "split_unsigned"),
])
def test_a_split_that_does_not_belong_blocks_the_set_naming_it(name, oracle_split):
    split = ORACLE["apks"][oracle_split]
    base_signers = [s["cert_sha256"] for s in BASE["apksigner"]["signers"]]
    # What the oracles say makes the split not belong (so the expectation does not come from the gate):
    assert (not split["apksigner"]["verifies"]
            or [s["cert_sha256"] for s in split["apksigner"]["signers"]] != base_signers
            or split["aapt"]["package"] != BASE["aapt"]["package"]
            or split["aapt"]["version_code"] != BASE["aapt"]["version_code"])
    facts = extract_features(SETS / name)
    assert [p.code for p in facts.problems] == ["split_mismatch"]
    assert facts.problems[0].message.startswith("splits/base-zh.apk: ")
    assert not facts.signature.verified
    decision = _decide(facts)
    assert decision.verdict == "block"
    assert [r.code for r in decision.reasons] == ["split_mismatch"]
    assert decision.reasons[0].evidence["splits"] == ["splits/base-zh.apk"]
    assert "splits/base-zh.apk" in decision.reasons[0].message["zh"]


@pytest.mark.parametrize("name, code", [("split_truncated.apks", "zip_eocd_invalid"),
                                        ("split_no_base.apks", "split_base_missing")])
def test_a_broken_set_is_malformed(name, code):
    facts = extract_features(SETS / name)
    assert code in [p.code for p in facts.problems]
    decision = _decide(facts)
    assert (decision.verdict, decision.reasons[0].code) == ("block", "package_malformed")


def test_an_unknown_archive_says_what_was_found(tmp_path):
    odd = tmp_path / "odd.apk"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("data/table.bin", b"\0\1")
    facts = extract_features(odd)
    assert [p.code for p in facts.problems] == ["format_unknown"]
    assert "readme.txt" in facts.problems[0].message and "2 entries" in facts.problems[0].message
    assert _decide(facts).reasons[0].code == "package_malformed"
