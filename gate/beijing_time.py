"""Beijing time (Asia/Shanghai), the one zone the gate shows people and answers in.

The gate stores UTC (gate.db.tables.utcnow); pages, reasons and API answers show Beijing time with its offset,
ISO 8601 (``2026-05-01T10:15:00+08:00``). China Standard Time has been UTC+8 all year since 1991 (no daylight
saving), so a fixed offset is exact for every time the gate handles and needs no tz database on the host (slim
containers often have none).
"""

from __future__ import annotations

import datetime as dt
from typing import overload

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@overload
def beijing(value: dt.datetime) -> dt.datetime: ...


@overload
def beijing(value: None) -> None: ...


def beijing(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time (aware, or naive UTC as SQLite returns it) in Beijing time."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(BEIJING)


def beijing_iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in Beijing time with its offset, to the second."""
    local = beijing(value)
    return local.isoformat(timespec="seconds") if local is not None else None
