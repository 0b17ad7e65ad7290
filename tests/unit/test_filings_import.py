"""Import formats and validation: every format reads to the same filings; errors per row and field."""

import codecs
import json

import pytest

from gate.filings.formats import read_records, sniff_encoding
from gate.filings.importer import import_files
from gate.filings.problems import FilingsInvalid
from gate.filings.registry import MemoryRegistry
from gate.filings.validate import validate_record

MD5 = "0176d8d0130a8b0d3729e7833d7cb8cc"
HEADER = "服务备案号,主体备案号,服务类型,服务名称,主办单位名称,主办单位性质,状态,审核通过日期,平台,包名/Bundle ID,公钥,签名MD5,域名"
CSV_ROWS = [
    HEADER,
    f"京ICP备2024000001号-1A,京ICP备2024000001号,APP,你好门禁,北京门禁科技有限公司,企业,正常,2024-03-05,安卓,cn.filinggate.hello,,{MD5.upper()},filinggate.cn;api.filinggate.cn",
    f"京ICP备2024000001号-1A,京ICP备2024000001号,APP,你好门禁,北京门禁科技有限公司,企业,正常,2024-03-05,iOS,cn.filinggate.hello.ios,,{MD5},",
    "粤ICP备12345678号-2X,,小程序,门禁小程序,深圳某公司,企业,已注销,2023/1/9,,,,,",
]


def record(**over):
    base = {"service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "你好门禁",
            "unit_name": "北京门禁科技有限公司", "status": "active",
            "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello", "signature_md5": MD5}]}
    base.update(over)
    return base


def load(tmp_path, name, content, **kw):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    registry = MemoryRegistry()
    report = import_files([path], registry, **kw)
    return registry, report


def test_csv_rows_of_one_filing_merge_and_chinese_enumerations_normalise(tmp_path):
    registry, report = load(tmp_path, "f.csv", "\n".join(CSV_ROWS) + "\n")
    assert (report.records, report.created, report.errors) == (2, 2, 0)
    f = registry.filings["京ICP备2024000001号-1A"]
    assert [(p.platform, p.identifier) for p in f.platforms] == [("android", "cn.filinggate.hello"),
                                                               ("ios", "cn.filinggate.hello.ios")]
    assert f.domains == ("api.filinggate.cn", "filinggate.cn") and f.approved_at == "2024-03-05"
    mini = registry.filings["粤ICP备12345678号-2X"]
    assert (mini.service_type, mini.status, mini.approved_at, mini.main_licence) == (
        "mini_program", "cancelled", "2023-01-09", "粤ICP备12345678号")


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_csv_encodings_are_detected_and_read_alike(tmp_path, encoding, expected):
    data = ("\r\n".join(CSV_ROWS) + "\r\n").encode(encoding)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert sniff_encoding(path) == expected
    registry, _ = load(tmp_path, "f.csv", data)
    assert registry.filings["京ICP备2024000001号-1A"].unit_name == "北京门禁科技有限公司"


def test_all_formats_yield_the_same_filings(tmp_path):
    from openpyxl import Workbook

    csv_registry, _ = load(tmp_path, "f.csv", "\n".join(CSV_ROWS))
    records = [f.canonical() for f in csv_registry.filings.values()]
    json_registry, _ = load(tmp_path, "f.json", json.dumps(records, ensure_ascii=False, indent=2))
    jsonl_registry, _ = load(tmp_path, "f.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records))
    wb = Workbook()
    for line in CSV_ROWS:
        wb.active.append([c or None for c in line.split(",")])
    wb.save(tmp_path / "f.xlsx")
    xlsx_registry = MemoryRegistry.from_files([tmp_path / "f.xlsx"])
    assert csv_registry.filings == json_registry.filings == jsonl_registry.filings == xlsx_registry.filings


def test_json_array_streams_across_chunk_borders(tmp_path, monkeypatch):
    monkeypatch.setattr("gate.filings.formats.READ_CHUNK", 7)
    recs = [record(service_licence=f"京ICP备20240000{i:02d}号-1A",
                   platforms=[{"platform": "android", "identifier": f"cn.x.a{i}", "signature_md5": MD5}])
            for i in range(1, 13)]
    path = tmp_path / "f.json"
    path.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    assert [r.row for r in read_records(path)] == list(range(1, 13))


def test_errors_report_row_and_field_and_import_nothing(tmp_path):
    rows = CSV_ROWS[:2] + [
        "京ICP备2024000002号-1A,,APP,坏,单位,企业,正常,2024-13-01,安卓,cn.bad,,ABCD,not a domain!",
        "京ICP备2024000003号-1X,,APP,坏,单位,企业,暂停,,塞班,com.x.y,,,",
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    registry, seen = MemoryRegistry(), []
    with pytest.raises(FilingsInvalid) as exc:
        import_files([path], registry, on_problem=seen.append)
    assert exc.value.code == "filings_invalid"
    got = {(p.row, p.field, p.code) for p in seen}
    assert {(3, "approved_at", "date_syntax"), (3, "platforms[0].signature_md5", "fingerprint_length"),
            (3, "domains", "domain_syntax"), (4, "status", "status_unknown"),
            (4, "service_licence", "licence_type_mismatch"), (4, "platforms[0].platform", "platform_unknown"),
            } <= got
    assert all(p.source == str(path) for p in seen)
    assert registry.filings == {}  # nothing written once an error is certain


def test_skip_invalid_imports_the_rest_and_lists_skipped_rows(tmp_path):
    rows = CSV_ROWS[:2] + ["京ICP备2024000002号-1A,,APP,坏,单位,企业,正常,,安卓,cn.bad,,ABCD,"]
    registry, report = load(tmp_path, "f.csv", "\n".join(rows), skip_invalid=True)
    assert list(registry.filings) == ["京ICP备2024000001号-1A"]
    assert report.skipped == 1 and [r for _, r in report.skipped_rows] == [3]


@pytest.mark.parametrize("over,field,code", [
    ({"service_type": "app", "platforms": []}, "platforms", "field_required"),
    ({"platforms": [{"platform": "android", "identifier": "cn.x.y"}]}, "platforms[0].public_key", "key_missing"),
    ({"platforms": [{"platform": "android", "identifier": "nodots", "signature_md5": MD5}]},
     "platforms[0].identifier", "identifier_syntax"),
    ({"main_licence": "京ICP备2024000009号"}, "main_licence", "main_licence_mismatch"),
    ({"service_licence": "京ICP备2024000001号"}, "service_licence", "licence_not_service"),
    ({"blacklisted": "maybe"}, "blacklisted", "boolean_syntax"),
    ({"domains": ["https://x.cn/a"]}, "domains", "domain_syntax"),
    ({"unit_name": ""}, "unit_name", "field_required"),
])
def test_record_rules(over, field, code):
    filing, problems = validate_record(record(**over))
    assert filing is None
    assert (field, code) in {(p.field, p.code) for p in problems}


def test_unknown_type_letter_is_a_warning_not_a_crash():
    filing, problems = validate_record(record(service_licence="京ICP备2024000001号-1Q", service_type="quick_app"))
    assert filing is not None and filing.service_type == "quick_app"
    assert [(p.code, p.severity) for p in problems] == [("licence_type_letter_unknown", "warning")]


def test_same_package_active_under_two_filings_is_rejected(tmp_path):
    recs = [record(), record(service_licence="京ICP备2024000002号-1A")]
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    seen = []
    with pytest.raises(FilingsInvalid):
        import_files([path], MemoryRegistry(), on_problem=seen.append)
    assert [(p.row, p.field, p.code) for p in seen] == [(2, "platforms[0].identifier", "identifier_conflict")]
    # A cancelled filing may name the same package (the app moved to a new filing).
    recs[1]["status"] = "cancelled"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    assert import_files([path], MemoryRegistry()).created == 2


def test_reimport_is_unchanged_and_duplicates_with_other_content_are_errors(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(record(), ensure_ascii=False), encoding="utf-8")
    registry = MemoryRegistry()
    assert import_files([path], registry).created == 1
    again = MemoryRegistry()
    again.filings = dict(registry.filings)
    twice = tmp_path / "twice.jsonl"
    twice.write_text("\n".join([json.dumps(record(), ensure_ascii=False),
                                json.dumps(record(service_name="别的"), ensure_ascii=False)]), encoding="utf-8")
    seen = []
    with pytest.raises(FilingsInvalid):
        import_files([twice], MemoryRegistry(), on_problem=seen.append)
    assert [(p.row, p.code) for p in seen] == [(2, "licence_duplicate")]


def test_missing_required_column_is_a_file_error(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF8 + "服务备案号,服务名称\n京ICP备2024000001号-1A,x\n".encode())
    with pytest.raises(FilingsInvalid) as exc:
        import_files([path], MemoryRegistry())
    assert exc.value.code == "header_missing" and "主办单位名称" in exc.value.message
