"""The repository cites only what it holds: no file points readers at a design document a clone does not have."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = {".py", ".md", ".json", ".html", ".txt", ".toml", ".cfg", ".yaml", ".yml", ".sh", ".js", ".css"}
MISSING = "DESIGN" + ".md"  # spelled in two parts so that this file does not cite it


def _text_files():
    for folder in ("gate", "docs", "tests", "fixtures", "bench", "deploy", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "run"):
                yield path
    yield from (ROOT / name for name in ("README.md", "CHANGELOG.md", "Makefile", "pyproject.toml", "fdroid_gate.py"))


def test_no_file_cites_a_design_document_the_repository_lacks():
    assert not (ROOT / MISSING).exists()
    citing = [str(p.relative_to(ROOT)) for p in _text_files()
              if MISSING in p.read_text(encoding="utf-8", errors="replace")]
    assert citing == [], f"these cite {MISSING}, which is not in the repository: cite docs/ instead"
