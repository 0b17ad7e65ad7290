"""The android namespace written as its prefix "android" rather than its URI, with the right resource ids.

Android's full parse (TypedArray) and aapt read android attributes by resource id, so such an attribute is read
(Godot's Android export writes the <uses-permission> elements it adds this way: the corpus's Falling Blocks).
Android's installer reads some elements by namespace URI and name first (ApkLiteParseUtils): there the same
attribute would be invisible to it and read by the full parse, so it stays refused. Rewrites are byte-level on a
real aapt-built manifest (fixtures/axml_variants.py); the whole-APK fixtures carry aapt's and apksigner's recorded
answers (fixtures/apks/oracle.json).
"""

from __future__ import annotations

import pytest

from fixtures import axml_variants
from gate.errors import ManifestError
from gate.extract.axml import ANDROID_NS, parse_xml
from gate.extract.manifest import read_manifest
from gate.extract.pipeline import extract_features
from tests import axml_mutations as m
from tests.oracle import FIXTURES, records

RESOURCES = m.apk_member("locales.apk", "resources.arsc")
PERMISSION = 0x01010003  # android:name


def _prefixed(element: str, attribute: str) -> bytes:
    original = m.manifest_of()
    changed = axml_variants.android_prefix_namespace(original, element, attribute)
    assert changed != original
    return changed


def _refusal(data: bytes) -> str:
    with pytest.raises(ManifestError) as caught:
        read_manifest(data, RESOURCES)
    return caught.value.code


def test_prefixed_permission_names_are_read_as_android_attributes():
    data = _prefixed("uses-permission", "name")
    original = read_manifest(m.manifest_of(), RESOURCES)
    assert read_manifest(data, RESOURCES).permissions == original.permissions
    names = [e.by_id(PERMISSION) for e in parse_xml(data).iter() if e.name == "uses-permission"]
    assert names and all(a.namespace == ANDROID_NS and a.namespace_as_prefix for a in names)


@pytest.mark.parametrize("element, attribute", [("manifest", "versionCode"), ("manifest", "versionName"),
                                                ("uses-sdk", "minSdkVersion"), ("uses-sdk", "targetSdkVersion"),
                                                ("application", "label")])
def test_prefixed_attributes_the_installer_reads_by_uri_are_refused(element, attribute):
    # ApkLiteParseUtils asks getAttributeValue(ANDROID_RES_NAMESPACE, name): it would not see them, the full
    # parse would — one device, two values.
    assert _refusal(_prefixed(element, attribute)) == "manifest_resource_map"


def test_prefixed_attribute_without_resource_id_is_refused():
    # aapt's xmltree prints it as android:platformBuildVersionName; the device reads nothing by id.
    assert _refusal(_prefixed("manifest", "platformBuildVersionName")) == "manifest_resource_map"


def test_prefixed_attribute_with_the_id_of_another_name_is_refused():
    data = _prefixed("uses-permission", "name")
    changed = m.put(data, m.resource_map_index(data, PERMISSION), "<I", 0x01010001)  # android:label's id
    assert _refusal(changed) == "manifest_resource_map"


def test_fixture_read_as_aapt_reads_it():
    record = records()["manifest_android_prefix_permission.apk"]
    assert record["apksigner"]["verifies"] and record["aapt"]["exit"] == 0
    facts = extract_features(FIXTURES / "manifest_android_prefix_permission.apk")
    assert facts.problems == ()
    assert list(facts.permissions) == record["aapt"]["permissions"]
    assert facts.version_code == record["aapt"]["version_code"]


def test_fixture_with_a_prefixed_version_code_is_refused_although_aapt_reads_it():
    record = records()["manifest_android_prefix_version_code.apk"]
    # aapt (by id) prints the versionCode; the installer (by URI) would read 0: refused on purpose.
    assert record["aapt"]["exit"] == 0 and record["aapt"]["version_code"] == \
        records()["hello_zh.apk"]["aapt"]["version_code"]
    facts = extract_features(FIXTURES / "manifest_android_prefix_version_code.apk")
    assert [p.code for p in facts.problems] == ["manifest_resource_map"]
