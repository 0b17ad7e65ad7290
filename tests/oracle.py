"""Access to the oracle records: what Android's own tools said about each committed fixture."""

from __future__ import annotations

import json
import pathlib

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "apks"


def records() -> dict[str, dict]:
    return json.loads((FIXTURES / "oracle.json").read_text(encoding="utf-8"))["apks"]


def aapt_readable() -> list[str]:
    """Fixtures aapt reads (exit 0): the manifest facts must match its answer exactly."""
    return sorted(name for name, rec in records().items() if rec.get("aapt") and rec["aapt"]["exit"] == 0)
