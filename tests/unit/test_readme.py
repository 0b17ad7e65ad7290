"""The README is the contract users read: every setting and every command the code has must be documented there,
and every reason code in docs/filings.md."""

from __future__ import annotations

import pathlib
import re

from gate.cli import COMMANDS
from gate.decide import CATALOGUE
from gate.policy import FRACTION, POLICY_SETTINGS, PolicySetting

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


def _table_rows(text: str, heading: str) -> dict[str, list[str]]:
    """``variable -> [cells after it]`` of the first table after ``heading`` whose rows start with a GATE_ variable."""
    section = text[text.index(heading):]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(GATE_[A-Z0-9_]+)` \|(.*)\|$", line)
        if match:
            rows[match[1]] = [cell.strip() for cell in match[2].split("|")]
        elif rows and not line.startswith("|"):
            break
    return rows


def _default_text(row: PolicySetting) -> str:
    return f"`{row.default}`"


def test_policy_settings_are_documented_as_declared():
    """The README's settings table and docs/filings.md's policy table say what the settings table (gate.policy)
    declares: every row, with its default and (filings.md) its values."""
    readme = _table_rows(README, "## Settings")
    filings = _table_rows((ROOT / "docs" / "filings.md").read_text(encoding="utf-8"), "## Policy settings")
    for row in POLICY_SETTINGS:
        assert readme[row.variable][0] == _default_text(row), row.variable
        values, default = filings[row.variable][:2]
        assert default == _default_text(row), row.variable
        expected = "0…1" if row.kind == FRACTION else ", ".join(f"`{c}`" for c in row.choices)
        assert values == expected, row.variable
        meaning = readme[row.variable][1]
        assert all(f"`{c}`" in meaning for c in row.choices), row.variable
    declared = {row.variable for row in POLICY_SETTINGS}
    assert {v for v in readme if v.startswith("GATE_POLICY_")} == declared
    assert {v for v in filings if v.startswith("GATE_POLICY_")} == declared


def test_every_reason_code_is_documented():
    """Every code of the bilingual catalogue is described in docs/filings.md's "Decisions" (the reference the README
    points to), and every code a policy setting weighs is one of them."""
    filings = (ROOT / "docs" / "filings.md").read_text(encoding="utf-8")
    decisions = filings[filings.index("## Decisions"):]
    decisions = decisions[:decisions.index("\n## ", 1)]
    missing = sorted(code for code in CATALOGUE if f"`{code}`" not in decisions)
    assert not missing, f"reason codes not described in docs/filings.md: {missing}"
    assert {code for row in POLICY_SETTINGS for code in row.reasons} <= set(CATALOGUE)
