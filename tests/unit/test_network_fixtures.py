"""Recall and precision of the network scanner per location, on APKs built with aapt/smali/gcc.

fixtures/network/build.py planted the hosts and IPs in fixtures/network/expected.json beside decoys of each
false-positive kind; the expected values are what was planted, not what the scanner once said.
"""

from __future__ import annotations

import json
import pathlib
import zipfile

import pytest

from gate.extract.axml import parse_xml
from gate.extract.network import NetworkScanner

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "network"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
APKS = ["planted.apk", "planted_utf16.apk"]


def scan(apk: str):
    scanner = NetworkScanner()
    with zipfile.ZipFile(FIXTURES / apk) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == "AndroidManifest.xml":
                scanner.feed_manifest(parse_xml(data))
            elif scanner.wants(info.filename):
                scanner.feed(info.filename, data)
    return scanner.facts()


@pytest.fixture(scope="module", params=APKS)
def facts(request):
    return scan(request.param)


def found_in(facts, source: str) -> tuple[set[str], set[str]]:
    hosts = {h.host for h in facts.hosts if source in h.sources}
    ips = {i.ip for i in facts.ips if source in i.sources}
    return hosts, ips


@pytest.mark.parametrize("location", sorted(EXPECTED))
def test_recall_and_precision_per_location(facts, location):
    spec = EXPECTED[location]
    hosts, ips = found_in(facts, spec["source"])
    assert hosts == set(spec["hosts"])
    assert ips == set(spec["ips"])


def test_no_decoy_is_reported_anywhere(facts):
    reported = {h.host for h in facts.hosts} | {i.ip for i in facts.ips}
    for spec in EXPECTED.values():
        for decoy in spec["decoys"]:
            assert not any(decoy.lower() == r or decoy.lower().endswith("." + r) for r in reported), decoy


def test_every_reported_host_was_planted(facts):
    planted = {h for spec in EXPECTED.values() for h in spec["hosts"]}
    assert {h.host for h in facts.hosts} == planted


def test_hosts_carry_registrable_domain_and_third_party_label(facts):
    by_name = {h.host: h for h in facts.hosts}
    # registrable domains per the Public Suffix List rules (com.cn is a public suffix), written by hand
    assert by_name["push.dex-bare.com.cn"].registrable_domain == "dex-bare.com.cn"
    assert by_name["api.dex-planted.cn"].registrable_domain == "dex-planted.cn"
    assert by_name["open.weixin.qq.com"].third_party == "WeChat SDK (Tencent)"
    assert by_name["api.dex-planted.cn"].third_party is None


def test_output_is_sorted(facts):
    names = [h.host for h in facts.hosts]
    assert names == sorted(names)
    assert all(list(h.sources) == sorted(h.sources) for h in facts.hosts)


def test_same_host_in_two_places_lists_both_sources():
    facts = scan("planted.apk")
    by_name = {h.host: h for h in facts.hosts}
    assert by_name["res.strings-planted.com"].sources == ("resources.arsc",)
    scanner = NetworkScanner()
    scanner.feed("assets/a.txt", b"https://res.strings-planted.com/x")
    scanner.feed("assets/b.txt", b"see res.strings-planted.com")
    (fact,) = scanner.facts().hosts
    assert fact.sources == ("assets/a.txt", "assets/b.txt")


def test_every_planted_host_is_a_contact_candidate_with_evidence_from_its_location(facts):
    by_name = {h.host: h for h in facts.hosts}
    for spec in EXPECTED.values():
        for host in spec["hosts"]:
            fact = by_name[host]
            assert fact.kind == "contact", host
            assert spec["source"] in {e.source for e in fact.evidence if e.reference is None}, host
            assert all(e.excerpt for e in fact.evidence), host
    by_ip = {i.ip: i for i in facts.ips}
    # the planted addresses, classed by hand (RFC 5737/3849 documentation, RFC 1918 private)
    assert {ip: by_ip[ip].scope for ip in by_ip} == {
        "203.0.113.10": "documentation", "2001:db8::10": "documentation", "198.51.100.20": "documentation",
        "10.20.30.40": "private", "119.29.29.29": "public", "2400:3200::1": "public"}
    assert by_name["nsc.planted-config.cn"].evidence[0].how == "network_config"
    assert by_name["links.manifest-planted.cn"].evidence[0].how == "deep_link"
    assert by_name["native.so-planted.cn"].evidence[0].how == "native"
    assert by_name["api.dex-planted.cn"].evidence[0].how == "url"
