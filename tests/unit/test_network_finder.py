"""The finder's rules on single strings, the suffix table against publicsuffixlist, and robustness on bad bytes."""

from __future__ import annotations

import random
from unittest.mock import patch

import pytest
from publicsuffixlist import PublicSuffixList

from gate.extract.network import NetworkScanner
from gate.extract.network.finder import Findings, scan_region, scan_strings
from gate.extract.network.suffixes import registrable_domain


def found(text: bytes, *, pooled: bool = False) -> tuple[set[str], set[str]]:
    findings = Findings()
    (scan_strings if pooled else scan_region)(text, findings)
    return findings.hosts, findings.ips


@pytest.mark.parametrize(("text", "hosts", "ips"), [
    (b"https://API.Example.cn:8443/v1?x=1", {"api.example.cn"}, set()),
    (b"http://user:pw@files.example.com.cn/x", {"files.example.com.cn"}, set()),
    (b"https://x.example.app/", {"x.example.app"}, set()),  # any ICANN TLD inside a URL
    (b"x.example.app", set(), set()),  # ... but .app is not believed bare (x.app file names)
    (b"%s.cdn.example.cn", {"cdn.example.cn"}, set()),
    (b"ws://203.0.113.5:9000", set(), {"203.0.113.5"}),
    (b"http://[2001:DB8::5]/", set(), {"2001:db8::5"}),
    (b"dns 223.5.5.5", set(), {"223.5.5.5"}),
    (b"8.8.8.8", set(), {"8.8.8.8"}),
    (b"1.0.2.3", set(), set()),  # single-digit quad: a version
    (b"version: 10.2.3.4", set(), set()),
    (b"Chrome/91.0.4472.120", set(), set()),
    (b"255.255.255.0 0.0.0.0 127.0.0.1 224.0.0.1", set(), set()),
    (b"com.example.app.MainActivity com.tencent.mm", set(), set()),
    (b"libfoo.so data.zip main.js style.css", set(), set()),
    (b"android.intent.action.VIEW", set(), set()),
    (b"mailto:support@example-mail.com", set(), set()),
    (b"content://com.example.provider/x intent://scan/#Intent", set(), set()),
    (b"http://schemas.android.com/apk/res/android", set(), set()),
    (b"std::string Foo::bar", set(), set()),
    (b"2400:3200::1", set(), {"2400:3200::1"}),
])
def test_rules(text, hosts, ips):
    assert found(text) == (hosts, ips)


def test_length_prefix_is_not_glued_to_a_pooled_string():
    # 'a' (97) as the one-byte length of a DEX string must not become part of the host
    data = b"\x00a" + b"api.example.cn" + b"\x00"
    findings = Findings()
    scan_strings(data, findings, 0, len(data), prefix_len=1)
    assert findings.hosts == {"api.example.cn"}


@pytest.mark.parametrize("host", [
    "a.b.example.com.cn", "www.gov.cn", "x.y.kawasaki.jp", "city.kawasaki.jp", "a.www.ck", "foo.ck", "x.sch.uk",
    "y.x.sch.uk", "api.example.xn--fiqs8s", "x.myqcloud.com", "foo.unknowntld", "com.cn",
])
def test_suffix_table_agrees_with_publicsuffixlist(host):
    oracle = PublicSuffixList(only_icann=True, accept_unknown=False)
    assert registrable_domain(host) == oracle.privatesuffix(host)


@pytest.mark.parametrize("head", [b"dex\n035\x00", b"\x7fELF\x02\x01\x01", b"\x02\x00\x0c\x00", b"\x03\x00\x08\x00",
                                  b"PK\x03\x04", b""])
def test_malformed_inputs_never_raise(head):
    rng = random.Random(7)
    scanner = NetworkScanner()
    for n in range(50):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        scanner.feed(f"assets/x{n}", head + body)
        scanner.feed(f"classes{n}.dex", (head + body)[: rng.randrange(0, 40)])
    scanner.facts()


def test_media_and_signature_files_are_not_wanted():
    scanner = NetworkScanner()
    assert not scanner.wants("res/drawable/icon.png")
    assert not scanner.wants("assets/intro.mp4")
    assert not scanner.wants("META-INF/CERT.RSA")
    assert scanner.wants("classes3.dex")
    assert scanner.wants("assets/index.android.bundle")


def test_every_suffix_rule_agrees_with_publicsuffixlist():
    # Hosts one and two labels under every name of the table (each rule and each right-hand part of one), looked
    # up the way a scan does: TLD by TLD, each TLD's names built on first use. (A name alone is left out: for the
    # base of a wildcard that is no rule itself, such as kobe.jp under *.kobe.jp, publicsuffixlist answers None
    # where the list's algorithm gives kobe.jp; the table follows the algorithm.)
    from gate.extract.network import suffixes

    oracle = PublicSuffixList(only_icann=True, accept_unknown=False)
    names = [name for names in suffixes._load().values() for name in names]
    assert len(names) > 6000
    for name in names:
        for host in ("a." + name, "www.a." + name):
            assert registrable_domain(host) == oracle.privatesuffix(host), host


def _groups_of(compiled):
    """Every TLD's group as the compiled file gives it, read the way a look-up reads it."""
    from gate.extract.network import suffixes

    tlds, _sections = compiled
    with patch.object(suffixes, "_compiled", compiled):
        return {entry.split(":")[0]: suffixes._compiled_group(entry.split(":")[0]) for entry in tlds.split()}


def test_compiled_suffix_table_is_the_parsed_list():
    from gate.extract.network import suffixes

    compiled = suffixes._read_compiled()
    # gate/data/psl_icann.txt is used only when compiled from the installed list; then it must be that list
    assert compiled is None or _groups_of(compiled) == suffixes._load()


def test_compiled_suffix_table_round_trips(tmp_path):
    # Every TLD's section, read from where the index says it starts, must be exactly the parsed list's names,
    # whether or not gate/data/psl_icann.txt was compiled from the installed snapshot.
    from gate.extract.network import suffixes

    path = tmp_path / "psl.txt"
    suffixes.write_compiled(path)
    parsed = suffixes._load()
    compiled = suffixes._read_compiled(path)
    assert compiled is not None and _groups_of(compiled) == parsed
    assert parsed["uk"]["co.uk"] == suffixes.RULE and parsed["ck"]["ck"] == suffixes.WILDCARD
    assert parsed["ck"]["www.ck"] == suffixes.EXCEPTION and parsed["jp"]["kobe.jp"] == suffixes.WILDCARD
    # a TLD not listed, or one that is only some listed TLD's part, has no group
    with patch.object(suffixes, "_compiled", compiled):
        assert suffixes._compiled_group("notatld") is None and suffixes._compiled_group("k") is None
        entries = compiled[0].split()[100:102]  # two listed TLDs side by side in the line of TLDs
        assert suffixes._compiled_group(entries[0]) is None  # "tld:start" is no TLD
        assert suffixes._compiled_group(entries[0].split(":")[0] + " " + entries[1].split(":")[0]) is None
        assert suffixes._compiled_group("uk\n1co.uk") is None and suffixes._compiled_group("") is None
    # another snapshot of the list, or the earlier layout (four sections: wildcards, exceptions, not_rules, tails),
    # is not misread: it falls back to parsing the list
    snapshot, rest = path.read_text(encoding="ascii").split("\n", 1)
    path.write_text(snapshot + "0\n" + rest, encoding="ascii")
    assert suffixes._read_compiled(path) is None
    path.write_text(f"{snapshot}\n## wildcards\nck\n## exceptions\nwww.ck\n## not_rules\nck\n## tails\nck\n",
                    encoding="ascii")
    assert suffixes._read_compiled(path) is None


def test_made_up_tlds_are_remembered_up_to_a_bound():
    # A package may name any number of TLDs that are not on the list: each is still answered, but only the first
    # _UNLISTED_REMEMBERED are kept, so the memo cannot grow with the package.
    from gate.extract.network import suffixes

    suffixes.table()
    with patch.dict(suffixes._GROUPS, clear=True), patch.object(suffixes, "_unlisted", 0), \
            patch.object(suffixes, "_listed", None):
        made_up = [f"zz{n}q" for n in range(suffixes._UNLISTED_REMEMBERED + 500)]
        assert all(registrable_domain(f"api.example.{tld}") is None for tld in made_up)
        assert len(suffixes._GROUPS) == suffixes._UNLISTED_REMEMBERED
        assert registrable_domain("api.example.co.uk") == "example.co.uk"  # a listed TLD is still kept
        assert suffixes._GROUPS["uk"] is not None
        # past the bound, the listed TLDs answer from a set, with the same answers
        assert suffixes._compiled is None or (suffixes._listed is not None and "uk" in suffixes._listed)
        assert registrable_domain("api.example.jp") == "example.jp"
        assert registrable_domain("www.city.kobe.jp") == "city.kobe.jp"


def test_the_list_snapshot_is_named_by_its_header_or_else_its_digest(tmp_path):
    # The compiled table is used only with the snapshot it was made from: the list's own VERSION and COMMIT lines
    # and its size name it, and a list without them is named by its SHA-256.
    import hashlib

    from gate.extract.network import suffixes

    stamped = tmp_path / "stamped.dat"
    stamped.write_bytes(b"// header\n// VERSION: 2026-01-02_03-04-05_UTC\n// COMMIT: 0123abcd\n\ncom\n")
    bare = tmp_path / "bare.dat"
    bare.write_bytes(b"// no stamps here\ncom\n")
    with patch.object(suffixes, "_list_path", return_value=str(stamped)):
        assert suffixes._list_snapshot() == f"2026-01-02_03-04-05_UTC 0123abcd {stamped.stat().st_size}"
    with patch.object(suffixes, "_list_path", return_value=str(bare)):
        assert suffixes._list_snapshot() == "sha256 " + hashlib.sha256(bare.read_bytes()).hexdigest()
