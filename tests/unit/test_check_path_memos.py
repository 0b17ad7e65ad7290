"""The small check path's remembered answers give what computing them again gives.

Each memo (step 7's similarity, the policy's JSON, a stored filing version) is held to the plain computation it
stands for, written out here from the libraries it is made of (difflib, json, Filing.from_canonical), never to
the memo itself; and the security headers are held to werkzeug's own ``setdefault``, header by header.
"""

from __future__ import annotations

import difflib
import json
import unicodedata

import flask
import pytest

from gate import decide
from gate.api.app import SECURITY_HEADERS, _security_headers
from gate.db import checks, filings
from gate.filings.records import Filing
from gate.policy import Policy


def _difflib_similarity(label: str, service_name: str) -> float:
    """docs/filings.md step 7, from its words: NFKC, case-folded, no spaces or punctuation; containment is 1.0."""
    def key(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKC", text).casefold()
                       if c.isalnum() and c != "_")

    a, b = key(label), key(service_name)
    if not a or not b:
        return 0.0
    if a in b or b in a:
        return 1.0
    return difflib.SequenceMatcher(None, a, b).ratio()


@pytest.mark.parametrize("label, service_name", [
    ("Hello Gate (en)", "你好门禁"), ("你好閘口", "你好门禁"), ("微信", "微信 - 极速版"), ("", "x"),
    ("ＡＢＣ　应用", "abc应用"), ("Photo Editor", "Foto Editor Pro"), ("x" * 300, "x" * 299 + "y"),
])
def test_name_similarity_is_the_same_asked_once_or_again(label, service_name):
    expected = _difflib_similarity(label, service_name)
    assert decide.name_similarity(label, service_name) == pytest.approx(expected, abs=0)
    assert decide.name_similarity(label, service_name) == pytest.approx(expected, abs=0)  # remembered


def test_name_similarity_memo_stays_bounded():
    for i in range(decide.MEMO_ENTRIES + 10):
        decide.name_similarity(f"app {i}", "service")
    assert decide._remembered_similarity.cache_info().currsize <= decide.MEMO_ENTRIES
    long = "名" * decide.MEMO_NAME_CHARS
    before = decide._remembered_similarity.cache_info()
    decide.name_similarity(long, "service")
    after = decide._remembered_similarity.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # a long pair is computed, never kept


def _policy_text(policy: Policy) -> str:
    return json.dumps({f: getattr(policy, f) for f in (
        "unfiled_domains", "name_mismatch", "entity_mismatch", "key_rotated", "upload_key_only", "name_similarity",
        "number_not_shown", "content_approval", "packed")}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_policy_json_follows_the_policy_it_is_given():
    first, second = Policy(), Policy(unfiled_domains="block", name_similarity=0.75)
    for policy in (first, second, first, Policy(), second):
        assert checks._policy_json(policy) == _policy_text(policy)


RECORD = {"service_licence": "京ICP备2023000001号-1A", "main_licence": "京ICP备2023000001号", "service_type": "app",
          "service_name": "你好门禁", "unit_name": "示例科技有限公司", "unit_nature": "企业", "status": "active",
          "approved_at": "2023-09-01", "blacklisted": False,
          "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello", "public_key": None,
                         "signature_md5": "0176d8d0130a8b0d3729e7833d7cb8cc", "signature_sha1": None,
                         "signature_sha256": None}],
          "domains": ["example.cn"], "content_approvals": []}


def test_a_filing_version_is_what_its_record_says_each_time():
    text = json.dumps(RECORD, ensure_ascii=False)
    for version_id in (7, 7, 8):
        got = filings._version_filing(version_id, text)
        assert got == Filing.from_canonical(json.loads(text), version_id=version_id)
        assert got.version_id == version_id
        assert got.service_name == "你好门禁" and got.domains == ("example.cn",)
    changed = json.dumps({**RECORD, "status": "cancelled"}, ensure_ascii=False)
    assert filings._version_filing(7, changed).status == "cancelled"  # same id, other text: read from the text


def test_the_filing_version_memo_holds_a_bounded_amount_of_text(monkeypatch):
    monkeypatch.setattr(filings, "_VERSION_MEMO", {})
    monkeypatch.setattr(filings, "_VERSION_MEMO_CHARS_HELD", 0)
    text = json.dumps(RECORD, ensure_ascii=False)
    monkeypatch.setattr(filings, "VERSION_MEMO_TOTAL_CHARS", 3 * len(text))
    for version_id in range(10):
        assert filings._version_filing(version_id, text).version_id == version_id
        assert len(filings._VERSION_MEMO) <= 3
        assert sum(len(record) for _, record in filings._VERSION_MEMO) <= 3 * len(text)
    monkeypatch.setattr(filings, "VERSION_MEMO_CHARS", len(text) - 1)  # longer records are read, never kept
    filings._VERSION_MEMO.clear()
    assert filings._version_filing(99, text).version_id == 99 and not filings._VERSION_MEMO


@pytest.mark.parametrize("preset", [
    [], [("Content-Type", "application/json")],
    [("Content-Type", "text/html"), ("x-frame-options", "SAMEORIGIN"), ("Content-Security-Policy", "default-src *")],
    [("Referrer-Policy", "origin"), ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "x"),
     ("X-Frame-Options", "DENY")],
])
def test_security_headers_as_setdefault_adds_them(preset):
    ours, theirs = flask.Response("x"), flask.Response("x")
    for response in (ours, theirs):
        del response.headers["Content-Type"]
        for name, value in preset:
            response.headers.add(name, value)
    for name, value in SECURITY_HEADERS.items():
        theirs.headers.setdefault(name, value)
    _security_headers(ours)
    assert list(ours.headers.items()) == list(theirs.headers.items())
