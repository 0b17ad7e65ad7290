"""The oracle record (fixtures/apks/oracle.json) is current: Android's own tools still say exactly what it says.

Every expected value in the gate's unit tests comes from that record, so this test re-runs ``aapt dump badging``,
``apksigner verify -v --print-certs`` and ``apksigner lineage --print-certs`` on every recorded APK and compares the
parsed answers with the committed ones. Re-record with ``.venv/bin/python -m fixtures.record`` after changing a
fixture on purpose.
"""

from __future__ import annotations

import json

import pytest

from fixtures import record
from tests import requirements

pytestmark = pytest.mark.oracle

ORACLE = json.loads(record.ORACLE.read_text(encoding="utf-8"))
needs_tools = requirements.needs_tools("aapt", "apksigner")


@pytest.fixture(scope="module")
def observed() -> dict[str, dict]:
    return record.observe_all([record.APK_DIR / name for name in ORACLE["apks"]])


def test_every_fixture_apk_is_recorded_with_a_description():
    on_disk = sorted(p.name for p in record.APK_DIR.glob("*.apk"))
    assert on_disk == sorted(ORACLE["apks"])
    assert all(r["description"] for r in ORACLE["apks"].values())


@needs_tools
def test_recorded_with_the_installed_tool_versions():
    assert record.tool_versions() == ORACLE["tools"]


@needs_tools
@pytest.mark.parametrize("name", sorted(ORACLE["apks"]))
def test_live_oracle_output_matches_the_record(observed, name):
    recorded, live = ORACLE["apks"][name], observed[name]
    # Raw text is kept for readers; the parsed facts are the contract.
    assert live["aapt"] == recorded["aapt"], live["aapt_raw"]
    assert live["apksigner"] == recorded["apksigner"], live["apksigner_raw"]
