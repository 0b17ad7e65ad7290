"""Review regression: resources.arsc is refused by its declared size before it is inflated.

The table's own limit (arsc.MAX_RESOURCES_SIZE) used to apply only when a reference had to be resolved, after the
pipeline had inflated the entry (up to the container's 1 GiB per entry) into memory and handed it on.
"""

from __future__ import annotations

import pathlib

from gate.extract import arsc
from gate.extract.pipeline import extract_features

APKS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"


def test_resources_limit_applies_before_inflating(monkeypatch):
    real = extract_features(APKS / "hello_zh.apk")
    assert not real.problems and real.labels  # the table is read (labels resolve through it)
    monkeypatch.setattr(arsc, "MAX_RESOURCES_SIZE", 64)
    facts = extract_features(APKS / "hello_zh.apk")
    assert [p.code for p in facts.problems] == ["limit_entry_size"]
    assert "resources.arsc" in facts.problems[0].message
