"""APKiD itself, run now: the record the packer tests compare with (fixtures/packers/apkid.json) is current, and on
the real-app corpus the gate names the packers APKiD names — with one disagreement, said here and in
docs/network.md: APKiD's DexGuard rule fires on Debian's framework-res.apk (Android's own resources, no DEX at all)
on four bytes of compressed data; the gate, which matches names and descriptors only, names no packer there."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests import requirements

ROOT = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
RECORD = json.loads((ROOT / "packers" / "apkid.json").read_text())
# APKiD answers the gate does not share, and why (each checked below to still be APKiD's answer).
KNOWN_DISAGREEMENTS = {"framework-res.apk": ["DexGuard"]}  # byte-pattern hit in compressed resources


@pytest.fixture(scope="module")
def apkid():
    requirements.module("apkid")
    from fixtures import packers

    return packers


@pytest.mark.oracle
def test_the_recorded_apkid_answers_are_current(apkid):
    packed = sorted((ROOT / "packers").glob("*.apk"))
    assert apkid.apkid_packers(packed) == RECORD["packers"]
    assert RECORD["tool"] == f"apkid {apkid.apkid_version()}"


@pytest.mark.oracle
def test_real_apps_agree_with_apkid(apkid):
    from fixtures import corpus
    from gate.extract.pipeline import extract_features
    from tests.unit.test_protection import expected_keys

    names = [e.name for e in corpus.ENTRIES if e.name.endswith(".apk")]
    paths = [requirements.corpus_apk(name) for name in names]
    answers = apkid.apkid_packers(paths)
    for name, path in zip(names, paths):
        facts = extract_features(path)
        found = {p.key for p in facts.protection.packers} if facts.protection else set()
        if name in KNOWN_DISAGREEMENTS:
            assert answers[name] == KNOWN_DISAGREEMENTS[name] and not found, name
        else:
            assert found == expected_keys(answers[name]), name
