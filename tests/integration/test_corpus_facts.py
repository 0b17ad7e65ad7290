"""Every real-world corpus APK (fixtures/corpus.py) read as aapt and apksigner read it, field by field.

The expected values are the recorded answers in fixtures/apks/corpus_oracle.json (``python -m fixtures.corpus
record``; re-checked against the live tools in test_corpus.py). A corpus APK the gate refuses must be listed in
``REFUSED_ON_PURPOSE`` with the problem code, and that code must be a deliberate refusal documented in the README
("How a package is read") and docs/readers.md: nothing real is refused by accident.
"""

from __future__ import annotations

import functools
import pathlib

import pytest

from fixtures import corpus
from gate.extract.pipeline import extract_features

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECORDED = corpus.recorded()
FIELDS = ("cert_sha256", "cert_sha1", "cert_md5", "public_key_sha256", "subject", "key_algorithm", "key_size")
# name -> problem code. Empty: every corpus APK is read. An entry needs a documented, deliberate rule.
REFUSED_ON_PURPOSE: dict[str, str] = {}
NAMES = [item.name for item in corpus.entries()]


@functools.cache
def _facts(name: str):
    return extract_features(corpus.path(name))


@pytest.fixture
def facts(corpus_apk):
    def get(name: str):
        corpus_apk(name)  # fails with the fetch command when the corpus is missing
        return _facts(name)
    return get


def test_refusals_on_purpose_are_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readers = (ROOT / "docs" / "readers.md").read_text(encoding="utf-8")
    for code in REFUSED_ON_PURPOSE.values():
        assert f"`{code}`" in readme and f"`{code}`" in readers, code


@pytest.mark.parametrize("name", NAMES)
def test_read_or_refused_by_a_documented_rule(name, facts):
    found = facts(name)
    codes = [p.code for p in found.problems]
    if name in REFUSED_ON_PURPOSE:
        assert codes == [REFUSED_ON_PURPOSE[name]]
    else:
        assert codes == [], found.problems
        assert found.format == "apk"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in REFUSED_ON_PURPOSE])
def test_manifest_facts_equal_aapt(name, facts):
    found, expected = facts(name), RECORDED[name]["aapt"]
    assert expected is not None and expected["exit"] == 0
    assert found.package == expected["package"]
    assert found.version_code & 0xFFFFFFFF == (expected["version_code"] or 0)  # aapt prints the low word
    assert found.version_name == expected["version_name"]
    min_sdk = expected["min_sdk"] if expected["min_sdk"] is not None else 1
    assert found.min_sdk == min_sdk
    assert found.target_sdk == (expected["target_sdk"] if expected["target_sdk"] is not None else min_sdk)
    assert found.label == expected["label"]
    assert found.labels == expected["labels"]
    assert list(found.permissions) == expected["permissions"]


@pytest.mark.parametrize("name", [n for n in NAMES if n not in REFUSED_ON_PURPOSE])
def test_signature_facts_equal_apksigner(name, facts):
    signature, expected = facts(name).signature, RECORDED[name]["apksigner"]
    assert signature.verified == expected["verifies"], signature.errors
    assert signature.source_stamp == expected["source_stamp"]
    if not signature.verified:
        assert signature.errors
    for scheme, verified in expected["schemes"].items():
        assert signature.schemes[scheme] == bool(verified), scheme
    ours = sorted(tuple(s.as_dict()[f] for f in FIELDS) for s in signature.signers)
    assert ours == sorted(tuple(s[f] for f in FIELDS) for s in expected["signers"])
    assert [s.cert_sha256 for s in signature.lineage] == [s["cert_sha256"] for s in expected["lineage"] or ()]


def test_android_namespace_written_as_its_prefix_is_read_as_aapt_reads_it(facts, corpus_apk):
    # Falling Blocks (a Godot export): the <uses-permission> android:name attributes carry the resource id but name
    # their namespace by the prefix "android". Android reads them by id, aapt too, and so does the gate.
    import zipfile

    from gate.extract.axml import parse_xml

    name = "org.sajeg.fallingblocks_3.apk"
    found = facts(name)
    with zipfile.ZipFile(corpus.path(name)) as archive:
        document = parse_xml(archive.read("AndroidManifest.xml"))
    prefixed = [(e.name, a.name) for e in document.iter() for a in e.attributes if a.namespace_as_prefix]
    assert prefixed == [("uses-permission", "name")] * 2
    assert found.problems == ()
    assert list(found.permissions) == RECORDED[name]["aapt"]["permissions"] == [
        "android.permission.VIBRATE", "android.permission.WRITE_USER_DICTIONARY"]
