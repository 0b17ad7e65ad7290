"""Layering rules that keep extraction pure and the command line fast to start."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import gate.extract

FORBIDDEN_IN_EXTRACT = ("flask", "sqlmodel", "sqlalchemy", "requests", "werkzeug", "apscheduler")
HEAVY_FOR_HELP = ("flask", "sqlalchemy", "sqlmodel", "cryptography", "requests", "gate.extract")
# The web, database and scheduler stacks: a developer's `gate features` / `gate check --filings` runs without them
# (issue #28: start-up is what every shell user and CI job pays for each package).
SERVER_STACKS = ("flask", "werkzeug", "jinja2", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "apscheduler",
                 "gunicorn", "requests", "urllib3")


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


def test_version_stays_lean():
    # `gate --version` prints gate.__version__: no scan of the installed distributions (importlib.metadata).
    loaded = _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--version'])")
    heavy = {m for m in loaded for bad in HEAVY_FOR_HELP + ("importlib.metadata",)
             if m == bad or m.startswith(bad + ".")}
    assert not heavy, f"`gate --version` imports {sorted(heavy)}"


def _modules_after_cli(*args: str) -> set[str]:
    return _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({list(args)!r})")


def _stacks(loaded: set[str]) -> list[str]:
    return sorted({m for m in loaded for bad in SERVER_STACKS if m == bad or m.startswith(bad + ".")})


def test_features_and_offline_check_load_no_server_stack(tmp_path):
    from tests.oracle import FIXTURES

    apk = str(FIXTURES / "hello_zh.apk")
    features = _modules_after_cli("features", "--json", apk)
    assert "gate.extract.pipeline" in features  # it did the work
    assert not _stacks(features), f"`gate features` imports {_stacks(features)}"
    filings = tmp_path / "filings.json"
    filings.write_text("[]", encoding="utf-8")
    check = _modules_after_cli("check", "--json", "--filings", str(filings), apk)
    assert "gate.decide" in check
    assert not _stacks(check), f"`gate check --filings` imports {_stacks(check)}"


def test_public_suffix_list_is_read_on_first_lookup_only():
    # The network scanner's public-suffix table is built on the first registrable-domain lookup (from the compact
    # compiled file), so importing the scanner neither imports publicsuffixlist nor reads any table.
    imported = _modules_after("import gate.extract.network")
    assert "gate.extract.network.suffixes" in imported
    assert "publicsuffixlist" not in imported
    looked_up = _modules_after("from gate.extract.network.domains import registrable_domain\n"
                               "assert registrable_domain('api.example.co.uk') == 'example.co.uk'")
    assert "publicsuffixlist" in looked_up  # only for the path of the list it ships
