"""Packers (加固) recognised as APKiD recognises them, on real signed fixtures; look-alikes never count.

The expected answers are APKiD's (the field's reference tool), recorded by ``python -m fixtures.packers record`` in
fixtures/packers/apkid.json; tests/integration/test_protection_apkid.py re-runs APKiD to prove the record current.
Each APKiD name is mapped to the gate's packer by the names each signature declares (``PackerSignature.apkid``).
"""

from __future__ import annotations

import json
import pathlib
import struct

import pytest

from fixtures.packers import FOOTPRINTS, HIDDEN_ENDPOINT
from gate.extract.pipeline import extract_features
from gate.extract.protection import SIGNATURES, PackerSignature, ProtectionReader, dex_strings_present

ROOT = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
RECORD = json.loads((ROOT / "packers" / "apkid.json").read_text())
BY_APKID = {name: s.key for s in SIGNATURES for name in s.apkid}
FOOTPRINT = {fp.name: fp for fp in FOOTPRINTS}


def expected_keys(apkid_names: list[str]) -> set[str]:
    unknown = [n for n in apkid_names if n not in BY_APKID]
    assert not unknown, f"APKiD names packers the gate has no signature for: {unknown}"
    return {BY_APKID[n] for n in apkid_names}


def gate_keys(path: pathlib.Path) -> set[str]:
    """The packers the gate names (also on fixtures it refuses to read whole: APKiD reads them as far as it can)."""
    facts = extract_features(path)
    return {p.key for p in facts.protection.packers} if facts.protection else set()


@pytest.mark.parametrize("name", sorted(RECORD["packers"]))
def test_packer_fixtures_agree_with_apkid(name):
    assert gate_keys(ROOT / "packers" / name) == expected_keys(RECORD["packers"][name])


@pytest.mark.parametrize("name", sorted(RECORD["fixtures"]))
def test_every_other_fixture_agrees_with_apkid(name):
    assert gate_keys(ROOT / name) == expected_keys(RECORD["fixtures"][name])


def test_the_record_covers_eight_packers_and_five_lookalikes():
    packed = {n: v for n, v in RECORD["packers"].items() if n.startswith("packed_")}
    assert all(packed.values()), "every packed fixture is a packer for APKiD"
    assert len({k for v in packed.values() for k in expected_keys(v)}) >= 8
    lookalikes = [n for n in RECORD["packers"] if n.startswith("lookalike_")]
    assert len(lookalikes) >= 5 and not any(RECORD["packers"][n] for n in lookalikes)


@pytest.mark.parametrize("name", sorted(n for n in FOOTPRINT if n.startswith("lookalike_")))
def test_lookalikes_are_ordinary_apps_whose_endpoints_are_read(name):
    facts = extract_features(ROOT / "packers" / name)
    assert facts.protection is None
    assert "api.packed-backend.cn" in {h.host for h in facts.network.hosts}
    assert facts.application_class == FOOTPRINT[name].application


@pytest.mark.parametrize("name", sorted(n for n in FOOTPRINT if n.startswith("packed_")))
def test_packed_facts_show_the_stub_its_libraries_and_hidden_code(name):
    fp = FOOTPRINT[name]
    facts = extract_features(ROOT / "packers" / name)
    assert facts.application_class == fp.application
    assert set(facts.native_libraries) == {p for p in fp.libraries if p.startswith("lib/")}
    assert facts.protection.code_hidden
    # The endpoint is inside the encrypted payload: this package shows none of it (what the decision must say).
    assert HIDDEN_ENDPOINT.split("/")[2] not in {h.host for h in facts.network.hosts}
    evidence = {(e.source, e.how) for p in facts.protection.packers for e in p.evidence}
    if fp.application:
        assert ("AndroidManifest.xml", "application_class") in evidence
    for path in fp.libraries + fp.payloads:
        hows = {h for s, h in evidence if s == path}
        assert hows <= {"native_library", "payload"}


def test_evidence_as_dict_shape():
    facts = extract_features(ROOT / "packers" / "packed_jiagu.apk").as_dict()
    jiagu = facts["protection"]["packers"][0]
    assert jiagu["key"] == "jiagu" and "360" in jiagu["name"]
    assert {"source": "AndroidManifest.xml", "how": "application_class", "marker": "com.stub.StubApp"} \
        in jiagu["evidence"]
    assert {"source": "classes.dex", "how": "dex_class", "marker": "Lcom/stub/StubApp;"} in jiagu["evidence"]
    assert facts["protection"]["code_hidden"] is True


def test_names_match_exactly_never_as_substrings():
    reader = ProtectionReader()
    reader.feed_entry_names(["lib/arm64-v8a/libjiagu_helper.so", "lib/armeabi/libjiagu.so.bak",
                             "assets/sub/libjiagu.so", "assets/ijiami.dat.txt", "res/raw/libjiagu.so",
                             "lib/armeabi-v7a/libshella-notaversion.so"])
    reader.feed_application_class("com.stub.StubApplication")
    assert reader.facts() is None
    reader.feed_entry_names(["lib/armeabi-v7a/libshella-4.1.0.29.so"])
    assert [p.key for p in reader.facts().packers] == ["legu"]


def test_dexprotector_needs_two_of_its_generic_names():
    reader = ProtectionReader()
    reader.feed_entry_names(["assets/dp.mp3"])
    assert reader.facts() is None
    reader.feed_entry_names(["assets/classes.dex.dat"])
    assert [p.key for p in reader.facts().packers] == ["dexprotector"]


def test_malformed_dex_tables_give_no_answer_not_an_error():
    header = bytearray(0x70)
    struct.pack_into("<II", header, 0x38, 5, 0x60)  # five string ids past the end
    assert dex_strings_present(bytes(header), [b"Lcom/stub/StubApp;"]) == []
    struct.pack_into("<II", header, 0x38, 1, 0x68)
    struct.pack_into("<I", header, 0x68, 0xFFFFFF)  # a string offset past the end
    assert dex_strings_present(bytes(header), [b"Lcom/stub/StubApp;"]) == []


def test_a_split_set_shows_the_packer_of_its_apks(tmp_path):
    import zipfile

    apks = tmp_path / "packed.apks"
    with zipfile.ZipFile(apks, "w") as z:  # the .apks layout bundletool writes: splits/base-master.apk
        z.write(ROOT / "packers" / "packed_legu.apk", "splits/base-master.apk")
    facts = extract_features(apks)
    assert facts.format == "apks" and not facts.problems
    assert [p.key for p in facts.protection.packers] == ["legu"] and facts.protection.code_hidden
    sources = {e.source for e in facts.protection.packers[0].evidence}
    assert "splits/base-master.apk!/lib/armeabi-v7a/libshella-3.0.0.0.so" in sources
    assert "splits/base-master.apk!/lib/armeabi-v7a/libshellx-3.0.0.0.so" in facts.native_libraries


def test_a_reader_given_its_own_signatures_finds_their_dex_classes():
    """The signatures a reader is built with decide every rule, the DEX one included (not only the shipped set)."""
    import zipfile

    with zipfile.ZipFile(ROOT / "packers" / "packed_jiagu.apk") as z:
        dex = z.read("classes.dex")
    own = PackerSignature("inhouse", "In-house shell", "a store's own test signature", (),
                          dex_classes=frozenset({"Lcom/stub/StubApp;"}))
    reader = ProtectionReader((own,))
    reader.feed_dex("classes.dex", dex)
    facts = reader.facts()
    assert [p.key for p in facts.packers] == ["inhouse"]
    assert [(e.source, e.how, e.marker) for e in facts.packers[0].evidence] == \
        [("classes.dex", "dex_class", "Lcom/stub/StubApp;")]


def test_evidence_order_does_not_depend_on_the_hash_seed():
    """The same package gives the same facts in every process: stub classes found in a DEX come in one order."""
    import os
    import subprocess
    import sys

    code = ("import json, sys; from gate.extract.pipeline import extract_features; "
            "print(json.dumps(extract_features(sys.argv[1]).as_dict()['protection'], sort_keys=True))")
    answers = {subprocess.run([sys.executable, "-c", code, str(ROOT / "packers" / "packed_yidun.apk")],
                              env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              capture_output=True, text=True, check=True).stdout for seed in (0, 1, 2, 3)}
    assert len(answers) == 1 and "dex_class" in answers.pop()
