"""`gate features` reads every well-formed fixture exactly as `aapt dump badging` does (recorded answers)."""

from __future__ import annotations

import pytest

from gate.extract.pipeline import extract_features
from tests.oracle import FIXTURES, aapt_readable, records


@pytest.mark.parametrize("name", aapt_readable())
def test_manifest_facts_match_aapt(name):
    expected = records()[name]["aapt"]
    facts = extract_features(FIXTURES / name)
    if facts.problems:
        # We may refuse what aapt reads (a forged or ambiguous package), never the reverse silently: say why.
        assert all(p.code.startswith(("zip_", "manifest_", "limit_")) for p in facts.problems), facts.problems
        pytest.skip(f"refused on purpose: {[p.code for p in facts.problems]}")
    assert facts.format == "apk"
    assert facts.package == expected["package"]
    assert facts.version_code == expected["version_code"]
    assert facts.version_name == expected["version_name"]
    assert facts.min_sdk == expected["min_sdk"]
    assert facts.target_sdk == expected["target_sdk"]
    assert facts.label == expected["label"]
    assert facts.labels == expected["labels"]
    assert list(facts.permissions) == expected["permissions"]


def test_the_bundled_example_is_read_completely():
    facts = extract_features(FIXTURES / "hello_zh.apk")
    assert facts.problems == ()
    assert facts.labels["zh-CN"] == "你好门禁"
    assert len(facts.sha256) == 64 and facts.size == (FIXTURES / "hello_zh.apk").stat().st_size
