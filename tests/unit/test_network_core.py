"""The compiled scanner core against its pure-Python oracle: the same answer for every input, crafted or random.

``gate.extract.network._hostcore`` (C) and the Python functions of ``domains``/``suffixes``/``finder`` implement the
same rules; the Python ones are the reference. tests/integration/test_network_core_parity.py compares whole facts of
every fixture and corpus package with each core.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
import re

import pytest

from gate.extract.facts import Evidence, HostFact
from gate.extract.network import core, domains, finder, suffixes
from gate.extract.network.sdk_hosts import SDK_DOMAINS, sdk_for_host, sdk_for_hosts

compiled = core.compiled_core
pytestmark = pytest.mark.skipif(compiled is None, reason="the compiled scanner core is not built (pip install -e .)")

CRAFTED_HOSTS = [
    "", ".", "..", "a", "cn", "com.cn", "a.cn", "ab.cn", "api.example.co.uk", "A.B.CN", "  api.qq.com.  ", "*.qq.com",
    "*.", "*.cn", "x.*.cn", "-a.cn", "a-.cn", "a.-cn", "a.c-n", "a.123", "a.1b", "a.b1", "a..cn", ".a.cn", "a.cn..",
    "a" * 63 + ".cn", "a" * 64 + ".cn", "a." + "b" * 63, "a." + "b" * 64, ("a." * 126) + "cn", ("a." * 127) + "cn",
    "localhost", "x.localhost", "a.test", "a.example", "a.invalid", "a.local", "example.com", "www.example.com",
    "schemas.android.com", "www.ejemplo.com", "www.ejemplo.com.cn", "t.co", "tt.co", "e.in", "build.cc", "a.build.cc",
    "com.tencent.mm", "io.flutter.view", "ro.miui.ui.version.name", "persist.sys.x.cn", "www.ck", "a.www.ck", "x.ck",
    "a.x.ck", "b.a.x.ck", "kawasaki.jp", "x.kawasaki.jp", "city.kawasaki.jp", "a.city.kawasaki.jp", "xn--fiqs8s",
    "a.xn--fiqs8s", "api.xn--fiqs8s", "a.b.c.d.e.f.gov.cn", "net.cn", "a.net.cn", "A.Net.CN", "\tapi.qq.com\x1c",
    "api.qq.com\x0b", "\u3000api.qq.com", "api.qq.com\u3000", "bücher.de", "xn--bcher-kva.de", "a_b.cn", "a b.cn",
    "a.cn:80", "[::1]", "1.2.3.4", "1.2.3.com", "1.2.3.4.cn", "1.2.3.44", "a.co", "a.b.co", "ab.co.", "AB.CO",
    "apis.google.com", "a.s3.amazonaws.com", "x.myqcloud.com", "a.b.c.bd", "b.c.bd", "c.bd", "a.pvt.k12.ma.us",
]


def _suffix_names() -> dict[str, int]:
    """Every name of the public-suffix table (each rule and each right-hand part of one) and its flags."""
    return {name: flags for names in suffixes._load().values() for name, flags in names.items()}


def _random_hosts(rng: random.Random, count: int) -> list[str]:
    """Names made of name characters, dots, case, white space and a few odd ones, over real public suffixes."""
    names = _suffix_names()
    sample = sorted(names)[::7] + sorted(name for name, flags in names.items() if flags != suffixes.RULE)
    alphabet = "abcxyz019-.-..AZ*_ \t\u3000é"
    out = []
    for _ in range(count):
        head = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        out.append(head + ("." + rng.choice(sample) if rng.random() < 0.8 else ""))
    return out


def _all_inputs() -> list[str]:
    every_rule = sorted(_suffix_names())
    return (CRAFTED_HOSTS + every_rule + ["a." + r for r in every_rule] + ["www.a." + r for r in every_rule]
            + _random_hosts(random.Random(28), 20_000))


@pytest.fixture(scope="module")
def configured():
    core.select("compiled")
    assert domains.url_host("api.example.co.uk") == "api.example.co.uk"  # the first call hands over the tables
    return compiled


def test_host_validation_and_public_suffixes_agree(configured):
    for text in _all_inputs():
        assert configured.url_host(text) == domains.python_url_host(text), text
        assert configured.bare_host(text) == domains.python_bare_host(text), text
        host = text.strip().lower()
        assert configured.registrable_domain(host) == suffixes.registrable_domain(host), host


PIECES = [b"://", b"http", b"HTTPS", b"hTtP", b"wss", b"ws", b"rtmpe", b"quic", b"mqtts", b"content", b"x", b"sftp",
          b"ftp", b"tcp", b"\0", b"\n", b" ", b"a.cn", b"user:pw@", b"[::1]", b":8080", b"/path?q=1", b"%", b"'", b"\"",
          b"\xff", b"\xe4\xb8\xad", b"@", b"ttp", b"s", b":", b"/", b"://://", b"h" * 5, b"a" * 310]


def _split_alike(data: bytes) -> None:
    """The compiled split's three answers and every item of its lazy parts against ``_url_authorities().split``."""
    assert compiled is not None
    expected = finder._url_authorities().split(data)
    last, blanked, spans = compiled.split_region(data)
    authorities = expected[1::2]
    assert list(last.items()) == list(dict(zip(authorities, range(len(authorities)))).items()), data
    assert blanked == b" ".join(expected[::2]), data
    parts = finder._SplitParts(data, spans)
    assert len(parts) == len(expected)
    assert [parts[i] for i in range(len(expected))] == expected, data


def test_url_authority_split_agrees():
    rng = random.Random(2828)
    for _ in range(5_000):
        _split_alike(b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40))))
    for data in (b"", b"://", b"http://", b"http:/", b"xhttp://a.cn", b"HTTP://" + b"a" * 400, b"ws://a.cn" * 1000):
        _split_alike(data)
    # thousands of distinct authorities, each repeated (the compiled split's table of them grows several times)
    _split_alike(b" ".join(b"http://h%d.cn/ https://H%d.cn\0ws://%d" % (k % 2900, k % 300, k) for k in range(6000)))
    assert compiled is not None and compiled.split_region(memoryview(b"http://a.cn"))[:2] == ({b"a.cn": 0}, b"http ")


def test_every_scheme_in_any_case_is_split_like_the_regex():
    for scheme in finder._NETWORK_SCHEMES:
        for variant in (scheme, scheme.upper(), scheme.swapcase(), scheme[:1].upper() + scheme[1:]):
            _split_alike(b"x" + variant + b"://api.example.cn:443/a")


def test_the_switch_selects_the_python_path():
    try:
        core.select("python")
        assert domains._url_host is domains.python_url_host
        assert finder._split_region is None
        assert domains.url_host("API.qq.com") == "api.qq.com"
        core.select("compiled")
        assert finder._split_region is compiled.split_region
        assert domains.url_host("API.qq.com") == "api.qq.com"
    finally:
        core.select("compiled")
    with pytest.raises(core.UnknownScannerCore):
        core.select("rust")


def test_bad_input_is_a_type_error_not_a_crash(configured):
    with pytest.raises(TypeError):
        configured.split_region("http://a.cn")
    _authorities, _blanked, spans = configured.split_region(b"x https://a.cn/")
    with pytest.raises(IndexError):
        configured.judge_span(b"x https://a.cn/", spans, 1, 0, False)
    with pytest.raises(ValueError):
        configured.judge_span(b"short", spans, 0, 0, False)  # spans of other data
    assert configured.url_host("\0" * 10_000) is None
    assert re.fullmatch(r"[a-z.]+", configured.url_host("A" * 60 + ".cn") or "")


URL_PIECES = [b"https://", b"HTTP://", b"http://", b"wss://", b"ftp://", b"\"", b"'", b"=", b"href=\"", b"<a href='",
              b"\0", b"\n", b"\r", b"\t", b" ", b"# ", b"api.example.cn", b"cdn.qq.com", b":8080", b"/auth/x",
              b"/license", b".xsd", b"/a?b=c", b"DOCTYPE ", b"xmlns=", b"namespace", b"\xe4\xb8\xad", b"\xff", b"\x0b",
              b"\x1c", b"`", b"<", b"\\", b"see ", b"x" * 90, b"key", b"ab+c.d-e", b"1.2.3.4", b"[::1]", b"user@"]


def _authorities_found(kind: str, data: bytes, prefix_len: int, markup: bool, comments: bool) -> tuple:
    core.select(kind)
    findings = finder.Findings(markup_links=markup, hash_comments=comments)
    rest = finder._take_url_authorities(data, findings, {}, prefix_len)
    return rest, sorted(findings.hosts), sorted(findings.ips), findings.evidence


def test_url_judgement_agrees_on_random_regions():
    """``_note_url``'s fast paths in C against the Python: the same evidence (kind, excerpt, reference) per value."""
    rng = random.Random(1228)
    try:
        for _ in range(10_000):
            pieces = [rng.choice(URL_PIECES) for _ in range(rng.randint(0, 6))]  # the text before a URL
            pieces += [rng.choice((b"https", b"Http", b"wss", b"ftp", b"rtsp", b"x")), b"://",
                       rng.choice((b"api.example.cn", b"a.qq.com", b"u@b.cn:80", b"1.2.3.4", b"[::1]:8", b"x"))]
            pieces += [rng.choice(URL_PIECES) for _ in range(rng.randint(0, 8))]  # the path and what follows
            data = b"".join(pieces)
            prefix_len, markup, comments = rng.choice((0, 0, 1, 2)), rng.random() < 0.3, rng.random() < 0.1
            compiled_found = _authorities_found("compiled", data, prefix_len, markup, comments)
            assert compiled_found == _authorities_found("python", data, prefix_len, markup, comments), data
    finally:
        core.select("compiled")


def test_const_string_sites_agree():
    """dex_flow's load-site search in C against the Python (literal searches for a few indices, a regex for more),
    on bytes dense with both opcodes, at odd and even bounds."""
    from gate.extract.network import dex_flow

    rng = random.Random(26)
    assert compiled is not None
    for _ in range(400):
        data = bytes(rng.choice((0x1A, 0x1B, 0, 1, 2, 0xFF, rng.randrange(256))) for _ in range(rng.randint(0, 600)))
        wanted = {rng.choice((0, 1, 2, 0x1A, 0x1B1A, 0x1A1A, 0xFF, 0x10000, 0x1A001A1B, rng.randrange(1 << 17)))
                  for _ in range(rng.choice((1, 3, 24, 25, 60)))}
        lo, hi = rng.randint(0, 20), len(data) - rng.randint(0, 20)
        for overlapping in (True, False):
            if overlapping == (len(wanted) <= dex_flow.FEW_STRINGS):
                assert (compiled.load_sites(data, wanted, lo, hi, overlapping)
                        == dex_flow.python_load_sites(data, wanted, lo, hi)), (data, wanted, lo, hi)


AUTHORITY_PIECES = [b"api.example.cn", b"A.QQ.com", b"u", b"@", b":", b"8080", b".", b"..", b"[", b"]", b"::1",
                    b"1.2.3.4", b"10.0.0.1", b"1234.1.1.1", b"a", b"-", b"_", b"%", b"co.uk", b"x" * 70, b"localhost",
                    b"example.com", b"*", b"!", b"~"]


def test_authorities_resolved_alike():
    """``resolve_authorities`` (C) against ``_authority_values`` (Python) on crafted URL authorities."""
    rng = random.Random(300)
    authorities = {b"".join(rng.choice(AUTHORITY_PIECES) for _ in range(rng.randint(0, 6))) for _ in range(20_000)}
    authorities |= {b"", b"a" * 300, b"u:p@1.2.3.4:80", b"[2001:db8::1]:443", b"API.Example.CN.:443", b"@a.cn"}
    core.select("compiled")
    domains.configure_compiled()
    hosts_of: dict = {}
    ips_of: dict = {}
    assert compiled is not None
    compiled.resolve_authorities(authorities, hosts_of, ips_of, finder._authority_values)
    assert hosts_of.keys() == authorities
    try:
        core.select("python")  # the Python side entirely: url_host by the oracle
        expected = {a: finder._authority_values(a) for a in authorities}
    finally:
        core.select("compiled")
    assert hosts_of == {a: hosts for a, (hosts, _ips) in expected.items()}
    assert ips_of == {a: ips for a, (_hosts, ips) in expected.items() if ips}


ANCHOR_PIECES = [b".", b"..", b":", b"::", b"://", b":/", b"cn", b"com", b"co", b"comx", b"CN", b"c-n", b"_", b"1",
                 b"12", b"123", b"1234", b"0.0.0", b"1.2.3", b"1.2.3.4", b"a", b"online", b"onlinex", b"top", b" ",
                 b"\0",
                 b"\xff", b"z" * 70, b"xn--fiqs8s", b"build.cc", b"-", b"9"]


def test_anchor_search_agrees():
    """``anchor_search`` (C) against the two anchor patterns' ``search``, from every position of random texts."""
    rng = random.Random(1234)
    core.select("compiled")
    domains.configure_compiled()
    assert compiled is not None
    for _ in range(3_000):
        data = b"".join(rng.choice(ANCHOR_PIECES) for _ in range(rng.randint(0, 25)))
        for pos in range(0, len(data) + 2, max(1, len(data) // 8)):
            for colon in (False, True):
                assert compiled.anchor_search(data, pos, colon) == finder._python_anchor_search(data, pos, colon), \
                    (data, pos, colon)


@pytest.mark.parametrize("cls", [Evidence, HostFact])
def test_instances_built_in_c_are_the_constructors_objects(cls):
    """``instances`` (the facts built in C, ``network._instances``) against ``cls(*row)``: equal, the same hash, the
    same instance dictionary in the same order, as frozen, and the same after a pickle round trip."""
    fields = tuple(f.name for f in dataclasses.fields(cls))
    rng = random.Random(28)
    rows = [tuple(rng.choice(["", "a", "é", None, ("x",), 0]) for _ in fields) for _ in range(200)]
    built = compiled.instances(cls, fields, rows)
    for made, row in zip(built, rows, strict=True):
        expected = cls(*row)
        assert type(made) is cls
        assert made == expected and hash(made) == hash(expected)
        assert list(vars(made).items()) == list(vars(expected).items())
        assert pickle.loads(pickle.dumps(made)) == expected
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, fields[0], "changed")
    assert compiled.instances(cls, fields, ()) == []
    with pytest.raises(TypeError):
        compiled.instances(cls, fields, [rows[0][:-1]])  # a row short of a field
    with pytest.raises(TypeError):
        compiled.instances(cls, fields, [list(rows[0])])  # a row that is not a tuple
    with pytest.raises(TypeError):
        compiled.instances(cls, fields, 1)


def test_bulk_lookups_agree_with_one_at_a_time(configured):
    """The facts' bulk look-ups (``registrable_domains``, ``sdk_for_hosts``) answer as the per-host functions do."""
    hosts = sorted({h for h in (configured.url_host(t) for t in _all_inputs()) if h}) + sorted(SDK_DOMAINS)
    hosts += ["a." + suffix for suffix in SDK_DOMAINS]
    for kind in ("python", "compiled"):
        core.select(kind)
        assert domains.registrable_domains(hosts) == [domains.registrable_domain(h) for h in hosts]
        assert domains.registrable_domains([]) == []
        assert sdk_for_hosts(hosts) == {h: sdk_for_host(h) for h in hosts if sdk_for_host(h) is not None}
    core.select("compiled")


STRING_PIECES = [b"\0", b"\0", b"\0\x0e", b"api.example.cn", b"cdn.qq.com", b"a.cn", b"A.CN", b"https://", b"http://",
                 b"www.baidu.com", b"1.2.3.4", b"8.8.8.8", b"2.5.29.14", b"2.5.29.15", b"10.0.0.1:80", b"::", b"1::2",
                 b" ", b"see ", b"version ", b"%s.", b"@", b"/", b"x" * 20, b".", b"..", b"-", b":", b"\xe4\xb8\xad",
                 b"com.tencent.mm", b"user@a.cn", b"#", b"\n", b"/path?q=1", b"a" * 300]


def _strings_found(kind: str, regions: list[bytes], prefix_len: int, budget: int,
                   known_contacts: frozenset[str]) -> tuple:
    """``scan_strings`` over several regions sharing one cache (as the entries of a package do), with ``kind``."""
    core.select(kind)
    cache: finder.StringCache = {}
    shared = finder.ScanBudget(budget)
    out = []
    for data in regions:
        findings = finder.Findings(budget=shared, known_contacts=known_contacts)
        try:
            finder.scan_strings(data, findings, prefix_len=prefix_len, cache=cache)
            stopped = None
        except finder.ScanBudgetExhausted as exc:
            stopped = exc.args
        out.append((sorted(findings.hosts), sorted(findings.ips), list(findings.evidence.items()), stopped))
    return out, shared.spent, shared.remaining


def test_string_tables_scanned_alike():
    """``scan_strings``' compiled loop (the cached strings in C) against the Python's: the same hosts, IPs, evidence
    in the same order, and the budget spent and exhausted at the same anchor."""
    rng = random.Random(2807)
    try:
        for _ in range(3_000):
            regions = [b"".join(rng.choice(STRING_PIECES) for _ in range(rng.randint(0, 60)))
                       for _ in range(rng.randint(1, 4))]
            regions += regions[:rng.randint(0, 2)]  # a later entry repeating an earlier one: answered by the cache
            prefix_len = rng.choice((0, 0, 1, 2))
            budget = rng.choice((0, 1, 2, 5, 10, 1_000, 1_000, 1_000))
            known = frozenset(rng.sample(["api.example.cn", "cdn.qq.com", "a.cn", "www.baidu.com", "8.8.8.8"],
                                         rng.randint(0, 3)))
            compiled_found = _strings_found("compiled", regions, prefix_len, budget, known)
            assert compiled_found == _strings_found("python", regions, prefix_len, budget, known), regions
    finally:
        core.select("compiled")


def test_string_loop_refuses_bad_state(configured):
    with pytest.raises(TypeError):
        configured.scan_pooled(b"a.cn", [0, -1, -1], 0, {}, set(), frozenset(), set(), set(), {}, 10)
    with pytest.raises(TypeError):  # a cached answer of the wrong shape is an error, not a crash
        configured.scan_pooled(b"a.cn", [0, 0, 4, -1, -1], 0, {b"a.cn": (1, 2)}, set(), frozenset(), set(), set(), {},
                               10)


def test_url_loop_agrees_over_entries_sharing_a_cache():
    """``_take_url_authorities``' loop in C (``judge_authorities``) against the Python's over several regions that
    share the package's cache and known contacts: the same evidence, in the same order, and the same settled
    authorities."""
    rng = random.Random(2808)
    hosts = (b"api.example.cn", b"API.example.cn", b"api.example.cn:443", b"a.qq.com", b"u@b.cn:80", b"1.2.3.4",
             b"[::1]:8", b"x", b"cdn.qq.com")

    def regions_found(kind: str, regions: list[bytes], prefix_len: int, markup: bool,
                      known: frozenset[str]) -> list[tuple]:
        core.select(kind)
        cache: finder.StringCache = {}
        out = []
        for data in regions:
            findings = finder.Findings(markup_links=markup, known_contacts=known)
            rest = finder._take_url_authorities(data, findings, cache, prefix_len)
            out.append((rest, sorted(findings.hosts), sorted(findings.ips), list(findings.evidence.items()),
                        sorted(cache.get(finder._SETTLED_AUTHORITIES, ()))))
        return out

    try:
        for _ in range(2_000):
            regions = []
            for _region in range(rng.randint(1, 4)):
                pieces: list[bytes] = []
                for _url in range(rng.randint(0, 5)):
                    pieces += [rng.choice(URL_PIECES) for _ in range(rng.randint(0, 3))]
                    pieces += [rng.choice((b"https", b"Http", b"wss", b"x")), b"://", rng.choice(hosts)]
                    pieces += [rng.choice(URL_PIECES) for _ in range(rng.randint(0, 3))]
                regions.append(b"".join(pieces))
            prefix_len, markup = rng.choice((0, 0, 1, 2)), rng.random() < 0.3
            known = frozenset(rng.sample(["api.example.cn", "a.qq.com", "b.cn", "1.2.3.4"], rng.randint(0, 2)))
            compiled_found = regions_found("compiled", regions, prefix_len, markup, known)
            assert compiled_found == regions_found("python", regions, prefix_len, markup, known), regions
    finally:
        core.select("compiled")


def test_host_facts_built_alike():
    """``NetworkScanner.facts``' loop over the hosts in C (``host_fact_rows``) against the Python's, on hosts with
    and without evidence, a table label, a code SDK (beside a label or alone) and a contact."""
    from gate.extract.network import NetworkScanner

    def facts(kind: str) -> object:
        core.select(kind)
        scanner = NetworkScanner()
        hosts = ["api.weixin.qq.com", "a.example.cn", "b.example.cn", "sdk.umeng.com", "c.example.cn", "d.x.cn"]
        for k, host in enumerate(hosts):
            scanner._host_sources[host] = {f"classes{j}.dex" for j in range(k % 3 + 1)} | {"assets/a.json"}
            if k % 2 == 0:
                scanner._evidence[host] = [(f"classes{j}.dex", "url", f"https://{host}/{j}", None if j else "x", None)
                                           for j in range(k % 4 + 1)]
        scanner._contacts.update(hosts[::3])
        code = tuple(Evidence(f"classes{j}.dex", "code", f"loaded by Lcom/x/C{j};") for j in range(7))
        scanner._sdks_by_code = lambda: {"a.example.cn": ("X SDK", code), "sdk.umeng.com": ("Y SDK", code[:2]),  # type: ignore[method-assign]
                                         "d.x.cn": ("", code[:1])}
        return scanner.facts()

    try:
        compiled_facts = facts("compiled")
        assert compiled_facts == facts("python")
        assert pickle.dumps(compiled_facts) == pickle.dumps(facts("python"))
    finally:
        core.select("compiled")


def test_entries_recorded_alike():
    """``NetworkScanner._record``'s and ``_note``'s loops in C (``add_source``, ``note_values``) against the
    Python's: the same sources, kept occurrences (in order, the fifth replaced by a contact) and contacts, over
    entries of every reader, a licence file and occurrences of every kind."""
    from gate.extract.network import NetworkScanner

    rng = random.Random(2809)
    values = ["api.example.cn", "a.qq.com", "b.cn", "1.2.3.4", "8.8.8.8", "cdn.x.cn"]
    hows = ["url", "bare_host", "whole_string", "url_in_text", "deep_link", "bare_ip"]
    names = ["classes.dex", "classes2.dex", "assets/a.json", "res/xml/net.xml", "LICENSE.txt", "lib/a.so",
             "resources.arsc", "assets/b.html"]
    readers = [None, "dex", "elf", "text", "whole", "xml", "network_config", "resources", "manifest"]
    entries = []
    for _ in range(300):
        found = finder.Findings()
        for value in rng.sample(values, rng.randint(0, len(values))):
            (found.ips if value[0].isdigit() else found.hosts).add(value)
            if rng.random() < 0.8:
                found.evidence[value] = (rng.choice(hows), f"excerpt {value}", rng.choice((None, "log", None)))
        entries.append((rng.choice(names), found, rng.choice(readers)))

    def recorded(kind: str) -> tuple:
        core.select(kind)
        scanner = NetworkScanner()
        for name, found, reader in entries:
            scanner._record(name, dataclasses.replace(found, evidence=dict(found.evidence)), reader)
        return (dict(scanner._host_sources), dict(scanner._ip_sources), list(scanner._evidence.items()),
                scanner._contacts)

    try:
        assert recorded("compiled") == recorded("python")
    finally:
        core.select("compiled")


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_pooled_strings_up_to_the_limit_are_analysed_whole(kind):
    """A string of up to ``MAX_POOLED_STRING`` bytes between NULs is analysed whole (its anchor, then the anchor
    found inside it: two of the budget); a longer run is binary data, its anchor judged on its own (one). The NULs
    are looked for only that far, so the answer must not change with what lies beyond (more bytes, more NULs)."""
    limit = finder.MAX_POOLED_STRING
    try:
        core.select(kind)
        for length in (limit - 1, limit, limit + 1, limit + 2):
            text = b"x" * (length - 11) + b" api.qq.com"
            for data in (b"\0" + text + b"\0", text, b"\0\0" + text + b"\0x", b"x" * 9000 + b"\0" + text,
                         b"x" * 9000 + text, text + b" " + b"y" * 9000, text + b"\0y" * 5000):
                findings = finder.Findings(budget=finder.ScanBudget(100))
                finder.scan_strings(data, findings, cache={})
                whole = length <= limit and not data.startswith(b"x" * 9000 + text) \
                    and not data.startswith(text + b" y")
                assert findings.hosts == {"api.qq.com"}, (length, data[:20])
                assert findings.budget is not None and findings.budget.spent == (2 if whole else 1), (length, data[:20])
    finally:
        core.select("compiled")
