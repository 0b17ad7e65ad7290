"""Package layout of the HTTP side: no blueprint imports the application factory (the import circle the shared
service accessor used to cause), and the console's pieces stay in gate.web."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2] / "gate"


def _imports(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_module_of_the_http_packages_imports_the_app_factory():
    offenders = [str(p.relative_to(ROOT)) for pkg in ("api", "web") for p in (ROOT / pkg).glob("*.py")
                 if p.name != "app.py" and "gate.api.app" in _imports(p)]
    assert offenders == []


def test_the_console_does_not_reach_into_the_cli():
    offenders = [p.name for p in (ROOT / "web").glob("*.py") if any(m.startswith("gate.commands")
                                                                    for m in _imports(p))]
    assert offenders == []
