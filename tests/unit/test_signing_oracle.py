"""Every fixture APK against apksigner's recorded answer (fixtures/apks/oracle.json, recorded by fixtures/record.py).

Debian's apksigner (0.9) cannot make or report v3.1 blocks (``"v31": null``); there our v31 must be False.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from gate.errors import ContainerError
from gate.extract.container import ApkContainer
from gate.extract.signing import verify_apk_signatures

APK_DIR = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"
ORACLE = json.loads((APK_DIR / "oracle.json").read_text()) if (APK_DIR / "oracle.json").exists() else {"apks": {}}
CASES = sorted(name for name, rec in ORACLE["apks"].items() if rec.get("apksigner") and
               rec["apksigner"].get("exception") is None and (APK_DIR / name).exists())
FIELDS = ("cert_sha256", "cert_sha1", "cert_md5", "public_key_sha256", "subject", "key_algorithm", "key_size")


# Archives the container refuses before any signature is looked at (the gate answers package_malformed, which
# never allows). Where apksigner nevertheless says "Verifies", the gate is stricter on purpose:
# - janus_v1.apk: data prepended to a v1-only APK (the Janus attack, CVE-2017-13156). JAR signing does not cover
#   bytes before the first entry, so apksigner verifies it; Android < 7 would run the prepended DEX.
STRICTER_THAN_APKSIGNER = {"janus_v1.apk"}


def _open(name: str):
    try:
        return ApkContainer.open(APK_DIR / name)
    except ContainerError:
        return None


def _readable(name: str) -> bool:
    container = _open(name)
    if container is None:
        return False
    container.close()
    return True


# The signature comparisons run on every fixture the container accepts; the refused ones are covered by
# test_container_refusals (they are blocked as package_malformed before any signature is looked at).
READABLE = [name for name in CASES if _readable(name)]


def _verify(name: str):
    rec = ORACLE["apks"][name]
    aapt = rec.get("aapt") or {}
    container = _open(name)
    with container:
        return verify_apk_signatures(container, min_sdk=aapt.get("min_sdk") or 1,
                                     target_sdk=aapt.get("target_sdk")), rec["apksigner"]


def test_container_refusals() -> None:
    refused = set(CASES) - set(READABLE)
    assert refused, "the forged fixtures (duplicates, Janus, ...) must be refused by the container"
    accepted_by_apksigner = {name for name in refused if ORACLE["apks"][name]["apksigner"]["verifies"]}
    assert accepted_by_apksigner <= STRICTER_THAN_APKSIGNER


@pytest.mark.parametrize("name", READABLE)
def test_verdict_matches_apksigner(name: str) -> None:
    facts, oracle = _verify(name)
    assert facts.verified == oracle["verifies"], facts.errors
    if not facts.verified:
        assert facts.errors, "a rejected APK must say which rule failed"


@pytest.mark.parametrize("name", READABLE)
def test_signers_match_apksigner(name: str) -> None:
    facts, oracle = _verify(name)
    ours = sorted(tuple(s.as_dict()[f] for f in FIELDS) for s in facts.signers)
    theirs = sorted(tuple(s[f] for f in FIELDS) for s in oracle["signers"])
    assert ours == theirs


@pytest.mark.parametrize("name", READABLE)
def test_schemes_match_apksigner(name: str) -> None:
    facts, oracle = _verify(name)
    for scheme, expected in oracle["schemes"].items():
        assert facts.schemes[scheme] == bool(expected), scheme


@pytest.mark.parametrize("name", READABLE)
def test_lineage_matches_apksigner(name: str) -> None:
    facts, oracle = _verify(name)
    expected = [s["cert_sha256"] for s in (oracle.get("lineage") or [])]
    assert [s.cert_sha256 for s in facts.lineage] == expected


def test_never_verified_where_apksigner_refuses() -> None:
    wrong = []
    for name in CASES:
        if ORACLE["apks"][name]["apksigner"]["verifies"] or (container := _open(name)) is None:
            continue
        with container:
            aapt = ORACLE["apks"][name].get("aapt") or {}
            if verify_apk_signatures(container, min_sdk=aapt.get("min_sdk") or 1,
                                     target_sdk=aapt.get("target_sdk")).verified:
                wrong.append(name)
    assert wrong == []


@pytest.mark.parametrize("name", READABLE)
def test_source_stamp_matches_apksigner(name: str) -> None:
    # apksigner prints "Verified for SourceStamp" only for an APK that verifies; a failed stamp is a warning and
    # never changes the verdict (stamp_signature_corrupt/malformed, stamp_block_missing, stamp_certificate_other).
    facts, oracle = _verify(name)
    assert facts.source_stamp == oracle["source_stamp"]


@pytest.mark.parametrize("name", READABLE)
def test_newer_platforms_match_apksigner_from_api_24(name: str) -> None:
    # apksigner verify --min-sdk-version 24 (recorded for APKs that fail from a minSdkVersion below 24): what
    # Android 7.0+ verifies. The gate names those signers beside its verdict, never in ``signers``.
    facts, oracle = _verify(name)
    from_24 = ORACLE["apks"][name].get("apksigner_min_sdk_24")
    later = facts.verified_from_sdk
    if from_24 is None or not from_24["verifies"]:
        assert later is None
        return
    assert not facts.verified and facts.signers == ()
    # A v3 signature alone holds from Android 9 (API 28): Android 7-8 do not read v3, apksigner 31 does not model it.
    first = 24 if from_24["schemes"]["v2"] else 28
    assert later.min_sdk == first
    assert later.unverified_sdks == (ORACLE["apks"][name]["aapt"]["min_sdk"] or 1, first - 1)
    assert {k: v for k, v in later.schemes.items() if v} == {k: v for k, v in from_24["schemes"].items() if v}
    ours = sorted(tuple(s.as_dict()[f] for f in FIELDS) for s in later.signers)
    theirs = sorted(tuple(s[f] for f in FIELDS) for s in from_24["signers"])
    assert ours == theirs


def test_v2_only_below_24_names_its_signer_from_24_but_does_not_verify() -> None:
    record = ORACLE["apks"]["min_sdk_21_v2_only.apk"]
    assert not record["apksigner"]["verifies"] and record["apksigner_min_sdk_24"]["verifies"]
    facts, _ = _verify("min_sdk_21_v2_only.apk")
    assert not facts.verified and facts.signers == () and facts.errors
    assert facts.verified_from_sdk.unverified_sdks == (21, 23)
    assert facts.verified_from_sdk.schemes["v2"] and not facts.verified_from_sdk.schemes["v1"]
