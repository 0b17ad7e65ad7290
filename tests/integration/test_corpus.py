"""The real-world corpus (fixtures/corpus.py): pinned, cached atomically, and its oracle record current."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fixtures import corpus, record
from tests import requirements

ROOT = corpus.ORACLE.parents[2]
RECORDED = json.loads(corpus.ORACLE.read_text(encoding="utf-8"))


def test_every_corpus_apk_is_recorded_with_its_pin():
    assert list(RECORDED["apks"]) == [e.name for e in corpus.entries()]
    for item in corpus.entries():
        rec = RECORDED["apks"][item.name]
        assert (rec["sha256"], rec["source"], rec["description"]) == (item.sha256, item.source, item.description)


def test_cached_files_are_the_pinned_bytes(corpus_apk):
    for item in corpus.entries():
        assert corpus.sha256_of(corpus_apk(item.name)) == item.sha256


def test_missing_corpus_is_a_clear_error_not_a_skip(tmp_path, monkeypatch):
    monkeypatch.setenv("GATE_CORPUS_DIR", str(tmp_path))
    with pytest.raises(corpus.CorpusMissing, match="python -m fixtures.corpus fetch"):
        corpus.path("framework-res.apk")
    assert "framework-res.apk" in corpus.missing()


@requirements.needs_files(corpus.FRAMEWORK_RES, how="apt-get install android-framework-res")
def test_concurrent_fetches_never_show_a_partial_file(tmp_path):
    """Two processes fetch into one empty cache at once: both succeed, the file is whole, no temporary is left."""
    env = {**os.environ, "GATE_CORPUS_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "fixtures.corpus", "fetch", "framework-res.apk"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert corpus.sha256_of(tmp_path / "framework-res.apk") == corpus.entry("framework-res.apk").sha256
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock-")) == ["framework-res.apk"]


@pytest.mark.oracle
@requirements.needs_tools("aapt", "apksigner")
def test_live_oracle_output_matches_the_corpus_record(corpus_apk):
    live = record.observe_all([corpus_apk(item.name) for item in corpus.entries()])
    for name, recorded in RECORDED["apks"].items():
        assert live[name]["aapt"] == recorded["aapt"], live[name]["aapt_raw"]
        assert live[name]["apksigner"] == recorded["apksigner"], live[name]["apksigner_raw"]
