"""check_coverage: which found hosts and IPs a filing's domain list covers (gate/coverage.py rules 1-3)."""

from __future__ import annotations

import pytest

from gate.coverage import Coverage, check_coverage, split_filed
from gate.extract.facts import HostFact, IpFact, NetworkFacts


def host(name: str, registrable: str | None, third_party: str | None = None) -> HostFact:
    # registrable domains written by hand from the Public Suffix List rules, not computed by the code under test
    return HostFact(host=name, registrable_domain=registrable, sources=("classes.dex",), third_party=third_party)


def ip(value: str) -> IpFact:
    return IpFact(ip=value, sources=("classes.dex",))


def uncovered(network: NetworkFacts, filed: list[str]) -> list[str]:
    coverage = check_coverage(network, filed)
    return [h.host for h in coverage.uncovered_hosts] + [i.ip for i in coverage.uncovered_ips]


@pytest.mark.parametrize(("found", "registrable", "filed", "covered"), [
    ("api.example.cn", "example.cn", ["example.cn"], True),
    ("a.b.c.example.cn", "example.cn", ["example.cn"], True),
    ("api.example.cn", "example.cn", ["api.example.cn"], True),
    ("img.example.cn", "example.cn", ["api.example.cn"], False),  # a sibling does not cover
    ("example.cn", "example.cn", ["api.example.cn"], False),  # a child does not cover its parent
    ("api.shop.com.cn", "shop.com.cn", ["shop.com.cn"], True),  # multi-part suffix
    ("api.shop.com.cn", "shop.com.cn", ["com.cn"], False),  # a public suffix covers nothing
    ("www.miit.gov.cn", "miit.gov.cn", ["miit.gov.cn"], True),
    ("www.miit.gov.cn", "miit.gov.cn", ["gov.cn"], False),
    ("api.example.cn", "example.cn", ["example.com"], False),
    ("notexample.cn", "notexample.cn", ["example.cn"], False),  # label boundaries, not string suffixes
])
def test_host_coverage(found, registrable, filed, covered):
    network = NetworkFacts(hosts=(host(found, registrable),))
    assert (uncovered(network, filed) == []) is covered


@pytest.mark.parametrize("written", [
    "Example.CN", "example.cn.", " example.cn ", "https://example.cn/path", "example.cn:443", "*.example.cn",
])
def test_filed_domains_are_normalised(written):
    network = NetworkFacts(hosts=(host("api.example.cn", "example.cn"),))
    assert uncovered(network, [written]) == []


def test_internationalised_filed_domain_matches_its_idna_form():
    network = NetworkFacts(hosts=(host("www.xn--fiqs8s.cn", "xn--fiqs8s.cn"),))  # 中国.cn
    assert uncovered(network, ["中国.cn"]) == []


@pytest.mark.parametrize(("found", "filed", "covered"), [
    ("203.0.113.7", "203.0.113.7", True),
    ("203.0.113.7", "203.0.113.7:8080", True),
    ("203.0.113.7", "203.0.113.8", False),
    ("2001:db8::1", "2001:DB8:0:0:0:0:0:1", True),
    ("2001:db8::1", "[2001:db8::1]:443", True),
    ("2001:db8::1", "2001:db8::2", False),
    ("203.0.113.7", "example.cn", False),
])
def test_ip_coverage(found, filed, covered):
    network = NetworkFacts(ips=(ip(found),))
    assert (uncovered(network, [filed]) == []) is covered


def test_third_party_hosts_are_reported_apart_and_never_uncovered():
    wechat = host("open.weixin.qq.com", "qq.com", third_party="WeChat SDK (Tencent)")
    own = host("api.example.cn", "example.cn")
    coverage = check_coverage(NetworkFacts(hosts=(wechat, own)), [])
    assert coverage.third_party_hosts == (wechat,)
    assert coverage.uncovered_hosts == (own,)
    assert not coverage.complete


def test_everything_filed_is_complete():
    network = NetworkFacts(hosts=(host("api.example.cn", "example.cn"),), ips=(ip("203.0.113.7"),))
    coverage = check_coverage(network, ["example.cn", "203.0.113.7"])
    assert coverage == Coverage(uncovered_hosts=(), uncovered_ips=(), third_party_hosts=())
    assert coverage.complete


def test_empty_filing_covers_nothing():
    network = NetworkFacts(hosts=(host("api.example.cn", "example.cn"),), ips=(ip("203.0.113.7"),))
    assert uncovered(network, []) == ["api.example.cn", "203.0.113.7"]


def test_split_filed_ignores_blanks_and_non_strings():
    assert split_filed(["", "  ", None, "example.cn", "203.0.113.7"]) == ({"example.cn"}, {"203.0.113.7"})
