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


class _Queue:
    """A chunk queue holding ``size`` chunks (the reader's view of how far the writer is behind)."""

    def __init__(self, size):
        self.size, self.sent = size, []

    def qsize(self):
        if self.size is None:
            raise NotImplementedError  # as on macOS
        return self.size

    def put(self, message):
        self.sent.append(message)


@pytest.mark.parametrize("queued, in_reader", [(0, False), (stream.QUEUE_CHUNKS // 2 - 1, False),
                                               (stream.QUEUE_CHUNKS // 2, True), (None, True)])
def test_the_reader_computes_digests_only_while_the_writer_is_behind(filings_file, queued, in_reader):
    import hashlib
    import pickle

    chunk = list(validated([filings_file], digests=False))[:50]
    queue = _Queue(queued)
    stream._put(queue, chunk)
    [(kind, sent)] = queue.sent
    assert kind == "records"
    received = pickle.loads(pickle.dumps(sent))  # what the writer gets
    filings = [item[2] for item in received if item[2] is not None]
    assert len(filings) > 40
    for filing in filings:
        assert ("_digest" in filing.__dict__) is in_reader
        # The oracle: docs/filings.md's canonical JSON and its SHA-256, computed here from the record's shape.
        text = json.dumps(filing.canonical(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert filing.canonical_json() == text
        assert filing.digest() == hashlib.sha256(text.encode("utf-8")).hexdigest()
