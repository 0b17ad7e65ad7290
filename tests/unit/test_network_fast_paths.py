"""The scanner's fast paths answer exactly what its general rules answer.

Three shortcuts keep the scan within its speed budget on packages with thousands of hosts: a URL right after a quote
is judged on bytes (``_quoted_contact``), a pooled string of lowercase name characters is taken as one bare token
(``_plain_name``), and authorities and strings whose hosts already have a contact occurrence are not judged again in
later entries. Each test runs the same input with the shortcut switched off — the general rules are the oracle —
and the hand-written cases also state the expected kind.
"""

from __future__ import annotations

import random
import re

import pytest

from gate.extract.network import NetworkScanner, finder
from gate.extract.network.finder import Findings, scan_region, scan_strings


def evidence_of(text: bytes, *, pooled: bool = False) -> tuple[set[str], set[str], dict]:
    findings = Findings()
    if pooled:
        scan_strings(text, findings, prefix_len=0, cache={})
    else:
        scan_region(text, findings)
    return findings.hosts, findings.ips, findings.evidence


def without(monkeypatch, name: str, value) -> None:
    monkeypatch.setattr(finder, name, value)


@pytest.mark.parametrize(("line", "host", "reference"), [
    (b'<a href="https://m1.shop-web.cn/p">x</a>', "m1.shop-web.cn", None),
    (b'{"k1": "https://cfg1.app-gate.cn/1", "k2": 3}', "cfg1.app-gate.cn", None),
    (b"src='wss://push.example-im.cn/ws'", "push.example-im.cn", None),
    (b"endpoint=https://api.example-pay.cn:8443/v2", "api.example-pay.cn", None),
    (b'<root xmlns:ex="https://ns.example-lib.org/2009/ex">', "ns.example-lib.org", "xml_identifier"),
    (b'<x schemaLocation="https://s.example-lib.org/a b">', "s.example-lib.org", "schema_location"),
    (b'"https://schemas.example-lib.org/config.xsd"', "schemas.example-lib.org", "schema_location"),
    (b'"https://github.com/acme/sdk/blob/main/README"', "github.com", "documentation_link"),
    (b'"https://www.googleapis.com/auth/drive.file"', "www.googleapis.com", "oauth_scope"),
    (b'"http://apache.org/xml/features/validation"', "apache.org", "xml_identifier"),
    (b'"https://www.example-lib.org/licenses/LICENSE-2.0"', "www.example-lib.org", "licence_link"),
    ('"https://api.example-pay.cn/支付"'.encode(), "api.example-pay.cn", None),
    (b'"https://api.example-pay.cn/x" see docs', "api.example-pay.cn", None),
    (b'<a href="https://m1.shop-web.cn/p q">', "m1.shop-web.cn", None),
    (b'NAMESPACE="https://ns.example-lib.org/x"', "ns.example-lib.org", "xml_identifier"),
])
def test_quoted_urls_are_judged_as_the_general_rules_judge_them(monkeypatch, line, host, reference):
    fast = evidence_of(line)
    assert fast[2][host][2] == reference
    without(monkeypatch, "_quoted_contact", lambda tail, rest: False)
    assert evidence_of(line) == fast


@pytest.mark.parametrize(("strings", "hosts", "ips"), [
    ([b"api.example.cn"], {"api.example.cn"}, set()),
    ([b"a.com.cn", b"x.y.example.com.cn."], {"a.com.cn", "x.y.example.com.cn"}, set()),
    ([b"-cdn.example.cn", b"-img.example.cn-"], {"cdn.example.cn"}, set()),  # "cn-" is no TLD
    ([b"8.8.8.8", b"1.2.3.4", b"10.2.33.4"], set(), {"8.8.8.8", "10.2.33.4"}),
    ([b"v1.2.3.4", b"1.2.3.4.5"], set(), set()),
    ([b"com.example.app", b"libfoo.so", b"x.io", b"build.cc"], set(), set()),
    ([b"1.2.3.4.example.com"], {"1.2.3.4.example.com"}, set()),
    ([b"e" * 250 + b".com"], set(), set()),  # longer than a host name can be
    ([b"API.example.cn", b"api.example.cn"], {"api.example.cn"}, set()),
])
def test_pooled_plain_names_match_the_general_rules(monkeypatch, strings, hosts, ips):
    table = b"\0" + b"\0".join(strings) + b"\0"
    fast = evidence_of(table, pooled=True)
    assert (fast[0], fast[1]) == (hosts, ips)
    without(monkeypatch, "_PLAIN_NAME", re.compile(rb"(?!)"))
    assert evidence_of(table, pooled=True) == fast


_FRAGMENTS = [b"https://", b"http://", b"wss://", b"api.example.cn", b"m1.shop-web.com", b"8.8.8.8", b"10.1.2.3",
              b"/p", b"/auth/x", b"/a.xsd", b"/licenses/", b"/blob/", b'"', b"'", b"=", b" ", b"see ", b"xmlns=",
              b"schemaLocation=", b"<a href=", b":8443", b"\0", b"\n", b"#", b"// ", b"ns.example-lib.org", b".md",
              "例".encode(), b"%s.", b"@", b"1.2.3.4", b"x.so", b"com.example.app", b"CDN.Example.CN", b"::1",
              b"user:pw@", b"[2001:db8::5]", b"api.example.cn.", b"https:///x"]


def _random_texts(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 12))) for _ in range(count)]


def test_random_texts_give_the_same_answers_with_and_without_the_shortcuts(monkeypatch):
    texts = _random_texts(20261130, 3000)
    fast = [(evidence_of(t), evidence_of(t, pooled=True)) for t in texts]
    without(monkeypatch, "_quoted_contact", lambda tail, rest: False)
    without(monkeypatch, "_PLAIN_NAME", re.compile(rb"(?!)"))
    slow = [(evidence_of(t), evidence_of(t, pooled=True)) for t in texts]
    assert [t for t, a, b in zip(texts, fast, slow) if a != b] == []


def _facts_of(entries: list[tuple[str, bytes]]):
    scanner = NetworkScanner()
    for name, data in entries:
        scanner.feed(name, data)
    return {h.host: (h.kind, h.sources, h.evidence) for h in scanner.facts().hosts}


def test_hosts_settled_in_one_entry_still_list_every_later_entry():
    url = b"\0https://api.example-pay.cn/v1\0push.example-im.cn\0"
    facts = _facts_of([("assets/a.json", url), ("assets/b.json", url),
                       ("assets/c.txt", b"see https://api.example-pay.cn/docs for more")])
    kind, sources, evidence = facts["api.example-pay.cn"]
    assert kind == "contact"
    assert sources == ("assets/a.json", "assets/b.json", "assets/c.txt")
    assert [e.source for e in evidence] == ["assets/a.json"]  # the first contact occurrence is the evidence


def test_a_reference_first_does_not_settle_a_host_a_later_entry_uses():
    facts = _facts_of([("LICENSE.txt", b"https://api.example-pay.cn/v1"),
                       ("assets/c.txt", b"see https://api.example-pay.cn/docs for more"),
                       ("assets/a.json", b'{"u": "https://api.example-pay.cn/v1"}')])
    kind, sources, evidence = facts["api.example-pay.cn"]
    assert kind == "contact"
    assert [(e.source, e.reference) for e in evidence] == [
        ("assets/a.json", None), ("LICENSE.txt", "licence_file"), ("assets/c.txt", "link_in_text")]


def test_evidence_does_not_depend_on_the_hash_seed():
    # Two authorities name one host; the first occurrence in the entry must be its evidence in every process
    # (set iteration order changes with PYTHONHASHSEED).
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys; from gate.extract.network import NetworkScanner; s = NetworkScanner(); "
            "s.feed('assets/a.json', sys.stdin.buffer.read()); "
            "print(json.dumps([h.as_dict() for h in s.facts().hosts]))")
    text = b'{"a": "https://API.example-pay.cn/first", "b": "https://api.example-pay.cn:443/second"}'
    runs = {json.dumps(json.loads(subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": seed}).stdout)) for seed in ("1", "2", "3", "4")}
    assert len(runs) == 1
    (only,) = json.loads(runs.pop())
    assert only["evidence"][0]["excerpt"].startswith('{"a": "https://API.example-pay.cn/first"')
