"""The check page's domains table says "filed" only where the filing lists the host (hand-labelled cases)."""

from gate.extract.facts import Evidence, HostFact, IpFact, NetworkFacts
from gate.hosts import host_rows

NETWORK = NetworkFacts(
    hosts=(HostFact("api.shop.example.cn", "example.cn", ("classes.dex",), evidence=(
               Evidence("classes.dex", "url", "https://api.shop.example.cn/v1"),)),
           HostFact("cdn.other.cn", "other.cn", ("classes.dex",)),
           HostFact("sdk.umeng.com", "umeng.com", ("classes.dex",), third_party="友盟 Umeng"),
           HostFact("www.apache.org", "apache.org", ("META-INF/LICENSE",), kind="reference", evidence=(
               Evidence("META-INF/LICENSE", "url_in_text", "http://www.apache.org/licenses/", "licence_file"),))),
    ips=(IpFact("203.0.113.9", ("res/raw/conf",), scope="documentation"),
         IpFact("8.8.8.8", ("res/raw/conf",), scope="public"),
         IpFact("1.1.1.1", ("res/raw/conf",), scope="public")))


def states(filed):
    return {r["name"]: r["state"] for r in host_rows(NETWORK, filed)}


def test_filed_only_where_the_filing_lists_it():
    assert states(["example.cn", "1.1.1.1"]) == {
        "api.shop.example.cn": "filed", "cdn.other.cn": "unfiled", "sdk.umeng.com": "third_party",
        "www.apache.org": "reference", "203.0.113.9": "unfileable", "8.8.8.8": "unfiled", "1.1.1.1": "filed"}


def test_a_filing_that_lists_a_third_party_host_covers_it():
    assert states(["umeng.com"])["sdk.umeng.com"] == "filed"


def test_without_a_filing_nothing_is_called_filed_or_unfiled():
    found = states(None)
    assert found["api.shop.example.cn"] is None and found["sdk.umeng.com"] == "third_party"
    assert found["www.apache.org"] == "reference"
