"""The README is the contract users read: every setting and every command the code has must be documented there."""

from __future__ import annotations

import pathlib
import re

from gate.cli import COMMANDS

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_settings_table():
    used = set()
    for path in (ROOT / "gate").rglob("*.py"):
        used |= set(re.findall(r'"(GATE_[A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    table = set(re.findall(r"^\| `(GATE_[A-Z0-9_]+)` \|", README, flags=re.M))
    assert used, "no settings found: the scan is broken"
    assert used <= table, f"settings missing from the README table: {sorted(used - table)}"
    assert table <= used, f"README documents settings the code does not read: {sorted(table - used)}"


def test_every_command_is_in_the_command_table():
    documented = set(re.findall(r"^\| `gate ([a-z]+)", README, flags=re.M))
    assert set(COMMANDS) <= documented, f"commands missing from the README: {sorted(set(COMMANDS) - documented)}"
