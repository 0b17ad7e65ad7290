"""The binary XML reader: real aapt/aapt2 manifests read right; each refusal rule on a real manifest, mutated."""

from __future__ import annotations

import struct

import pytest

from gate.errors import LimitExceeded, ManifestError
from gate.extract.axml import ANDROID_NS, MAX_XML_SIZE, REFUSALS, TYPE_INT_DEC, TYPE_REFERENCE, parse_xml
from tests import axml_mutations as m

ANDROID = "http://schemas.android.com/apk/res/android"


def refused(data: bytes) -> str:
    with pytest.raises(ManifestError) as caught:
        parse_xml(data)
    assert caught.value.code.removeprefix("manifest_") in REFUSALS
    return caught.value.code


def test_reads_elements_attributes_and_typed_values_as_aapt_xmltree():
    # aapt dump xmltree locales.apk AndroidManifest.xml (recorded in badging.json):
    #   A: android:versionCode(0x0101021b)=(type 0x10)0x2a ; A: android:versionName(0x0101021c)=@0x7f...
    doc = parse_xml(m.manifest_of())
    root = doc.root
    assert (root.name, root.namespace) == ("manifest", None)
    code = root.by_id(0x0101021B)
    assert (code.name, code.namespace, code.value.type, code.value.data) == ("versionCode", ANDROID, TYPE_INT_DEC, 42)
    assert root.get("versionName").value.type == TYPE_REFERENCE
    assert root.get("package", namespace=None).raw == "com.example.hello"
    assert [e.name for e in doc.iter()][:4] == ["manifest", "uses-sdk", "uses-permission", "uses-permission"]
    assert doc.iter().__next__() is root and ANDROID_NS == ANDROID


def test_aapt2_manifest_reads():
    doc = parse_xml(m.manifest_of("aapt2_hello.apk"))
    assert [a.raw for e in doc.iter() if e.name == "uses-permission" for a in e.attributes] == [
        "android.permission.INTERNET", "android.permission.ACCESS_NETWORK_STATE"]


# --- not binary XML, truncation, chunk headers -------------------------------------------------------------------

def test_plain_text_and_random_bytes_are_not_binary_xml():
    assert refused(b'<?xml version="1.0"?><manifest package="a.b"/>') == "manifest_not_binary_xml"
    assert refused(b"\x7fELF" + bytes(60)) == "manifest_not_binary_xml"
    assert refused(b"PK\x03\x04" + bytes(range(256))) == "manifest_not_binary_xml"
    assert refused(b"") == "manifest_not_binary_xml"


@pytest.mark.parametrize("cut", [8, 100, -4, -1])
def test_truncated(cut):
    data = m.manifest_of()
    assert refused(data[:cut]) in ("manifest_truncated", "manifest_bad_chunk")


def test_truncated_keeping_declared_size_is_truncated():
    data = m.manifest_of()
    assert refused(data[:-24]) in ("manifest_truncated", "manifest_bad_chunk")
    assert refused(data[:len(data) // 2]) == "manifest_truncated"


def test_trailing_bytes_are_refused():
    assert refused(m.manifest_of() + bytes(8)) == "manifest_bad_chunk"


def test_nonstandard_header_sizes():
    data = m.manifest_of()
    assert refused(m.put(data, 2, "<H", 12)) == "manifest_bad_chunk"  # document header
    start = m.element(data, "uses-sdk")
    assert refused(m.put(data, start.offset + 2, "<H", 20)) == "manifest_bad_chunk"
    pool = m.of_type(data, m.STRING_POOL)[0]
    assert refused(m.put(data, pool.offset + 2, "<H", 32)) == "manifest_bad_chunk"


def test_chunk_overrunning_its_parent():
    data = m.manifest_of()
    start = m.element(data, "uses-sdk")
    assert refused(m.put(data, start.offset + 4, "<I", len(data) * 2)) in ("manifest_bad_chunk", "manifest_truncated")


def test_unknown_chunk_type_is_refused():
    data = m.manifest_of()
    first_node = m.of_type(data, m.START_NS)[0]
    assert refused(m.insert(data, first_node.offset, struct.pack("<HHI", 0x0777, 8, 8))) == "manifest_bad_chunk"


def test_second_string_pool_is_refused():
    # The device lets a later pool replace the first; tools read the first.
    data = m.manifest_of()
    pool = m.of_type(data, m.STRING_POOL)[0]
    first_node = m.of_type(data, m.START_NS)[0]
    assert refused(m.insert(data, first_node.offset, data[pool.offset:pool.end])) == "manifest_bad_chunk"


# --- string pool ------------------------------------------------------------------------------------------------

def test_string_offset_out_of_bounds():
    data = m.manifest_of()
    pool = m.of_type(data, m.STRING_POOL)[0]
    assert refused(m.put(data, pool.offset + 28, "<I", pool.size)) == "manifest_string_pool"


def test_string_count_larger_than_offsets():
    data = m.manifest_of()
    pool = m.of_type(data, m.STRING_POOL)[0]
    assert refused(m.put(data, pool.offset + 8, "<I", 100_000)) == "manifest_string_pool"


def test_string_length_past_its_terminator():
    data = m.manifest_of()
    pos = m.string_offset(data, m.string_index(data, "package"))
    assert refused(m.put(data, pos, "<H", 8)) == "manifest_string_pool"  # "package" + NUL is 7 + 1


def test_lone_surrogate_is_refused():
    data = m.manifest_of()
    pos = m.string_offset(data, m.string_index(data, "package"))
    assert refused(m.put(data, pos + 2, "<H", 0xD800)) == "manifest_string_pool"


def test_string_index_out_of_range():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "uses-sdk", "minSdkVersion")
    assert refused(m.put(data, pos + 4, "<I", 5000)) == "manifest_string_pool"


def test_unknown_pool_flags():
    data = m.manifest_of()
    pool = m.of_type(data, m.STRING_POOL)[0]
    assert refused(m.put(data, pool.offset + 16, "<I", 0x200)) == "manifest_string_pool"


# --- resource map and attributes ------------------------------------------------------------------------------------

def test_resource_id_of_another_attribute_is_refused():
    # The device reads android attributes by id: versionCode's name with versionName's id is an attack.
    data = m.manifest_of()
    assert refused(m.put(data, m.resource_map_index(data, 0x0101021B), "<I", 0x0101021C)) == "manifest_resource_map"


def test_attribute_with_id_but_no_namespace_is_refused():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "versionCode")
    assert refused(m.put(data, pos, "<I", 0xFFFFFFFF)) == "manifest_resource_map"


def test_android_attribute_without_id_is_refused():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "platformBuildVersionName")
    assert refused(m.put(data, pos, "<I", m.string_index(data, ANDROID))) == "manifest_resource_map"


@pytest.mark.parametrize("field, value", [(32, 24), (32, 16), (34, 24), (34, 16)])
def test_attribute_start_and_size_other_than_20(field, value):
    data = m.manifest_of()
    start = m.element(data, "manifest")
    assert refused(m.put(data, start.offset + field - 8 + 8, "<H", value)) == "manifest_attribute_layout"


def test_duplicate_attribute():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "platformBuildVersionName")
    other = m.string_index(data, "platformBuildVersionCode")
    assert refused(m.put(data, pos + 4, "<I", other)) == "manifest_duplicate_attribute"


def test_attributes_out_of_id_order():
    data = m.manifest_of()
    first = m.attribute_offset(data, "manifest", "versionCode")
    second = m.attribute_offset(data, "manifest", "versionName")
    swapped = bytearray(data)
    swapped[first:first + 20], swapped[second:second + 20] = data[second:second + 20], data[first:first + 20]
    assert refused(bytes(swapped)) == "manifest_attribute_layout"


# --- typed values and structure ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, value", [("<H", 12), ("<H", 0)])
def test_res_value_size_other_than_8(fmt, value):
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "versionCode")
    assert refused(m.put(data, pos + 12, fmt, value)) == "manifest_value_invalid"


def test_res_value_res0_and_unknown_type():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "versionCode")
    assert refused(m.put(data, pos + 14, "<B", 1)) == "manifest_value_invalid"
    assert refused(m.put(data, pos + 15, "<B", 0x0B)) == "manifest_value_invalid"


def test_raw_and_typed_strings_must_agree():
    data = m.manifest_of()
    pos = m.attribute_offset(data, "manifest", "package")
    assert refused(m.put(data, pos + 8, "<I", m.string_index(data, "uses-sdk"))) == "manifest_value_invalid"


def test_second_root_element():
    data = m.manifest_of()
    final_ns_end = m.of_type(data, m.END_NS)[-1]
    changed = m.insert(data, final_ns_end.offset, m.element_bytes(data, "uses-sdk"))
    assert refused(changed) == "manifest_root_invalid"


def test_mismatched_end_element():
    data = m.manifest_of()
    end = m.of_type(data, m.END_ELEMENT)[0]
    assert refused(m.put(data, end.offset + 20, "<I", m.string_index(data, "manifest"))) == "manifest_structure"


def test_too_large():
    with pytest.raises(LimitExceeded) as caught:
        parse_xml(b"\x03\x00\x08\x00" + bytes(MAX_XML_SIZE))
    assert caught.value.code == "manifest_too_large"


def test_domain_changes_the_code_prefix():
    with pytest.raises(ManifestError) as caught:
        parse_xml(b"<xml/>", domain="xml")
    assert caught.value.code == "xml_not_binary_xml"


def test_random_byte_changes_never_leak_library_exceptions():
    # Seeded, so a failure reproduces; anything but a GateError (struct.error, IndexError...) is a bug.
    import random

    from gate.errors import GateError
    from gate.extract.manifest import read_manifest

    rng = random.Random(20240601)
    manifest, resources = m.manifest_of(), m.apk_member("locales.apk", "resources.arsc")
    for _ in range(300):
        target = bytearray(manifest if rng.random() < 0.6 else resources)
        for _ in range(rng.randint(1, 3)):
            target[rng.randrange(len(target))] = rng.randrange(256)
        pair = (bytes(target), resources) if target[:2] == manifest[:2] else (manifest, bytes(target))
        try:
            read_manifest(*pair)
        except GateError:
            pass
