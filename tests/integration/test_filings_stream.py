"""A large import reads and validates in a second process: the same records, order and problems as in-process."""

import json

import pytest

from gate.filings import stream
from gate.filings.problems import FilingsInvalid
from gate.filings.stream import validated, validated_in_parallel

MD5 = "0176d8d0130a8b0d3729e7833d7cb8cc"


def _record(i: int) -> dict:
    r = {"service_licence": f"京ICP备2024{i:06d}号-1A", "service_type": "app", "service_name": f"应用{i}",
         "unit_name": "测试科技有限公司", "status": "active",
         "platforms": [{"platform": "android", "identifier": f"cn.stream.app{i}", "signature_md5": MD5}],
         "domains": [f"app{i}.example.cn", "*.wild.example.cn"]}
    if i % 97 == 0:
        r["platforms"][0]["signature_md5"] = "not-a-digest"  # an error row
    if i % 101 == 0:
        r["status"] = "maybe"  # another error row
    return r


@pytest.fixture
def filings_file(tmp_path):
    path = tmp_path / "filings.jsonl"
    lines = [json.dumps(_record(i), ensure_ascii=False) for i in range(3500)]
    lines.insert(1234, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _comparable(items):
    return [(source, row, filing.canonical_json() if filing else None, filing.digest() if filing else None,
             [p.as_dict() for p in problems], key) for source, row, filing, problems, key in items]


def test_parallel_reader_yields_exactly_the_in_process_records(filings_file):
    here = _comparable(validated([filings_file, filings_file]))
    there = _comparable(validated_in_parallel([filings_file, filings_file]))
    assert len(here) == 7002
    assert there == here
    assert sum(1 for *_, problems, _key in here if any(p["severity"] == "error" for p in problems)) > 70


def test_a_file_fault_in_the_child_is_raised_with_its_code(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"service_licence": "x"}', encoding="utf-8")  # an array that is never closed
    with pytest.raises(FilingsInvalid) as here:
        list(validated([broken]))
    with pytest.raises(FilingsInvalid) as there:
        list(validated_in_parallel([broken]))
    assert (there.value.code, there.value.message) == (here.value.code, here.value.message)


def test_import_switches_to_the_parallel_reader_above_the_threshold(filings_file, monkeypatch):
    from gate.filings.importer import import_files
    from gate.filings.registry import MemoryRegistry

    small = import_files([filings_file], MemoryRegistry(), skip_invalid=True)
    monkeypatch.setattr(stream, "PARALLEL_MIN_BYTES", 1)
    big = import_files([filings_file], MemoryRegistry(), skip_invalid=True)
    assert big.as_dict() == small.as_dict()


def test_parallel_reader_recognises_the_same_known_records(filings_file):
    from gate.filings.stream import KnownRecord

    text = filings_file.read_text(encoding="utf-8")
    lines = text.splitlines()
    # Every third record without the wildcard domain (a warning): those validate without problems and get keys.
    lines = [x.replace(', "*.wild.example.cn"', "") if i % 3 else x for i, x in enumerate(lines)]
    filings_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    keyed = list(validated([filings_file], frozenset()))
    known = frozenset(key for *_, key in keyed[::2] if key is not None)
    here = list(validated([filings_file], known))
    there = list(validated_in_parallel([filings_file], known))
    assert [(s, r, f if isinstance(f, KnownRecord) else None, k) for s, r, f, _, k in there] == \
        [(s, r, f if isinstance(f, KnownRecord) else None, k) for s, r, f, _, k in here]
    assert sum(isinstance(f, KnownRecord) for _, _, f, _, _ in here) == len(known) > 500
    # Records with problems (errors or warnings) never get a key.
    assert all(k is None for _, _, f, problems, k in keyed if problems)
