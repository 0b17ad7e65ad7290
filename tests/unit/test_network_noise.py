"""Noise rules and the code judgement (docs/network.md, "Noise" and "Decided by the code that loads it").

Each shape rule is checked on the bytes of its real example (the corpus labels them, see
fixtures/network/corpus_labels.json); the code judgement on ``fixtures/network/flow_code.dex``, assembled by smali
from the source in fixtures/network/build_flow_code.py, whose ``EXPECTED`` is the oracle.
"""

from __future__ import annotations

import pathlib

import pytest

from fixtures.network.build_flow_code import EXPECTED, STRINGS
from gate.extract.network import NetworkScanner
from gate.extract.network.dex_flow import sink_kinds
from gate.extract.network.finder import Findings, ScanBudget, ScanBudgetExhausted, scan_region, scan_strings

FLOW_DEX = pathlib.Path(__file__).resolve().parents[2] / "fixtures/network/flow_code.dex"


def found(text: bytes) -> set[str]:
    findings = Findings()
    scan_region(text, findings)
    return findings.hosts | findings.ips


def kinds(name: str, data: bytes) -> dict[str, tuple[str, str | None]]:
    scanner = NetworkScanner()
    scanner.feed(name, data)
    facts = scanner.facts()
    return {f.host: (f.kind, f.evidence[0].reference) for f in facts.hosts} | {
        f.ip: (f.kind, f.evidence[0].reference) for f in facts.ips}


@pytest.mark.parametrize("text", [
    b"/socket.io/1/",                                  # a URL path's first segment (AndroidAsync's socket.io client)
    b"https://api.flow-test.cn/socket.io/1/",          # the same once the authority is taken
    b"tag:yaml.org,2002:str",                          # a YAML tag URI (yaml-cpp in librime.so)
    b"s!.&a!bap.us,disnim321,?b!",                     # Guava's encoded public-suffix trie
    b"ro.miui.ui.version.name", b"persist.sys.language",  # Android system property names
    b"www.ejemplo.com", b"www.voorbeeld.com",          # "www.example.com" translated (System WebView)
])
def test_noise_shapes_are_not_hosts(text):
    assert found(text) - {"api.flow-test.cn"} == set()


@pytest.mark.parametrize("text, value", [
    (b"//cdn.flow-test.cn/lib.js", "cdn.flow-test.cn"),     # protocol-relative URL: a host
    (b"api.flow-test.cn", "api.flow-test.cn"),
    (b"server=10.2.3.4", "10.2.3.4"),
    (b"www.example-shop.com", "www.example-shop.com"),
])
def test_hosts_next_to_the_noise_rules_still_count(text, value):
    assert value in found(text)


def test_an_oid_run_in_a_string_table_is_not_addresses_but_a_lone_quad_is():
    table = b"\x092.5.29.14\x00\x092.5.29.15\x00\x0b224.0.0.251\x00\x0810.2.3.4\x00"
    findings = Findings()
    scan_strings(table, findings, prefix_len=1)
    assert findings.ips == {"10.2.3.4"}  # 224.0.0.251 standing alone is multicast: dropped as before


def test_config_comments_credits_pages_and_documentation_pages_are_references():
    line = "WebSearch: {send: function} #搜索，參考：https://developer.flow-test.cn/reference\n".encode()
    assert kinds("assets/rime/x.trime.yaml", line) == {"developer.flow-test.cn": ("reference", "config_comment")}
    assert kinds("assets/www/x.html", line)["developer.flow-test.cn"][0] == "contact"  # "#" is no comment in HTML
    credits = b"c-tsai4@uiuc.edu  http://casper.flow-test.edu/~c-tsai4\n"
    assert kinds("assets/licensing.html", credits) == {"casper.flow-test.edu": ("reference", "credits_page")}
    assert kinds("assets/x.txt", b"http://www.slf4j.org/codes.html\n") == {
        "www.slf4j.org": ("reference", "documentation_page")}


def test_the_code_judgement_agrees_with_the_smali_source():
    data = FLOW_DEX.read_bytes()
    wanted = {value: [text.encode() for text in STRINGS[value]] for value in EXPECTED}
    quads = frozenset(value for value in EXPECTED if value[0].isdigit())
    assert sink_kinds(data, wanted, certificate_context=quads) == EXPECTED


def test_the_scanner_applies_the_code_judgement_to_bare_values():
    facts = kinds("classes.dex", FLOW_DEX.read_bytes())
    assert facts["9.9.9.9"] == ("contact", None)
    assert facts["ping.flow-test.cn"] == ("contact", None)  # a string of words, run by Runtime.exec
    assert facts["log.flow-test.cn"] == ("reference", "log_message")
    assert facts["cache.flow-test.cn"] == ("reference", "file_name")
    assert facts["field.flow-test.cn"] == ("contact", None)  # unknown: the text's judgement stays
    assert facts["mixed.flow-test.cn"] == ("contact", None)
    assert "2.5.29.19" not in facts or facts["2.5.29.19"][0] == "reference"


def test_the_budget_stops_the_scan_and_says_so():
    budget = ScanBudget(50)
    with pytest.raises(ScanBudgetExhausted):
        scan_region(b"10.0.0.1:80 " * 1000, Findings(budget=budget))
    scanner = NetworkScanner(budget=50)
    scanner.feed("assets/a.txt", b"10.0.0.1:80 " * 1000)
    scanner.feed("assets/b.txt", b"https://api.after-the-stop.cn/\n")
    assert [code for code, _message in scanner.problems] == ["network_scan_budget"]
    assert "api.after-the-stop.cn" not in {h.host for h in scanner.facts().hosts}  # not scanned after the stop


def test_a_run_of_one_anchor_is_judged_once_per_token():
    """Linear: anchors inside the token just judged are not enumerated (the budget counts judgements); a token's
    look-around is bounded (46 bytes for an IPv6 run, 253 for a name), so a run costs one judgement per window."""
    for unit in (b":", b"://", b".cn", b"a.cn.", b"1."):
        data = (unit * 100_000)[:100_000]
        budget = ScanBudget(1 << 30)
        scan_region(data, Findings(budget=budget))
        assert budget.spent <= len(data) // 40, (unit, budget.spent)


def test_load_sites_and_first_calls_agree_with_androguard():
    """androguard (an independent disassembler) finds the same const-string loads of each value, and the first call
    after each load that takes the loaded register is the one whose class and name ``dex_flow`` judged."""
    from tests import requirements

    requirements.module("androguard")
    from loguru import logger

    logger.remove()
    from androguard.core.dex import DEX

    from gate.extract.network import dex_flow
    from gate.extract.network.dex_code import DexCodeIndex

    data = FLOW_DEX.read_bytes()
    theirs: dict[str, list[str]] = {}
    their_loads: dict[str, int] = {}
    for method in DEX(data).get_encoded_methods():
        instructions = list(method.get_instructions())
        for k, ins in enumerate(instructions):
            if not ins.get_name().startswith("const-string"):
                continue
            register, text = ins.get_output().split(", ", 1)
            value = text.strip('"').removeprefix("ping ")
            if value not in EXPECTED:
                continue
            their_loads[value] = their_loads.get(value, 0) + 1
            registers = {register}
            for later in instructions[k + 1:]:
                name, output = later.get_name(), later.get_output()
                if name.startswith("move-object") and output.split(", ")[1] in registers:
                    registers.add(output.split(", ")[0])
                if name.startswith("invoke") and registers & set(output.split("}")[0].strip("{").split(", ")):
                    theirs.setdefault(value, []).append(output.split(", ")[-1].split("(")[0])
                    break
    index = DexCodeIndex(data)
    flow = dex_flow._Flow(index)
    section = index._code_section()
    ours: dict[str, list[str]] = {}
    by_string = dex_flow._string_indices(index, {v: [t.encode() for t in STRINGS[v]] for v in EXPECTED})
    for string_index, values in by_string.items():
        for at in dex_flow._load_sites(data, {string_index}, *section):
            kind = flow._follow(at + 4, data[at + 1], section[1])
            for value in values:
                ours.setdefault(value, []).append(kind)
    assert {v: len(k) for v, k in ours.items()} == their_loads  # the same const-string loads of each value
    sinks = {v: sorted(t) for v, t in theirs.items()}
    assert sinks["9.9.9.9"] == ["Ljava/net/InetSocketAddress;-><init>"]
    assert sinks["ping.flow-test.cn"] == ["Ljava/lang/Runtime;->exec"]
    assert sinks["log.flow-test.cn"] == ["Landroid/util/Log;->d"]
    assert sinks["cache.flow-test.cn"] == ["Ljava/io/File;-><init>"]
    assert sinks["mixed.flow-test.cn"] == ["Landroid/util/Log;->d", "Ljava/net/URL;-><init>"]
    assert sorted(ours["mixed.flow-test.cn"]) == ["contact", "log_message"]


@pytest.mark.parametrize("string", [
    b'Text with a <a href="http://www.link-test.cn">link</a> created in the Java source code using HTML.',
    b"a;href=http://www.link-test.cn",  # aapt's style span for <a href> in a styled string resource (ApiDemos)
])
def test_links_in_markup_of_string_tables_are_text_not_contacts(string):
    table = bytes([len(string)]) + string + b"\0"
    in_table = Findings(markup_links=True)
    scan_strings(table, in_table, prefix_len=1)
    assert in_table.evidence["www.link-test.cn"][2] == "link_in_text"
    as_asset = Findings()  # an HTML asset of a hybrid app: its own page, so a contact candidate
    scan_strings(table, as_asset, prefix_len=1)
    assert as_asset.evidence["www.link-test.cn"][2] is None
