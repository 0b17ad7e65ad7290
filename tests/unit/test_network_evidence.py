"""Evidence, kinds and address scopes: each rule on a string written by hand, in the shapes real packages show."""

from __future__ import annotations

import pytest

from gate.coverage import check_coverage
from gate.extract.facts import Evidence, HostFact, IpFact, NetworkFacts
from gate.extract.network import NetworkScanner
from gate.extract.network.addresses import ip_scope
from gate.extract.network.references import entry_reference


def scan(name: str, data: bytes):
    scanner = NetworkScanner()
    scanner.feed(name, data)
    return scanner.facts()


def one_host(facts, host):
    return next(h for h in facts.hosts if h.host == host)


@pytest.mark.parametrize(("text", "reference"), [
    # XML parser feature and property identifiers (Xerces, JAXP), as found in an 18 MB real server APK
    ("http://apache.org/xml/features/nonvalidating/load-external-dtd", "xml_identifier"),
    ("http://java.sun.com/xml/jaxp/properties/schemaLanguage", "xml_identifier"),
    ("http://xmlpull-like.org/v1/doc/features.html#process-namespaces", "xml_identifier"),
    ('<root xmlns:ex="http://ns.example-lib.org/2009/ex">', "xml_identifier"),
    # schema and DTD locations
    ("http://java.sun.com/dtd/properties.dtd", "schema_location"),
    ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "http://dtd.example-lib.org/xhtml1.html">', "schema_location"),
    # OAuth scope identifiers
    ("https://www.googleapis.com/auth/drive.file", "oauth_scope"),
    # documentation links in log and exception messages
    ("See https://netty.io/wiki/reference-counted-objects.html for more information.", "link_in_text"),
    ("for more information, see https://kotl.in/issue", "link_in_text"),
    ("// https://square.example-docs.io/okhttp/changelog", "link_in_text"),
    ("https://github.com/google/gson/blob/main/Troubleshooting.md#", "documentation_link"),
    ("http://www.apache.org/licenses/LICENSE-2.0", "licence_link"),
    ("http://relaxng.org/ns/structure/1.0", "xml_identifier"),
    ("http://apache.org/xml/serializer", "xml_identifier"),
    ("Please follow/upvote https://youtrack.jetbrains.com/issue/KT-1", "link_in_text"),
    ("Visit google.co.uk/accounts/recovery.", "link_in_text"),
    ("Visita google.co.uk/accounts/recovery.", "link_in_text"),
    ("could not find a key in input stream (see https://netty.io/wiki/x.html)", "link_in_text"),
])
def test_reference_shapes(text, reference):
    facts = scan("classes.dex.txt", text.encode())
    assert facts.hosts, text
    for host in facts.hosts:
        assert host.kind == "reference", (text, host)
        assert host.evidence[0].reference == reference


@pytest.mark.parametrize("text", [
    "https://api.shop-real.cn/v1/login",
    'fetch("https://api.shop-real.cn/v1")',
    '<script src="https://api.shop-real.cn/x.js">',
    "api.url=https://api.shop-real.cn/v1",
    "https://api.shop-real.cn/features/list",  # an https API path named features is not an XML identifier
])
def test_contact_shapes(text):
    facts = scan("assets/config.txt", text.encode())
    assert one_host(facts, "api.shop-real.cn").kind == "contact", text


@pytest.mark.parametrize(("name", "reason"), [
    ("META-INF/LICENSE.txt", "licence_file"), ("META-INF/NOTICE", "licence_file"),
    ("res/raw/third_party_licenses", "licence_file"), ("assets/README.md", "licence_file"),
    ("META-INF/maven/com.squareup/okio/pom.xml", "build_metadata"),
    ("org/apache/xerces/impl/msg/XMLMessages.properties", "message_catalogue"),
    ("org/joda/time/tz/data/ZoneInfoMap.dtd", "schema_location"),
    ("assets/config.properties", None), ("classes.dex", None), ("assets/www/index.html", None),
])
def test_entry_references(name, reason):
    assert entry_reference(name) == reason


def test_a_host_in_a_licence_file_and_in_code_is_a_contact():
    scanner = NetworkScanner()
    scanner.feed("META-INF/LICENSE", b"Licensed under http://www.apache-like.org/licenses/LICENSE-2.0\n")
    facts = scanner.facts()
    assert one_host(facts, "www.apache-like.org").kind == "reference"
    scanner.feed("assets/a.json", b'{"u": "https://www.apache-like.org/api"}')
    host = one_host(scanner.facts(), "www.apache-like.org")
    assert host.kind == "contact"
    assert host.evidence[0].reference is None and host.evidence[0].source == "assets/a.json"
    assert host.evidence[1].reference == "licence_file"


@pytest.mark.parametrize(("ip", "scope"), [
    ("119.29.29.29", "public"), ("2400:3200::1", "public"), ("10.2.33.4", "private"), ("192.168.1.1", "private"),
    ("fd00::1", "private"), ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link_local"),
    ("fe80::1", "link_local"), ("100.64.0.1", "shared"), ("203.0.113.7", "documentation"),
    ("2001:db8::1", "documentation"), ("224.0.0.251", "multicast"), ("240.0.0.1", "reserved"),
])
def test_ip_scopes(ip, scope):  # IANA special-purpose address registries, by hand
    assert ip_scope(ip) == scope


def test_addresses_in_a_url_keep_any_scope_and_bare_ones_do_not():
    facts = scan("assets/a.txt", b"http://127.0.0.1:8080/x and 127.0.0.1 alone")
    assert [(i.ip, i.scope, i.evidence[0].excerpt) for i in facts.ips] == [
        ("127.0.0.1", "loopback", "http://127.0.0.1:8080/x and 127.0.0.1 alone")]


def test_a_private_dotted_quad_as_a_whole_resource_value_is_a_version():
    # res/values: <string name="build">10.2.33.4</string> beside a real address with a port
    pool = _utf8_pool([b"10.2.33.4", b"10.9.8.7:8080"])
    facts = scan("resources.arsc", pool)
    assert [(i.ip, i.scope) for i in facts.ips] == [("10.9.8.7", "private")]


def test_only_contact_hosts_and_public_ips_count():
    ev = (Evidence("classes.dex", "url", "x"),)
    network = NetworkFacts(
        hosts=(HostFact("api.mine.cn", "mine.cn", ("classes.dex",), evidence=ev),
               HostFact("netty.io", "netty.io", ("classes.dex",), kind="reference", evidence=ev)),
        ips=(IpFact("10.0.0.1", ("a",), scope="private"), IpFact("119.29.29.29", ("a",), scope="public"),
             IpFact("8.8.8.8", ("a",), kind="reference", scope="public"), IpFact("1.2.4.8", ("a",))))
    coverage = check_coverage(network, [])
    assert [h.host for h in coverage.uncovered_hosts] == ["api.mine.cn"]
    assert [h.host for h in coverage.reference_hosts] == ["netty.io"]
    # scope None: facts stored before scopes existed count as they did then
    assert [i.ip for i in coverage.uncovered_ips] == ["119.29.29.29", "1.2.4.8"]
    assert [i.ip for i in coverage.unfileable_ips] == ["10.0.0.1", "8.8.8.8"]


def test_facts_round_trip_through_their_dict():
    host = HostFact("a.b.cn", "b.cn", ("x",), "SDK", "reference", (Evidence("x", "url", "e", "oauth_scope"),), "code")
    assert HostFact.from_dict(host.as_dict()) == host
    ip = IpFact("10.0.0.1", ("x",), "contact", (Evidence("x", "bare_ip", "10.0.0.1"),), "private")
    assert IpFact.from_dict(ip.as_dict()) == ip


@pytest.mark.parametrize("cls", [Evidence, HostFact])
def test_written_out_constructors_set_exactly_the_fields(cls):
    import dataclasses

    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    made = cls(*[f"v{n}" for n in range(len(required))])
    assert list(vars(made)) == [f.name for f in fields]
    assert [getattr(made, f.name) for f in fields[len(required):]] == [f.default for f in fields[len(required):]]
    by_keyword = cls(**{f.name: f"k{n}" for n, f in enumerate(fields)})
    assert [getattr(by_keyword, f.name) for f in fields] == [f"k{n}" for n in range(len(fields))]
    assert dataclasses.replace(by_keyword, **{fields[0].name: "r"}) != by_keyword
    assert hash(by_keyword) == hash(cls(**{f.name: f"k{n}" for n, f in enumerate(fields)}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, "changed")


def _utf8_pool(strings: list[bytes]) -> bytes:
    """A resources.arsc with one UTF-8 global string pool (ResTable header + ResStringPool), built by hand."""
    import struct
    body = b"".join(bytes([len(s), len(s)]) + s + b"\0" for s in strings)
    body += b"\0" * (-len(body) % 4)
    offsets = []
    pos = 0
    for s in strings:
        offsets.append(pos)
        pos += len(s) + 3
    header_size = 28
    strings_start = header_size + 4 * len(strings)
    pool = struct.pack("<HHIIIIII", 1, header_size, strings_start + len(body), len(strings), 0, 0x100,
                       strings_start, 0) + b"".join(struct.pack("<I", o) for o in offsets) + body
    table_header = 12
    return struct.pack("<HHII", 2, table_header, table_header + len(pool), 0) + pool


def test_vector_path_numbers_are_not_addresses():
    # res/drawable/ic_doc_certificate.xml of Android's framework-res: android:pathData
    path = b"c0 1.41.72 2.74 1.94 3.56.71.48 1.54.71 2.54.71.24 0 .64,-.03"
    assert scan("res/drawable/x.xml.txt", path).ips == ()
    assert [i.ip for i in scan("assets/a.txt", b"dns 223.5.5.5").ips] == ["223.5.5.5"]


def test_dtd_keywords_count_only_in_capitals():
    """A DOCTYPE's SYSTEM/PUBLIC URL is a schema; a quick app's "system.fetch" module name before a URL is not."""
    from gate.extract.network.references import url_reference

    doctype = '<!DOCTYPE html SYSTEM "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
    assert url_reference(doctype, doctype.index("http")) == "schema_location"
    public = '<!DOCTYPE x PUBLIC "-//X//DTD X//EN" "http://example.org/x">'
    assert url_reference(public, public.index("http")) == "schema_location"
    js = 'var f=$app_require$("@app-module/system.fetch");f.fetch({url:"https://api.quick.example.cn/v1"})'
    assert url_reference(js, js.index("https")) is None
