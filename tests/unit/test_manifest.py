"""read_manifest gives the facts aapt reports, on every fixture aapt reads, and refuses ambiguous manifests."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from gate.errors import ManifestError
from gate.extract.manifest import CUR_DEVELOPMENT, read_manifest
from tests import axml_mutations as m
from tests.oracle import FIXTURES, aapt_readable, records

BADGING = json.loads((m.MANIFEST_FIXTURES / "badging.json").read_text(encoding="utf-8"))
_IMPLIED = re.compile(r"^uses-permission(?:-sdk-23)?: name='([^']*)'\n(?!uses-implied-permission: name='\1')",
                      re.MULTILINE)


def _read(path) -> tuple:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        resources = archive.read("resources.arsc") if "resources.arsc" in names else None
        return read_manifest(archive.read("AndroidManifest.xml"), resources), resources is not None


def _int(text):
    return int(text) if text not in (None, "") else None


@pytest.mark.parametrize("name", sorted(BADGING))
def test_manifest_variants_match_aapt_badging(name):
    expected = BADGING[name]
    facts, has_table = _read(m.MANIFEST_FIXTURES / name)
    assert facts.package == expected["package"]
    assert facts.version_code & 0xFFFFFFFF == (_int(expected["version_code"]) or 0)  # aapt prints the low word
    assert facts.version_name == (expected["version_name"] or None)
    for ours, codename, printed, default in (
            (facts.min_sdk, facts.min_sdk_codename, expected["sdk_version"], 1),
            (facts.target_sdk, facts.target_sdk_codename, expected["target_sdk_version"], None)):
        if printed is None:
            assert ours == (facts.min_sdk if default is None else default)
        elif printed.isdigit():
            assert (ours, codename) == (int(printed), None)
        else:
            assert (ours, codename) == (CUR_DEVELOPMENT, printed)
    if has_table:
        assert facts.label == expected["label"]
    else:
        # Without resources.arsc aapt has no locale to print a label for; its xmltree shows the literal.
        literal = re.search(r'A: android:label\(0x01010001\)="([^"]*)"', expected["xmltree_raw"])
        assert facts.label == (literal.group(1) if literal else None)
    assert facts.labels == expected["labels"]
    assert list(facts.permissions) == expected["permissions"]


# Fixtures aapt reads that the gate refuses on purpose (docs/readers.md, "Kept"): aapt finds the attribute by id,
# Android's installer by namespace URI would not find it.
REFUSED_ON_PURPOSE = {"manifest_android_prefix_version_code.apk": "manifest_resource_map"}


@pytest.mark.parametrize("name", aapt_readable())
def test_fixture_apks_match_the_oracle(name):
    record = records()[name]
    expected = record["aapt"]
    if name in REFUSED_ON_PURPOSE:
        with pytest.raises(ManifestError) as caught:
            _read(FIXTURES / name)
        assert caught.value.code == REFUSED_ON_PURPOSE[name]
        return
    facts, has_table = _read(FIXTURES / name)
    assert facts.package == expected["package"]
    assert facts.version_code & 0xFFFFFFFF == (expected["version_code"] or 0)
    assert facts.version_name == expected["version_name"]
    assert facts.min_sdk == (expected["min_sdk"] or 1)
    assert facts.target_sdk == (expected["target_sdk"] or facts.min_sdk)
    if has_table:
        assert facts.label == expected["label"]
    assert facts.labels == expected["labels"]
    # aapt also prints permissions it only implies; those are not in the manifest.
    assert list(facts.permissions) == _IMPLIED.findall(record["aapt_raw"])


def test_version_code_major_is_the_high_word():
    facts, _ = _read(m.MANIFEST_FIXTURES / "major_min_only.apk")
    assert (facts.version_code_major, facts.version_code) == (3, 3 << 32 | 7)


def test_target_sdk_defaults_to_min_sdk_and_min_sdk_to_1():
    assert _read(m.MANIFEST_FIXTURES / "major_min_only.apk")[0].target_sdk == 19
    facts = _read(m.MANIFEST_FIXTURES / "literal_no_sdk.apk")[0]
    assert (facts.min_sdk, facts.target_sdk) == (1, 1)


def test_unresolvable_default_label_is_none_not_an_error():
    # aapt itself exits 1 here (no default value), after printing the zh-CN label.
    facts, _ = _read(m.MANIFEST_FIXTURES / "label_no_default.apk")
    assert facts.label is None and facts.labels == BADGING["label_no_default.apk"]["labels"]


def test_document_is_walkable():
    facts, _ = _read(m.MANIFEST_FIXTURES / "aapt2_hello.apk")
    hosts = [e.get("host").raw for e in facts.document.iter() if e.name == "data"]
    assert hosts == ["api.example.cn"]


# --- refusals specific to the manifest, on a real manifest changed by a few bytes ---------------------------------

def _code(data: bytes) -> str:
    with pytest.raises(ManifestError) as caught:
        read_manifest(data, m.apk_member("locales.apk", "resources.arsc"))
    return caught.value.code


def test_look_alike_package_attribute_is_ambiguous():
    data = m.manifest_of()
    for fake in ("Package", "x:package", "package "):
        changed = m.rewrite_string(data, m.string_index(data, "platformBuildVersionName"), fake)
        assert _code(changed) == "manifest_package_ambiguous", fake


def test_namespaced_package_attribute_is_refused():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "package")
    android = m.string_index(data, "http://schemas.android.com/apk/res/android")
    # An android:package attribute has no resource id: refused before anyone could pick it.
    assert _code(m.put(data, pos, "<I", android)) == "manifest_resource_map"


def test_missing_package():
    data = m.manifest_of()
    assert _code(m.rewrite_string(data, m.string_index(data, "package"), "pkg")) == "manifest_package_missing"


@pytest.mark.parametrize("name", ["nodots", "com.1x", "com._x", "com.x-y", "com..x", ".com.x", "com.x."])
def test_invalid_package_names(name):
    data = m.manifest_of()
    changed = m.rewrite_string(data, m.string_index(data, "com.example.hello"), name)
    assert _code(changed) == "manifest_package_invalid"


def test_package_must_be_a_string():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "package")
    assert _code(m.put(data, pos + 8, "<IHBBI", 0xFFFFFFFF, 8, 0, 0x10, 5)) == "manifest_package_invalid"


def test_root_must_be_manifest_without_namespace():
    data = m.manifest_of()
    root = m.element(data, "manifest")
    android = m.string_index(data, "http://schemas.android.com/apk/res/android")
    end = m.of_type(data, m.END_ELEMENT)[-1]
    namespaced = m.put(m.put(data, root.offset + 16, "<I", android), end.offset + 16, "<I", android)
    assert _code(namespaced) == "manifest_root_invalid"
    other = m.string_index(data, "application")
    renamed = m.put(m.put(data, root.offset + 20, "<I", other), end.offset + 20, "<I", other)
    assert _code(renamed) == "manifest_root_invalid"


def test_second_uses_sdk_is_refused():
    data = m.manifest_of()
    uses_sdk = m.element_bytes(data, "uses-sdk")
    changed = m.insert(data, m.element(data, "uses-sdk").offset, uses_sdk)
    assert _code(changed) == "manifest_duplicate_element"


def test_non_integer_version_code_is_refused():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "versionCode")
    assert _code(m.put(data, pos + 12, "<HBBI", 8, 0, 0x04, 0x3F800000)) == "manifest_value_invalid"
