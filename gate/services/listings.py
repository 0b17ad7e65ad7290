"""A store's inventory: listing events (上架/下架) as reported, and the current listing per (store, package).

The regulator report is built from both: the events of a period and the inventory listed at its end. Events may
arrive late or out of order (a store's queue retries), so the current listing moves only forward in event time:
an event older than the one the listing already reflects is kept in the log but does not move the listing.

Batches are written with executemany and one IN lookup per 500 packages, so a store can sync a
1,000,000-app catalogue in batches of 10,000 events without one query per app.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gate.db.service_tables import Listing, ListingEvent
from gate.db.tables import as_utc, table_of, utcnow
from gate.filings.records import PLATFORMS
from gate.filings.validate import IDENTIFIER_SYNTAX
from gate.services.uploads import UploadError

L = table_of(Listing)
E = table_of(ListingEvent)
MAX_EVENTS = 10_000
LOOKUP_CHUNK = 500
ACTIONS = ("listed", "delisted")
# Android's rule for an application id: two or more dot-separated segments, each starting with a letter.
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
MAX_VERSION_CODE = 2 ** 63 - 1  # the BIGINT column; versionCodeMajor << 32 | versionCode always fits
# How far an event may lie ahead of the gate's clock (a store's clock running fast). The listing moves only forward
# in event time, so one event dated 9999-12-31 would freeze it for ever: every later real event would be stale.
MAX_CLOCK_AHEAD = dt.timedelta(minutes=10)


def _invalid(index: int, message: str) -> UploadError:
    return UploadError(f"events[{index}]: {message}", code="event_invalid")


def parse_events(body: object, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    latest = (now or utcnow()) + MAX_CLOCK_AHEAD
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise UploadError('the body must be {"events": [...]}', code="body_invalid")
    events = body["events"]
    if len(events) > MAX_EVENTS:
        raise UploadError(f"at most {MAX_EVENTS} events per request; send the rest in further requests",
                          code="too_many_events", status=413)
    parsed = []
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            raise _invalid(i, "must be an object")
        package, action, version, at = e.get("package"), e.get("action"), e.get("version_code"), e.get("at")
        platform = e.get("platform", "android")
        if platform not in PLATFORMS:
            raise _invalid(i, f"`platform` must be one of {', '.join(PLATFORMS)} (default android)")
        if platform == "android" and (not isinstance(package, str) or len(package) > 255
                                      or not PACKAGE_NAME.fullmatch(package)):
            raise _invalid(i, "`package` must be an Android package name")
        if not isinstance(package, str) or len(package) > 255 or not IDENTIFIER_SYNTAX[platform].match(package):
            raise _invalid(i, f"`package` must be a {platform} identifier (a mini program's AppID, a quick app's "
                              "package name, …)")
        if action not in ACTIONS:
            raise _invalid(i, "`action` must be listed or delisted")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                    or not 0 <= version <= MAX_VERSION_CODE):
            raise _invalid(i, "`version_code` must be an integer from 0 to 2^63-1")
        try:
            when = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
            when = as_utc(when) if when is not None and when.tzinfo is not None else None
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 pushed out of range by the offset
            when = None
        if when is None:
            raise _invalid(i, "`at` must be an ISO 8601 time with a UTC offset, e.g. 2024-05-01T10:00:00+08:00")
        if when > latest:
            raise _invalid(i, f"`at` lies more than {MAX_CLOCK_AHEAD.seconds // 60} minutes in the future "
                              "(is the store's clock right?)")
        parsed.append({"package": package, "action": action, "version_code": version, "at": when,
                       "platform": platform})
    return parsed


def record_events(engine: Engine, client_id: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Append the events and move each package's listing to its newest event; returns counts."""
    for attempt in (1, 2):
        try:
            return _record(engine, client_id, events)
        except IntegrityError:  # a concurrent batch created the same listing first; its row is visible now
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _apply(state: dict[str, Any] | None, e: dict[str, Any]) -> dict[str, Any]:
    """The listing after event ``e``; ``listed_since`` survives a re-listing (a version update) of a listed app."""
    listed = e["action"] == "listed"
    if not listed:
        since = None
    elif state is not None and state["status"] == "listed":  # still listed: a version update
        since = state["listed_since"]
    else:
        since = e["at"]
    return {"version_code": e["version_code"], "status": e["action"], "platform": e.get("platform", "android"),
            "listed_since": since,
            "last_event_at": e["at"]}


def event_key(client_id: int, e: dict[str, Any]) -> str:
    """The identity of an event: the same event sent again (a store's retry) has the same key."""
    fields = [client_id, e["package"], e["action"], e["at"].isoformat(), e["version_code"]]
    if e.get("platform", "android") != "android":  # Android events keep the keys they had before platforms
        fields.append(e["platform"])
    text = json.dumps(fields)
    return hashlib.sha256(text.encode()).hexdigest()


def _record(engine: Engine, client_id: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    now = utcnow()
    keyed = {event_key(client_id, e): e for e in events}  # a batch repeating an event counts it once
    counts = {"accepted": len(events), "duplicates": len(events) - len(keyed), "listed": 0, "delisted": 0,
              "stale": 0}
    with engine.begin() as conn:
        seen: set[str] = set()
        keys = sorted(keyed)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            seen.update(conn.execute(select(E.c.event_key).where(E.c.event_key.in_(keys[start:start + LOOKUP_CHUNK])))
                        .scalars())
        counts["duplicates"] += len(seen)
        fresh = [(key, e) for key, e in keyed.items() if key not in seen]
        by_package: dict[str, list[dict[str, Any]]] = {}
        for _key, e in fresh:
            by_package.setdefault(e["package"], []).append(e)
        if fresh:
            conn.execute(insert(E), [{**e, "client_id": client_id, "received_at": now, "event_key": key}
                                     for key, e in fresh])
        packages = sorted(by_package)
        current: dict[str, dict[str, Any]] = {}
        for start in range(0, len(packages), LOOKUP_CHUNK):
            chunk = packages[start:start + LOOKUP_CHUNK]
            for row in conn.execute(select(L).where(and_(L.c.client_id == client_id, L.c.package.in_(chunk)))):
                current[row.package] = {"version_code": row.version_code, "status": row.status,
                                        "platform": row.platform,
                                        "listed_since": row.listed_since, "last_event_at": as_utc(row.last_event_at)}
        inserts, updates = [], []
        for package in packages:
            before = state = current.get(package)
            # In event time; sorted() is stable, so of equal times the one the store sent later wins.
            for e in sorted(by_package[package], key=lambda e: e["at"]):
                if state is not None and state["last_event_at"] > e["at"]:
                    counts["stale"] += 1
                    continue
                state = _apply(state, e)
                counts[e["action"]] += 1
            if state is None or state is before:  # no event applied (None: nor was there a listing before)
                continue
            if before is None:
                inserts.append({"client_id": client_id, "package": package, **state, "updated_at": now})
            else:
                updates.append({"b_package": package, **state, "updated_at": now})
        if inserts:
            conn.execute(insert(L), inserts)
        if updates:
            conn.execute(update(L).where(and_(L.c.client_id == client_id, L.c.package == bindparam("b_package"))),
                         updates)
    return counts



