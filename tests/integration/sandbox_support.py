"""Shared helpers for the sandbox and regulator-client tests (no tests here): report bodies and a live sandbox."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from gate.sync.client import RegulatorClient

SECRET = "test-shared-secret"
PLATFORM = "store-001"
CST = timezone(timedelta(hours=8))  # reports use China Standard Time (+08:00)
DAY0 = datetime(2024, 6, 1, tzinfo=CST)


def period(day: int, days: int = 1) -> tuple[str, str]:
    start = DAY0 + timedelta(days=day)
    return start.isoformat(), (start + timedelta(days=days)).isoformat()


def inventory_item(n: int) -> dict:
    return {"service_licence": f"京ICP备2024{n:06d}号-1A", "service_name": f"应用{n}", "platform": "android",
            "identifier": f"com.example.app{n}", "version_code": n, "version_name": f"1.{n}",
            "signature_md5": f"{n:032x}", "listed_since": DAY0.isoformat()}


def report_body(day: int = 0, *, platform_id: str = PLATFORM, items: int = 2, days: int = 1) -> bytes:
    start, end = period(day, days)
    events = [{"action": "listed", "at": start, "platform": "android", "identifier": "com.example.app0",
               "version_code": 1, "service_licence": "京ICP备2024000000号-1A"}]
    body = {"platform_id": platform_id, "period_start": start, "period_end": end, "events": events,
            "inventory": [inventory_item(n) for n in range(items)]}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def make_client(url: str, waits: list[float], **overrides) -> RegulatorClient:
    options = {"backoff_base": 0.001, "backoff_cap": 0.01, "sleep": waits.append, "timeout": (2, 10)}
    options.update(overrides)
    secret = options.pop("secret", SECRET)
    return RegulatorClient(url, options.pop("platform_id", PLATFORM), secret, **options)
