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
    # aapt prints the low 32 bits; Android's long version code adds versionCodeMajor above them.
    assert facts.version_code & 0xFFFFFFFF == expected["version_code"]
    assert facts.version_name == expected["version_name"]
    # Without <uses-sdk> aapt prints nothing; Android then applies minSdk 1 and targetSdk = minSdk.
    min_sdk = expected["min_sdk"] if expected["min_sdk"] is not None else 1
    assert facts.min_sdk == min_sdk
    assert facts.target_sdk == (expected["target_sdk"] if expected["target_sdk"] is not None else min_sdk)
    if expected["label"] is not None or _has_resources(name):
        assert facts.label == expected["label"]
    assert facts.labels == expected["labels"]
    assert list(facts.permissions) == expected["permissions"]


def _has_resources(name: str) -> bool:
    import zipfile

    with zipfile.ZipFile(FIXTURES / name) as archive:
        return "resources.arsc" in archive.namelist()


def test_version_code_major_is_in_the_long_version_code():
    facts = extract_features(FIXTURES / "version_major.apk")
    assert facts.version_code >> 32 == 2 and facts.version_code & 0xFFFFFFFF == 5  # manifest: major 2, code 5


def test_literal_label_without_resources_is_read():
    assert extract_features(FIXTURES / "no_resources_literal_label.apk").label == "Tiny Gate"


def test_the_bundled_example_is_read_completely():
    facts = extract_features(FIXTURES / "hello_zh.apk")
    assert facts.problems == ()
    assert facts.labels["zh-CN"] == "你好门禁"
    assert len(facts.sha256) == 64 and facts.size == (FIXTURES / "hello_zh.apk").stat().st_size
