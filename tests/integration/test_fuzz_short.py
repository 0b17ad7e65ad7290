"""A short coverage-guided fuzzing run of every reader (atheris), as CI runs it: no crash, hang or memory blow-up.

Each target gets GATE_FUZZ_SECONDS (default 5) in its own process with a per-input time limit and a memory limit;
longer runs are in docs/fuzzing.md. A finding fails the test and leaves the input in the test's directory.
"""

import os
import pathlib
import subprocess
import sys

import pytest

from tests.fuzz.targets import TARGETS

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("GATE_FUZZ_SECONDS", "5"))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_fuzz_run_finds_nothing(name, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", name, "--seconds", str(SECONDS), "--timeout", "20",
         "--rss-mb", "2048", "--corpus", str(tmp_path / "corpus")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=SECONDS + 120)
    findings = [p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-"))]
    assert proc.returncode == 0 and not findings, (findings, proc.stderr[-3000:])
    assert "Done" in proc.stderr
