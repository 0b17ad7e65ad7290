"""Content approvals (前置审批): which store categories need which approval in the filing.

MIIT notice 工信部信管〔2023〕105号 (四): an app offering news, publishing, education, film and TV, religion, medical or
drug information (and similar regulated content) files the approval of the competent authority with its filing; the
filing record lists them in ``content_approvals``. Stores know the app's category from its listing (upload metadata
``category``), so the gate can tell when a category needs an approval that the filing does not list.

This table is the one place that says so. A rule applies when the store's category contains one of its
``category_words`` (after NFKC and case folding: ``新闻资讯``, ``News & Magazines`` both contain a word of ``news``);
it is satisfied when an entry of ``content_approvals`` contains one of its ``approval_words`` (``新闻`` matches
``互联网新闻信息服务许可``). A category can match several rules (``医疗健康`` → medical; ``医药`` → drugs). Categories
that match no rule need nothing here. The table is documented in docs/filings.md; extend it, never rename a key.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from gate.records import record


@record
class ApprovalRule:
    """A content approval (前置审批) that a store category needs, and the words that show a filing has it."""

    key: str
    category_words: tuple[str, ...]
    approval_zh: str  # the approval as the competent authority names it
    approval_en: str
    approval_words: tuple[str, ...]

    def __init__(self, key: str, category_words: tuple[str, ...], approval_zh: str, approval_en: str,
                 approval_words: tuple[str, ...]) -> None:
        object.__setattr__(self, "__dict__", {
            "key": key, "category_words": category_words, "approval_zh": approval_zh, "approval_en": approval_en,
            "approval_words": approval_words
        })


RULES: tuple[ApprovalRule, ...] = (
    ApprovalRule("news", ("新闻", "news"), "互联网新闻信息服务许可（网信部门）",
                 "internet news information service licence (Cyberspace Administration)", ("新闻",)),
    ApprovalRule("publishing", ("出版", "阅读", "图书", "小说", "publishing", "books", "reading"),
                 "网络出版服务许可（新闻出版主管部门）", "online publishing service licence (press and publication authority)",
                 ("出版",)),
    ApprovalRule("games", ("游戏", "game"), "网络游戏出版审批（版号）", "online game publication approval (ISBN)",
                 ("出版", "游戏", "版号")),
    ApprovalRule("education", ("教育", "学习", "education", "learning"), "教育主管部门审批/备案",
                 "approval or record of the education authority", ("教育",)),
    ApprovalRule("film_tv", ("影视", "视频", "广播", "电视", "视听", "直播", "video", "film", "tv", "broadcast"),
                 "信息网络传播视听节目许可（广播电视主管部门）",
                 "licence to transmit audio-visual programmes online (radio and television authority)",
                 ("广播电视", "视听", "影视")),
    ApprovalRule("religion", ("宗教", "religio"), "互联网宗教信息服务许可（宗教事务部门）",
                 "internet religious information service licence (religious affairs authority)", ("宗教",)),
    ApprovalRule("medical", ("医疗", "问诊", "诊疗", "medical"), "互联网医疗/诊疗审批（卫生健康主管部门）",
                 "internet medical service approval (health authority)", ("医疗", "卫生", "诊疗", "卫健")),
    ApprovalRule("drugs", ("药品", "医药", "药店", "drug", "pharma"), "互联网药品信息服务资格（药品监管部门）",
                 "internet drug information service qualification (drug administration)", ("药品", "药")),
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def rules_for_category(category: str | None) -> tuple[ApprovalRule, ...]:
    """The rules a store category falls under (none for an unregulated or missing category)."""
    if not category:
        return ()
    folded = _fold(category)
    return tuple(rule for rule in RULES if any(word in folded for word in rule.category_words))


def missing_approvals(category: str | None, content_approvals: Iterable[str]) -> tuple[ApprovalRule, ...]:
    """The rules of ``category`` that no entry of the filing's ``content_approvals`` satisfies."""
    filed = [_fold(a) for a in content_approvals]
    return tuple(rule for rule in rules_for_category(category)
                 if not any(word in entry for word in rule.approval_words for entry in filed))
