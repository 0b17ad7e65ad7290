"""Exit statuses and error codes exactly as README.md's command table says, for the cases a newcomer meets first:
missing files, directories, bad settings, bad filings files, keystores without a terminal — each with the stable
code on standard error, no Python warning, repr or traceback, and no file left behind by a command that failed."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[2]
HELLO = ROOT / "fixtures" / "apks" / "hello_zh.apk"
# The console script's own entry (pyproject.toml: gate = "gate.cli:run"): main(), then gc.freeze() before exiting.
GATE = [sys.executable, "-c", "from gate.cli import run; run()"]
NOISE = ("Traceback", "Warning", "<gate.", "object at 0x", "Aborted.")


def gate(*args, cwd, env_extra=None, stdin="") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    env.update(env_extra or {})
    out = subprocess.run([*GATE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
                         input=stdin)
    for noise in NOISE:
        assert noise not in out.stdout + out.stderr, out.stdout + out.stderr
    return out


@pytest.fixture
def filings(tmp_path):
    from gate.commands.demo import DEMO_FILINGS

    path = tmp_path / "filings.json"
    path.write_text(json.dumps(DEMO_FILINGS, ensure_ascii=False), encoding="utf-8")
    return path


def test_check_without_a_database_fails_with_schema_outdated_and_creates_nothing(tmp_path):
    out = gate("check", HELLO, cwd=tmp_path)
    assert out.returncode == 1 and "error [schema_outdated]" in out.stderr and "gate db upgrade" in out.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [("serve", "--dev"), ("worker", "--once"), ("clients", "disable", "x"),
                                     ("users", "list"), ("report", "status"), ("filings", "show", "京ICP备2024000001号-1A")])
def test_no_command_creates_a_database_file_when_it_fails(tmp_path, command):
    out = gate(*command, cwd=tmp_path)
    assert out.returncode == 1 and "schema_outdated" in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_database_url_is_config_invalid(tmp_path):
    out = gate("check", HELLO, cwd=tmp_path, env_extra={"GATE_DATABASE_URL": "nonsense"})
    assert out.returncode == 1 and "error [config_invalid]" in out.stderr and "GATE_DATABASE_URL" in out.stderr


@pytest.mark.parametrize("target, code", [("missing.apk", "file_not_found"), (".", "file_is_directory"),
                                          ("empty.apk", "file_empty")])
def test_check_of_a_path_that_is_no_package_file_blocks_and_says_to_check_the_path(tmp_path, filings, target, code):
    (tmp_path / "empty.apk").write_bytes(b"")
    out = gate("check", tmp_path / target, HELLO, "--filings", filings, "--json", cwd=tmp_path,
               env_extra={"GATE_POLICY_UNFILED_DOMAINS": "off"})
    assert out.returncode == 4, out.stderr
    first, second = map(json.loads, out.stdout.splitlines())
    [reason] = first["reasons"]
    assert (first["verdict"], reason["code"], reason["evidence"]["problems"]) == ("block", "package_malformed", [code])
    assert "Check that the path" in reason["message"]["en"] and "Rebuild" not in reason["message"]["en"]
    assert second["verdict"] == "allow"  # the next path is still checked


def test_features_of_a_missing_file_is_exit_4_with_its_problem(tmp_path):
    out = gate("features", "--json", tmp_path / "missing.apk", cwd=tmp_path)
    assert out.returncode == 4 and json.loads(out.stdout)["problems"][0]["code"] == "file_not_found"


def test_a_malformed_filings_file_is_a_usage_error_and_nothing_is_checked(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    out = gate("check", HELLO, "--filings", bad, cwd=tmp_path)
    assert out.returncode == 2 and "error [filings_invalid]" in out.stderr and out.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


@pytest.mark.parametrize("target, code", [("missing.pem", "file_not_found"), (".", "file_is_directory")])
def test_cert_show_of_a_file_it_cannot_read_is_exit_4(tmp_path, target, code):
    out = gate("cert", "show", "--json", tmp_path / target, cwd=tmp_path)
    assert out.returncode == 4 and json.loads(out.stdout)["problems"][0]["code"] == code


def test_cert_show_of_a_keystore_without_terminal_or_password_is_a_usage_error(tmp_path):
    keystore = ROOT / "fixtures" / "keys" / "rsa2048.p12"
    out = gate("cert", "show", keystore, cwd=tmp_path, stdin="")
    assert out.returncode == 2 and "error [password_missing]" in out.stderr and "--password-env" in out.stderr
    piped = gate("cert", "show", "--json", keystore, cwd=tmp_path, stdin="password\n")
    assert piped.returncode == 0 and json.loads(piped.stdout)["signers"], piped.stderr


def test_version(tmp_path):
    from importlib.metadata import version

    out = gate("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"gate, version {version('filing-gate')}"


def test_the_console_script_runs_main_and_exits_with_its_status(tmp_path):
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["gate"] == "gate.cli:run"
    version = gate("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("gate, version")
    assert gate("no-such-command", cwd=tmp_path).returncode == 2
    unreadable = gate("features", "--json", tmp_path / "missing.apk", cwd=tmp_path)
    assert unreadable.returncode == 4 and json.loads(unreadable.stdout)["problems"][0]["code"] == "file_not_found"
