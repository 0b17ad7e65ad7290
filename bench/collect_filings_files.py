"""A pytest plugin that keeps a copy of every filings file the tests import, for bench/registry_dump.py.

    GATE_COLLECT_FILINGS=/tmp/filings-files PYTHONPATH=bench .venv/bin/python -m pytest -p collect_filings_files \
        tests/unit/test_filings_import.py tests/integration/test_store_filings.py ...

The suite writes its filings files into temporary directories as it runs; this wraps the one reader every import
goes through (``gate.filings.formats.read_records``) and copies each file it opens, named by its SHA-256 (so a file
imported twice is kept once), keeping its suffix (the format is detected from it).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil


def pytest_configure(config) -> None:  # noqa: ARG001 — pytest's hook signature
    target = os.environ.get("GATE_COLLECT_FILINGS")
    if not target:
        return
    out = pathlib.Path(target)
    out.mkdir(parents=True, exist_ok=True)
    from gate.filings import formats, stream

    original = formats.read_records

    def copying(path, fmt=None, **kwargs):
        p = pathlib.Path(path)
        if p.is_file():
            digest = hashlib.sha256(p.read_bytes()).hexdigest()[:20]
            shutil.copyfile(p, out / f"{digest}{p.suffix}")
        return original(path, fmt, **kwargs)

    formats.read_records = copying
    stream.read_records = copying  # imported by name there
