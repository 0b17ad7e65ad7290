"""Layering rules that keep extraction pure and the command line fast to start."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import gate.extract

FORBIDDEN_IN_EXTRACT = ("flask", "sqlmodel", "sqlalchemy", "requests", "werkzeug", "apscheduler")
HEAVY_FOR_HELP = ("flask", "sqlalchemy", "sqlmodel", "cryptography", "requests", "gate.extract")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_extract_imports_no_web_or_database_library():
    names = [m.name for m in pkgutil.walk_packages(gate.extract.__path__, "gate.extract.")]
    assert "gate.extract.container" in names and "gate.extract.pipeline" in names
    loaded = _modules_after("\n".join(f"import {n}" for n in names))
    leaked = {m for m in loaded for bad in FORBIDDEN_IN_EXTRACT if m == bad or m.startswith(bad + ".")}
    assert not leaked, f"gate.extract pulled in {sorted(leaked)}"


def test_help_stays_lean():
    loaded = _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])")
    heavy = {m for m in loaded for bad in HEAVY_FOR_HELP if m == bad or m.startswith(bad + ".")}
    assert not heavy, f"`gate --help` imports {sorted(heavy)}"
