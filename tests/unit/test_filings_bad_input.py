"""Odd filing records and files are refused with a code, never a traceback.

This matters beyond ``gate filings import``: ``gate sync filings`` validates every feed record with the same
``validate_record``, so an exception there stops the sync before the page's cursor is stored — one odd record from
the regulator would block the feed (and every cancellation after it) forever instead of being skipped and audited.
"""

from __future__ import annotations

import copy

import pytest

from gate.filings.formats import read_records
from gate.filings.problems import FilingsInvalid
from gate.filings.validate import validate_record

RECORD = {"service_licence": "京ICP备2024000001号-1A", "main_licence": "京ICP备2024000001号", "service_type": "app",
          "service_name": "你好门禁", "unit_name": "门禁示例科技有限公司", "status": "active",
          "approved_at": "2024-03-01", "blacklisted": False,
          "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello",
                         "signature_md5": "0176d8d0130a8b0d3729e7833d7cb8cc"}],
          "domains": ["hello-gate.cn"], "content_approvals": []}


@pytest.mark.parametrize("field, value, code", [
    ("service_licence", 20240000011, "licence_syntax"),
    ("service_licence", ["京ICP备2024000001号-1A"], "licence_syntax"),
    ("domains", 7, "domain_syntax"),
    ("domains", {"a": "b"}, "domain_syntax"),
    ("content_approvals", 3, "content_approvals_syntax"),
])
def test_wrong_json_types_are_problems(field, value, code):
    raw = copy.deepcopy(RECORD)
    raw[field] = value
    filing, problems = validate_record(raw)
    assert filing is None
    assert code in [p.code for p in problems]


def test_the_record_itself_still_validates():
    filing, problems = validate_record(copy.deepcopy(RECORD))
    assert filing is not None and problems == []


@pytest.mark.parametrize("name, content", [
    ("deep.json", b"[" * 100_000),                      # RecursionError inside json
    ("deep.jsonl", b"[" * 100_000 + b"\n"),
    ("latin1.json", b'[{"service_name": "\xff"}]'),     # not UTF-8
    ("latin1.jsonl", b'{"service_name": "\xff"}\n'),
])
def test_unparseable_files_are_refused_with_a_code(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    try:
        records = list(read_records(path))
    except FilingsInvalid as exc:
        assert exc.code in ("json_syntax", "filings_unreadable")
        return
    # JSON Lines reports a bad line as that row's problem instead of refusing the file
    assert records and all(r.problems and r.problems[0].code == "json_syntax" for r in records)
