"""`gate users create|list|unlock` against a real database; the lockout and unlock are seen by sign_in itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gate.web import accounts
from tests.integration.http_support import prepare_database


def _cli(args, url, stdin=None):
    return subprocess.run([sys.executable, "-m", "gate.cli", "users", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, "GATE_DATABASE_URL": url}, timeout=120)


def test_create_list_lockout_unlock(sqlite_url, tmp_path):
    engine = prepare_database(sqlite_url, tmp_path)
    made = _cli(["create", "--username", "li.hua", "--role", "reviewer"], sqlite_url)
    assert made.returncode == 0, made.stderr
    password = made.stdout.split("password: ", 1)[1].strip()
    assert accounts.sign_in(engine, username="li.hua", password=password, remote=None).staff.role == "reviewer"
    assert _cli(["create", "--username", "wang", "--role", "admin", "--password-stdin"], sqlite_url,
                stdin="short\n").returncode == 2  # password_too_short, no traceback
    assert _cli(["create", "--username", "li.hua", "--role", "viewer"], sqlite_url).returncode == 2
    for _ in range(accounts.FREE_TRIES):
        with pytest.raises(accounts.LoginRefused):
            accounts.sign_in(engine, username="li.hua", password="wrong", remote=None)
    with pytest.raises(accounts.LoginRefused):  # waiting: the right password is refused too (and not checked)
        accounts.sign_in(engine, username="li.hua", password=password, remote=None)
    assert "delayed (5 wrong passwords in a row)" in _cli(["list"], sqlite_url).stdout
    assert _cli(["unlock", "li.hua"], sqlite_url).returncode == 0
    assert accounts.sign_in(engine, username="li.hua", password=password, remote=None).staff.username == "li.hua"
    assert _cli(["unlock", "nobody"], sqlite_url).returncode == 2
    engine.dispose()
