"""Whole facts with the compiled scanner core and with the pure-Python path: identical on every package we have.

Every fixture APK, every corpus APK (when fetched: ``make test-data``) and packages whose entries are the adversarial
units of bench/scan_adversarial.py are read twice, once per core (``gate.extract.network.core.select``), and their
``gate features --json`` documents compared. tests/unit/test_network_core.py compares the functions themselves.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from gate.extract.network import NetworkScanner, core
from gate.extract.pipeline import extract_features
from tests.oracle import FIXTURES

pytestmark = pytest.mark.skipif(core.compiled_core is None, reason="the compiled scanner core is not built")

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = pathlib.Path(os.environ.get("GATE_CORPUS", pathlib.Path.home() / ".cache/filing-gate/corpus"))
PACKAGES = sorted((ROOT / "fixtures").rglob("*.apk")) + sorted(CORPUS.glob("*.apk"))
assert FIXTURES.is_dir()


def _facts(path: pathlib.Path, kind: str) -> str:
    core.select(kind)
    try:
        return json.dumps(extract_features(str(path)).as_dict(), ensure_ascii=False)
    finally:
        core.select("compiled")


@pytest.mark.parametrize("path", PACKAGES, ids=[p.name for p in PACKAGES])
def test_facts_identical_with_either_core(path):
    assert _facts(path, "compiled") == _facts(path, "python")


UNITS = [b":", b"://", b"http://", b"HTTPS://a.cn:1@b.cn/ ", b"1.1.1.1 ", b"1.", b"10.0.0.1:80 ", b"1::", b".cn",
         b"a.cn.", b"@", b"%", b".", b"https://a.cn/ ", b"wss://x", b"ftp://[::1]:21/", b"\0http://A.qq.com\0",
         b"*.qq.com ", b"www.ejemplo.com\0", b"t.co ", b"api.example.co.uk\0"]
ENTRIES = ("assets/adversarial.txt", "lib/arm64-v8a/libadversarial.so", "classes.dex")


def _scan(kind: str, name: str, data: bytes) -> tuple:
    core.select(kind)
    try:
        scanner = NetworkScanner()
        scanner.feed(name, data)
        return scanner.facts(), scanner.problems
    finally:
        core.select("compiled")


@pytest.mark.parametrize("unit", UNITS, ids=[repr(u) for u in UNITS])
def test_adversarial_entries_identical_with_either_core(unit):
    data = (unit * (65_536 // len(unit) + 1))[:65_536]
    for name in ENTRIES:
        assert _scan("compiled", name, data) == _scan("python", name, data)


def _gate_features(core_name: str | None, apk: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GATE_SCANNER_CORE"}
    if core_name is not None:
        env["GATE_SCANNER_CORE"] = core_name
    return subprocess.run([sys.executable, "-m", "gate.cli", "features", "--json", str(apk)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_switch():
    apk = FIXTURES / "hello_zh.apk"
    default, python = _gate_features(None, apk), _gate_features("python", apk)
    assert default.returncode == python.returncode == 0 and default.stdout == python.stdout and default.stdout
    wrong = _gate_features("rust", apk)
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.startswith("error [config_invalid]: GATE_SCANNER_CORE: ") and "Traceback" not in wrong.stderr
