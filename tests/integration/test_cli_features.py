"""`gate features` as users run it: one JSON line per path, in order, bad input included, never a traceback."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from tests.oracle import FIXTURES

GATE = [sys.executable, "-c", "import sys; from gate.cli import main; sys.exit(main())"]


def run_gate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GATE, *args], capture_output=True, text=True, timeout=120)


def test_json_lines_in_input_order_with_bad_inputs(tmp_path: pathlib.Path):
    empty = tmp_path / "empty.apk"
    empty.write_bytes(b"")
    text = tmp_path / "notes.apk"
    text.write_text("this is not a package\n")
    good = FIXTURES / "hello_zh.apk"
    truncated = tmp_path / "truncated.apk"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    missing = tmp_path / "missing.apk"
    paths = [str(good), str(empty), str(tmp_path), str(text), str(truncated), str(missing), str(good)]

    result = run_gate("features", "--json", *paths)

    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    codes = [[p["code"] for p in line["problems"]] for line in lines]
    assert codes == [[], ["file_empty"], ["file_is_directory"], ["zip_not_a_zip"], ["zip_eocd_invalid"],
                     ["file_not_found"], []]
    assert lines[0]["package"] == "cn.filinggate.hello"
    assert lines[0]["signature"]["verified"] is True
    assert result.returncode == 4  # some package could not be read


def test_readable_summary_shows_the_filing_form(tmp_path: pathlib.Path):
    result = run_gate("features", str(FIXTURES / "hello_zh.apk"))
    assert result.returncode == 0, result.stderr
    assert "cn.filinggate.hello" in result.stdout
    assert "签名MD5" in result.stdout and "公钥" in result.stdout
    assert "01:76:D8:D0:13:0A:8B:0D:37:29:E7:83:3D:7C:B8:CC" in result.stdout  # apksigner's MD5, form notation


def test_usage_error_exit_status():
    assert run_gate("features").returncode == 2
    assert run_gate("no-such-command").returncode == 2
