"""Regressions: the manifest values that decide which signature rules apply must be read as apksigner reads
them, and must reach the signature check at all.

* android:minSdkVersion typed as a boolean (or a reference, a float, an unknown codename) makes Debian's apksigner
  0.9 stop with "MinSdkVersionException: Failed to determine APK's minimum supported platform version" (checked
  by re-signing such a mutation of unsigned.apk with fixtures/keys/rsa2048.p12). The gate used to resolve or coerce
  the value (21, or 10000 for any string) and verify — letting the manifest pick which schemes get checked.
* android:targetSandboxVersion was never read: the pipeline asked the manifest for a field it did not have and
  always passed 1, so a v1-only APK targeting sandbox 2 verified although apksig reports
  NO_SIG_FOR_TARGET_SANDBOX_VERSION.
"""

from __future__ import annotations

import io
import pathlib
import zipfile

from gate.extract.axml import TYPE_INT_BOOLEAN, TYPE_INT_DEC, TYPE_INT_HEX, TYPE_REFERENCE, TYPE_STRING, TypedValue
from gate.extract.manifest import read_manifest
from gate.extract.pipeline import extract_features
from gate.extract.signing import min_sdk_for_verification
from tests import axml_mutations as m

APKS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"
MANIFEST = "AndroidManifest.xml"


def _with_manifest(apk: str, manifest: bytes, tmp_path: pathlib.Path) -> pathlib.Path:
    """The fixture with AndroidManifest.xml replaced; every other entry copied as it was."""
    source = zipfile.ZipFile(APKS / apk)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = info.compress_type
            target.writestr(copy, manifest if info.filename == MANIFEST else source.read(info.filename))
    path = tmp_path / f"mutated_{apk}"
    path.write_bytes(out.getvalue())
    return path


def _min_sdk_typed(apk: str, value_type: int, data: int) -> bytes:
    manifest = zipfile.ZipFile(APKS / apk).read(MANIFEST)
    at = m.attribute_offset(manifest, "uses-sdk", "minSdkVersion")
    return m.put(manifest, at + 12, "<HBBI", 8, 0, value_type, data)  # Res_value of the attribute


def test_boolean_min_sdk_is_not_verified(tmp_path):
    facts = extract_features(_with_manifest("v1_v2_v3.apk", _min_sdk_typed("v1_v2_v3.apk", TYPE_INT_BOOLEAN, 21),
                                            tmp_path))
    assert facts.min_sdk == 21  # what the device reads
    assert not facts.signature.verified
    assert [e.code for e in facts.signature.errors] == ["min_sdk_undetermined"]


def test_min_sdk_as_apksig_reads_it():
    assert min_sdk_for_verification(None) == 1  # no minSdkVersion: API level 1
    assert min_sdk_for_verification(TypedValue(TYPE_INT_DEC, 21)) == 21
    assert min_sdk_for_verification(TypedValue(TYPE_INT_HEX, 0x1C)) == 28  # apksigner 0.9 verifies hex: checked
    assert min_sdk_for_verification(TypedValue(TYPE_INT_DEC, 0xFFFFFFFB)) == 1  # negative: apksig's max(1, …)
    # apksig's codename table: the release before the one named; letters after "O" add one each, "A"/"B" are 1.
    assert min_sdk_for_verification(TypedValue(TYPE_STRING, 0, "N")) == 23
    assert min_sdk_for_verification(TypedValue(TYPE_STRING, 0, "Q")) == 27
    assert min_sdk_for_verification(TypedValue(TYPE_STRING, 0, "Baklava")) == 1
    for refused in (TypedValue(TYPE_INT_BOOLEAN, 21), TypedValue(TYPE_REFERENCE, 0x7F050000),
                    TypedValue(0x04, 0x41A80000), TypedValue(TYPE_STRING, 0, "uses-sdk"), TypedValue(TYPE_STRING, 0, "")):
        assert min_sdk_for_verification(refused) is None


def _sandbox_manifest(apk: str, version: int) -> bytes:
    """The fixture's manifest with compileSdkVersionCodename turned into android:targetSandboxVersion=version.

    The attribute's name string, resource-map id and value are rewritten in place, and it is moved before
    compileSdkVersion to keep aapt's resource-id order (0x0101054c < 0x01010572)."""
    data = zipfile.ZipFile(APKS / apk).read(MANIFEST)
    renamed = m.attribute_offset(data, "manifest", "compileSdkVersionCodename")
    before = m.attribute_offset(data, "manifest", "compileSdkVersion")
    data = m.rewrite_string(data, m.string_index(data, "compileSdkVersionCodename"), "targetSandboxVersion")
    data = m.put(data, m.resource_map_index(data, 0x01010573), "<I", 0x0101054C)
    data = m.put(data, renamed + 8, "<IHBBI", 0xFFFFFFFF, 8, 0, TYPE_INT_DEC, version)
    out = bytearray(data)
    out[before:before + 20], out[renamed:renamed + 20] = data[renamed:renamed + 20], data[before:before + 20]
    return bytes(out)


def test_target_sandbox_version_is_read():
    resources = zipfile.ZipFile(APKS / "v1_only.apk").read("resources.arsc")
    assert read_manifest(_sandbox_manifest("v1_only.apk", 2), resources).target_sandbox_version == 2
    assert read_manifest(zipfile.ZipFile(APKS / "v1_only.apk").read(MANIFEST), resources).target_sandbox_version == 1


def test_target_sandbox_2_reaches_the_signature_rule(tmp_path):
    # The replaced manifest also breaks the JAR digest; what matters is that the sandbox rule now fires first.
    facts = extract_features(_with_manifest("v1_only.apk", _sandbox_manifest("v1_only.apk", 2), tmp_path))
    assert not facts.problems
    assert not facts.signature.verified
    assert facts.signature.errors[0].message.startswith("no_sig_for_target_sandbox:")
