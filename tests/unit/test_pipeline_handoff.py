"""Reading on two threads gives exactly the facts of reading on one, whoever inflates each entry.

A large package is verified on a second thread while this one scans (``gate.extract.handoff``); which thread inflates
an entry depends on timing. The facts must not: every fixture APK is read on one thread (the oracle), then on two
with the hand-off forced each way (the scanner inflating everything itself; the scanner waiting for the verifier
whenever it will get there) and as scheduled.
"""

from __future__ import annotations

import gc
import pathlib
import shutil
import sys
import threading

import pytest

from gate import collector
from gate.extract import handoff, pipeline, runtime
from gate.extract.container import ApkContainer
from gate.extract.network import NetworkScanner
from gate.extract.pipeline import extract_features

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
APKS = sorted(FIXTURES.glob("apks/*.apk")) + sorted(FIXTURES.glob("network/*.apk"))


def _single(monkeypatch, path):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 1 << 62)
    return extract_features(path)


def _threaded(monkeypatch, path, policy=None):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    if policy is not None:
        monkeypatch.setattr(handoff.EntryHandoff, "_read_here", policy)
    return extract_features(path)


def _always_here(self, entry):
    return True


def _wait_when_it_will_come(self, entry):
    return self._done or entry.name.startswith(handoff.SIGNATURE_DIR) \
        or self._verified_upto >= entry.local_header_offset or len(self._delivered) >= handoff.WINDOW_ENTRIES


@pytest.mark.parametrize("path", APKS, ids=[p.name for p in APKS])
def test_two_threads_read_what_one_reads(monkeypatch, path):
    oracle = _single(monkeypatch, path)
    monkeypatch.setattr(pipeline, "SMALL_KEEP_BYTES", 0)  # nothing kept from verification: every entry read again
    assert _single(monkeypatch, path) == oracle
    assert _threaded(monkeypatch, path) == oracle
    assert _threaded(monkeypatch, path, _always_here) == oracle
    assert _threaded(monkeypatch, path, _wait_when_it_will_come) == oracle


def _corrupt_entry(source: pathlib.Path, target: pathlib.Path, name: str) -> None:
    shutil.copyfile(source, target)
    with ApkContainer.open(source) as container:
        entry = container.get(name)
    data = bytearray(target.read_bytes())
    middle = entry.data_offset + entry.compressed_size // 2
    data[middle] ^= 0xFF
    target.write_bytes(bytes(data))


def test_an_unreadable_entry_is_one_problem_on_either_path(monkeypatch, tmp_path):
    broken = tmp_path / "broken.apk"
    _corrupt_entry(FIXTURES / "apks" / "multidex_native.apk", broken, "classes2.dex")
    oracle = _single(monkeypatch, broken)
    assert [p.message.split(":")[0] for p in oracle.problems] == ["classes2.dex"]
    assert not oracle.signature.verified
    for policy in (None, _always_here, _wait_when_it_will_come):
        assert _threaded(monkeypatch, broken, policy) == oracle


def test_a_scanner_that_fails_releases_the_verifier(monkeypatch):
    calls = []

    def failing_feed(self, name, data):
        calls.append(name)
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(NetworkScanner, "feed", failing_feed)
    monkeypatch.setattr(handoff, "WINDOW_ENTRIES", 1)
    result = {}

    def run():
        try:
            _threaded(monkeypatch, FIXTURES / "apks" / "multidex_native.apk", _wait_when_it_will_come)
        except RuntimeError as exc:
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the pipeline hung after the scanner failed"
    assert str(result["error"]) == "scanner bug" and len(calls) == 1
    assert not [t for t in threading.enumerate() if t.name == "gate-verify"]


def test_reading_settings_apply_while_reading_and_are_restored_after():
    before = sys.getswitchinterval(), gc.get_threshold()
    with runtime.reading_settings():
        with runtime.reading_settings():
            assert sys.getswitchinterval() == pytest.approx(min(before[0], runtime.SWITCH_INTERVAL_S))
            assert gc.get_threshold()[0] == max(before[1][0], collector.YOUNG_THRESHOLD)
        assert sys.getswitchinterval() == pytest.approx(min(before[0], runtime.SWITCH_INTERVAL_S))
    assert (sys.getswitchinterval(), gc.get_threshold()) == before


def test_reading_settings_are_restored_when_reading_fails(monkeypatch):
    before = sys.getswitchinterval(), gc.get_threshold()
    monkeypatch.setattr(pipeline, "_extract", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        extract_features(FIXTURES / "apks" / "hello_zh.apk")
    assert (sys.getswitchinterval(), gc.get_threshold()) == before
