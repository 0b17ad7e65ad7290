"""Layouts other build tools write, which Android, aapt and apksigner read alike: the gate reads them too.

Each rewrite is byte-level (fixtures/axml_variants.py) on a real aapt-built manifest; the whole-APK versions are
fixtures whose aapt/apksigner answers are recorded in fixtures/apks/oracle.json (compared in
test_features_vs_aapt.py and test_signing_oracle.py). Here: the same facts as the original, and the rules that stay.
"""

from __future__ import annotations

import struct

import pytest

from fixtures import axml_variants
from gate.errors import ManifestError
from gate.extract.axml import parse_xml
from gate.extract.manifest import read_manifest
from tests import axml_mutations as m
from tests.oracle import FIXTURES, records

RESOURCES = m.apk_member("locales.apk", "resources.arsc")


def _facts(data: bytes):
    facts = read_manifest(data, RESOURCES)
    return (facts.package, facts.version_code, facts.version_name, facts.min_sdk, facts.target_sdk, facts.label,
            facts.labels, facts.permissions)


@pytest.mark.parametrize("rewrite", [
    axml_variants.without_namespace_nodes,
    axml_variants.padded_nodes,
    lambda data: axml_variants.recoded_pool(data, utf8=True),
    lambda data: axml_variants.recoded_pool(axml_variants.recoded_pool(data, utf8=True), utf8=False),
], ids=["undeclared-namespace", "padded-nodes", "utf8-pool", "utf16-pool-again"])
def test_rewritten_manifest_reads_as_the_original(rewrite):
    original = m.manifest_of()
    changed = rewrite(original)
    assert changed != original or rewrite is not axml_variants.without_namespace_nodes
    assert _facts(changed) == _facts(original)


def test_undeclared_prefix_keeps_the_namespace_uri():
    doc = parse_xml(axml_variants.without_namespace_nodes(m.manifest_of()))
    code = doc.root.by_id(0x0101021B)
    assert code.namespace == "http://schemas.android.com/apk/res/android" and code.value.data == 42


def test_a_node_too_small_for_its_content_is_still_refused():
    # Padding may follow the content; a chunk shorter than its content would make the device read the next node.
    data = m.manifest_of()
    start = m.element(data, "uses-sdk")
    with pytest.raises(ManifestError) as caught:
        parse_xml(m.put(data, start.offset + 4, "<I", start.size - 4))
    assert caught.value.code in ("manifest_bad_chunk", "manifest_truncated")


def test_unbalanced_namespace_nodes_change_nothing():
    data = m.manifest_of()
    first_end = m.of_type(data, m.END_NS)[0]
    changed = data[:first_end.offset] + data[first_end.end:]
    changed = m.with_document_size(bytearray(changed))
    assert _facts(changed) == _facts(data)


def test_the_platform_package_name_is_read():
    # PackageParser validates every package name except the platform's own "android" (framework-res.apk).
    data = m.manifest_of()
    changed = m.rewrite_string(data, m.string_index(data, "com.example.hello"), "android")
    assert read_manifest(changed, RESOURCES).package == "android"
    with pytest.raises(ManifestError) as caught:
        read_manifest(m.rewrite_string(data, m.string_index(data, "com.example.hello"), "androidx"), RESOURCES)
    assert caught.value.code == "manifest_package_invalid"


@pytest.mark.parametrize("name", ["manifest_undeclared_namespace.apk", "manifest_padded_nodes.apk",
                                  "manifest_utf8_pool.apk", "resources_sparse.apk"])
def test_other_tools_layouts_are_installable_and_read_by_aapt(name):
    # The premise of each relaxation, as recorded from the oracles: apksigner verifies the package and aapt reads
    # its manifest (facts compared field by field in test_features_vs_aapt.py).
    record = records()[name]
    assert record["apksigner"]["verifies"] and record["aapt"]["exit"] == 0
    assert (FIXTURES / name).exists()


def test_sparse_type_is_really_sparse():
    import zipfile
    with zipfile.ZipFile(FIXTURES / "resources_sparse.apk") as archive:
        table = archive.read("resources.arsc")
    flags = []
    pos = 12
    while pos < len(table):
        ctype, header, size = struct.unpack_from("<HHI", table, pos)
        if ctype == 0x0200:
            inner = pos + header
            while inner < pos + size:
                t, _h, s = struct.unpack_from("<HHI", table, inner)
                if t == 0x0201:
                    flags.append(table[inner + 9])
                inner += s
        pos += size
    assert 1 in flags  # FLAG_SPARSE on the zh-CN type
