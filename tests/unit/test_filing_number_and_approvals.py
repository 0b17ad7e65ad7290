"""Filing numbers shown in the app (decision step 9) and content approvals (step 10): spellings by hand label."""

from __future__ import annotations

import dataclasses

import pytest

from gate.content_approvals import RULES, missing_approvals, rules_for_category
from gate.decide import Policy, PolicyError, decide, number_is_filings
from gate.extract.facts import FilingNumberFact
from gate.extract.filing_number import FilingNumberFinder, find_numbers
from tests.unit.test_decide import LICENCE, facts_of, filing

# text as an app spells it -> the number in the registry's normal spelling (hand labels)
SPELLINGS = {
    "京ICP备2024000001号-1A": "京ICP备2024000001号-1A",
    "备案号：京ICP备2024000001号-1A >": "京ICP备2024000001号-1A",
    "京ICP备2024000001-1A": "京ICP备2024000001号-1A",
    "京 ICP 备 2024000001 号 - 1A": "京ICP备2024000001号-1A",
    "京ＩＣＰ备２０２４０００００１号－１Ａ": "京ICP备2024000001号-1A",
    "粤ICP备12345678号": "粤ICP备12345678号",
    "沪ICP备2023000002号-3": "沪ICP备2023000002号-3",
}
NOT_NUMBERS = ["京ICP证2024000001号", "ICP备案查询", "京ICP备123号-1A", "京ICP备20240000011号", "X京ICP备"]


@pytest.mark.parametrize("text", sorted(SPELLINGS))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le"])
def test_spellings_in_both_encodings(text, encoding):
    data = b"\x00\x01junk" + text.encode(encoding) + b"\x00\x00tail"
    assert find_numbers(data) == [SPELLINGS[text]]
    assert find_numbers(b"x" + data) == [SPELLINGS[text]]  # odd offset: UTF-16 windows stay aligned


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_decoys_are_not_numbers(text):
    assert find_numbers(text.encode("utf-8")) == []
    assert find_numbers(text.encode("utf-16-le")) == []


def test_a_later_number_is_not_cut_short_by_an_earlier_hit():
    data = "ICP备案查询\x00备案号：京ICP备2024000001号-1A".encode()
    assert find_numbers(data) == ["京ICP备2024000001号-1A"]


def test_finder_says_where_and_skips_media():
    finder = FilingNumberFinder()
    for name in ("resources.arsc", "classes2.dex", "res/layout/about.xml", "assets/www/about.html",
                 "assets/logo.png", "lib/arm64-v8a/libx.so", "META-INF/CERT.SF"):
        finder.feed(name, "京ICP备2024000001号-1A".encode())
    [fact] = finder.facts()
    assert fact.sources == ("assets/www/about.html", "classes2.dex", "res/layout/about.xml", "resources.arsc")


def test_number_names_the_filing():
    f = filing("hello_zh.apk")
    assert f.main_licence == "京ICP备2024000001号"
    for shown, expected in (("京ICP备2024000001号-1A", True), ("京ICP备2024000001号", True),
                            ("京ICP备2024000001号-1", True), ("京ICP备2024000001号-2A", False),
                            ("京ICP备2024000001号-12A", False), ("沪ICP备2023000002号-3A", False)):
        assert number_is_filings(shown, f) is expected, shown


def _with_numbers(*numbers):
    return dataclasses.replace(facts_of("hello_zh.apk"),
                               filing_numbers=tuple(FilingNumberFact(n, ("resources.arsc",)) for n in numbers))


def test_step_9_number_not_shown_is_info_by_default_and_configurable():
    f = filing("hello_zh.apk")
    shown = decide(_with_numbers(LICENCE), [f], policy=Policy())
    assert "filing_number_not_shown" not in [r.code for r in shown.reasons]
    other = decide(_with_numbers("沪ICP备2023000002号-3A"), [f], policy=Policy())
    [r] = [r for r in other.reasons if r.code == "filing_number_not_shown"]
    assert r.severity == "info" and r.evidence["found"] == ["沪ICP备2023000002号-3A"]
    assert LICENCE in r.message["zh"] and LICENCE in r.message["en"]
    assert decide(_with_numbers(), [f], policy=Policy(number_not_shown="block")).verdict == "block"
    assert "filing_number_not_shown" not in [r.code for r in decide(_with_numbers(), [f],
                                                                    policy=Policy(number_not_shown="off")).reasons]
    # Facts that were never searched (preinstall list items, older stored facts) get no reason.
    unsearched = decide(facts_of("hello_zh.apk"), [f], policy=Policy())
    assert "filing_number_not_shown" not in [r.code for r in unsearched.reasons]
    with pytest.raises(PolicyError):
        Policy(number_not_shown="maybe")


@pytest.mark.parametrize("category, keys", [
    ("新闻资讯", ["news"]), ("News & Magazines", ["news"]), ("教育", ["education"]), ("影音视频", ["film_tv"]),
    ("图书阅读", ["publishing"]), ("宗教", ["religion"]), ("医疗", ["medical"]), ("医药", ["drugs"]),
    ("休闲游戏", ["games"]), ("工具", []), ("购物", []), ("", []), (None, []),
])
def test_category_rules(category, keys):
    assert [r.key for r in rules_for_category(category)] == keys


def test_approvals_satisfy_rules():
    assert missing_approvals("新闻资讯", ["互联网新闻信息服务许可"]) == ()
    assert [r.key for r in missing_approvals("新闻资讯", ["网络出版服务许可"])] == ["news"]
    assert missing_approvals("影视", ["信息网络传播视听节目许可证"]) == ()
    assert missing_approvals("工具", []) == ()
    assert {r.key for r in RULES} >= {"news", "publishing", "education", "film_tv", "religion", "medical", "drugs"}


def test_step_10_content_approval_missing():
    plain = filing("hello_zh.apk")
    approved = filing("hello_zh.apk", content_approvals=["新闻"])
    facts = _with_numbers(LICENCE)
    d = decide(facts, [plain], policy=Policy(), category="新闻")
    [r] = [r for r in d.reasons if r.code == "content_approval_missing"]
    assert d.verdict == "review" and r.evidence["required"] == ["news"] and "新闻" in r.message["zh"]
    assert decide(facts, [approved], policy=Policy(), category="新闻").verdict == "allow"
    assert decide(facts, [plain], policy=Policy(), category="工具").verdict == "allow"
    assert decide(facts, [plain], policy=Policy(), category=None).verdict == "allow"
    assert decide(facts, [plain], policy=Policy(content_approval="block"), category="新闻").verdict == "block"
    assert decide(facts, [plain], policy=Policy(content_approval="off"), category="新闻").verdict == "allow"
