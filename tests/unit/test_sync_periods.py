"""Report periods and keys: daily boundaries at the report time in China Standard Time, keys fixed by the period."""

from __future__ import annotations

import datetime as dt

import pytest

from gate.config import load_settings
from gate.errors import ConfigError
from gate.sync.reports import idempotency_key, iso, latest_boundary

CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.UTC


@pytest.mark.parametrize("now, expected", [
    (dt.datetime(2024, 6, 2, 2, 0, tzinfo=CST), "2024-06-02T02:00:00+08:00"),      # exactly at the boundary
    (dt.datetime(2024, 6, 2, 1, 59, 59, tzinfo=CST), "2024-06-01T02:00:00+08:00"),  # just before it
    (dt.datetime(2024, 6, 1, 18, 30, tzinfo=UTC), "2024-06-02T02:00:00+08:00"),     # 02:30 CST given in UTC
    (dt.datetime(2024, 3, 1, 1, 0, tzinfo=CST), "2024-02-29T02:00:00+08:00"),       # leap day
])
def test_latest_boundary(now, expected):
    assert iso(latest_boundary(now, "02:00")) == expected


def test_boundary_at_another_report_time():
    assert iso(latest_boundary(dt.datetime(2024, 6, 2, 23, 59, tzinfo=CST), "23:30")) == "2024-06-02T23:30:00+08:00"


def test_naive_times_are_utc():
    assert iso(dt.datetime(2024, 6, 1, 16, 0)) == "2024-06-02T00:00:00+08:00"


def test_idempotency_key_is_fixed_by_platform_and_period_start():
    start = dt.datetime(2024, 6, 1, 2, 0, tzinfo=CST)
    key = idempotency_key("store-001", start)
    assert key == idempotency_key("store-001", start.astimezone(UTC))
    assert key != idempotency_key("store-002", start) and key != idempotency_key("store-001", start + dt.timedelta(1))
    assert key.endswith("20240601T020000+0800") and all(33 <= ord(c) <= 126 for c in key) and len(key) <= 255


@pytest.mark.parametrize("name, value", [("GATE_REPORT_TIME", "24:00"), ("GATE_REPORT_TIME", "2"),
                                         ("GATE_AUDIT_RETENTION_DAYS", "59"), ("GATE_SYNC_INTERVAL_MINUTES", "0")])
def test_sync_settings_refuse_bad_values(name, value):
    with pytest.raises(ConfigError):
        load_settings({name: value})
