"""Building the distribution report (分发应用报送): close the next period and write its body into the outbox.

What a report holds (docs/regulator-protocol.md): ``platform_id``, ``period_start``/``period_end`` (ISO 8601,
+08:00), the period's listing ``events`` and the ``inventory`` listed at ``period_end``.

Periods. Daily periods end at ``GATE_REPORT_TIME`` (China Standard Time; China has had no daylight saving since
1991, so a fixed +08:00 is exact). The next period starts where the last closed one ended and ends at the latest
boundary that has passed: after downtime one catch-up report covers every missed day (periods need not be equal,
only consecutive), instead of N reports each carrying a million-item inventory. The first report of a platform
covers the day before its end.

Events. A report carries every listing event no report has carried yet whose ``at`` is before its ``period_end``:
the period's own events and any that arrived late (after the report of their period was built). The report marks
them (``listing_event.report_id``) in the transaction that writes its body, so each event is reported exactly once
whatever the order in which listing transactions commit: one still open while a report is built is simply not yet
visible, and the next report carries it.

Inventory. The listing table holds the current state; a listing whose newest event is later than ``period_end`` is
folded back to its state at ``period_end`` from the event log, so a catch-up report shows what was listed at the end
of its period. One item per package: a package listed by several store clients of this platform is one app
distributed by the platform (``listed_since`` is the earliest). A listed app without any filing cannot be reported
(the protocol requires ``service_licence``): it is counted in ``unfiled_count`` and shown by ``gate report status``.

Memory. The body is written as JSON text in ``CHUNK_BYTES`` pieces, zlib-compressed into ``report_body_chunk`` rows
while it is signed and hashed; the listings are read with a streaming cursor. Nothing is proportional to the
catalogue except time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from gate.db.service_tables import Listing, ListingEvent
from gate.db.sync_tables import ReportBodyChunk, ReportOutbox
from gate.db.tables import Filing, FilingIdentity, FilingVersion, as_utc, table_of, utcnow
from gate.progress import Progress
from gate.sync.signing import BodySigner

CST = dt.timezone(dt.timedelta(hours=8), "CST")  # Asia/Shanghai: fixed +08:00, no DST
PERIOD = dt.timedelta(days=1)
CHUNK_BYTES = 1 << 20
STREAM_ROWS = 2000
COMPRESS_LEVEL = 6

RO = table_of(ReportOutbox)
B = table_of(ReportBodyChunk)
L = table_of(Listing)
E = table_of(ListingEvent)
F = table_of(Filing)
I = table_of(FilingIdentity)  # noqa: E741 (table alias)
V = table_of(FilingVersion)


def iso(when: dt.datetime) -> str:
    """ISO 8601 in China Standard Time, seconds precision: ``2024-06-01T02:00:00+08:00``."""
    return as_utc(when).astimezone(CST).replace(microsecond=0).isoformat()


def latest_boundary(now: dt.datetime, report_time: str) -> dt.datetime:
    """The latest daily period boundary (``report_time`` CST) at or before ``now``."""
    hours, minutes = (int(p) for p in report_time.split(":"))
    local = as_utc(now).astimezone(CST)
    boundary = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return boundary if boundary <= local else boundary - PERIOD


def idempotency_key(platform_id: str, period_start: dt.datetime) -> str:
    """Chosen by the period, not at random: if two builders ever closed the same period (a lock failure), the
    regulator would answer the second with 409 ``idempotency_key_reused`` instead of recording an overlap."""
    platform = hashlib.sha256(platform_id.encode("utf-8")).hexdigest()[:16]
    return f"report-{platform}-{as_utc(period_start).astimezone(CST):%Y%m%dT%H%M%S}+0800"


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime


def next_period(conn: Connection, platform_id: str, *, now: dt.datetime, report_time: str) -> Period | None:
    """The period due for closing now, or None when the last closed period already ends at the latest boundary."""
    end = latest_boundary(now, report_time)
    last = conn.execute(select(RO.c.period_end).where(RO.c.platform_id == platform_id)
                        .order_by(RO.c.period_end.desc()).limit(1)).first()
    if last is None:
        return Period(end - PERIOD, end)
    last_end = as_utc(last.period_end)
    if last_end >= end:
        return None
    return Period(last_end, end)


class ChunkWriter:
    """Collects body text, and flushes it as compressed chunk rows while signing and hashing the raw bytes."""

    def __init__(self, conn: Connection, outbox_id: int, secret: str) -> None:
        self.conn, self.outbox_id = conn, outbox_id
        self.signer, self.sha256 = BodySigner(secret), hashlib.sha256()
        self.size, self.seq = 0, 0
        self._parts: list[bytes] = []
        self._pending = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._parts.append(data)
        self._pending += len(data)
        if self._pending >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        data = b"".join(self._parts)
        self._parts, self._pending = [], 0
        self.signer.update(data)
        self.sha256.update(data)
        self.size += len(data)
        self.conn.execute(insert(B), {"outbox_id": self.outbox_id, "seq": self.seq,
                                      "data": zlib.compress(data, COMPRESS_LEVEL)})
        self.seq += 1


def _dump(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _filing_rank():
    # An identifier may appear in several filings (a cancelled one and its active successor): prefer the active,
    # then the newest version.
    return case((F.c.status == "active", 0), else_=1)


def _filing_join(identifier_column, platform):
    """Join condition from a package column to the filing identities naming it on its platform (a listing's or an
    event's: Android packages, quick apps, mini programs' AppIDs)."""
    return and_(I.c.identifier == identifier_column, I.c.platform == platform)


def _current_identities():
    """Identities of current filing versions only, with their filing and version: an identifier named by an older
    version of a filing no longer belongs to it."""
    return I.join(F, F.c.current_version_id == I.c.version_id).join(V, V.c.id == I.c.version_id)


class FilingLookup:
    """Filing number, service name and filed MD5 per package, cached (events are few; inventory joins instead)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cache: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}

    def __call__(self, package: str, platform: str = "android") -> tuple[str | None, str | None, str | None]:
        key = (platform, package)
        if key not in self._cache:
            if len(self._cache) > 50_000:
                self._cache.clear()
            row = self.conn.execute(
                select(F.c.service_licence, V.c.service_name, I.c.signature_md5)
                .select_from(_current_identities())
                .where(_filing_join(package, platform)).order_by(_filing_rank(), V.c.id.desc()).limit(1)).first()
            self._cache[key] = (row.service_licence, row.service_name, row.signature_md5) if row else (
                None, None, None)
        return self._cache[key]


def _unreported_events(period: Period):
    """Events no report has carried, up to the period's end (module docstring, "Events")."""
    return and_(E.c.report_id.is_(None), E.c.at < period.end)


def _event_rows(conn: Connection, period: Period) -> Iterator:
    # Per statement: Connection.execution_options() would change the connection itself (the chunk inserts).
    yield from conn.execute(select(E.c.id, E.c.package, E.c.version_code, E.c.action, E.c.at, E.c.platform)
                            .where(_unreported_events(period)).order_by(E.c.at, E.c.id),
                            execution_options={"yield_per": STREAM_ROWS})


def _state_at(conn: Connection, client_id: int, package: str, end: dt.datetime) -> dict | None:
    """A listing folded from its events up to ``end`` (inclusive of events before it): listed or not, version,
    and since when it has been listed without interruption (a re-listing of a listed app keeps ``listed_since``,
    as gate.services.listings does)."""
    state = None
    for action, version, at in conn.execute(
            select(E.c.action, E.c.version_code, E.c.at)
            .where(E.c.client_id == client_id, E.c.package == package, E.c.at < end).order_by(E.c.at, E.c.id)):
        if action == "listed":
            since = state["listed_since"] if state and state["listed"] else as_utc(at)
            state = {"listed": True, "version_code": version, "listed_since": since}
        else:
            state = {"listed": False, "version_code": version, "listed_since": None}
    return state if state and state["listed"] else None


def _inventory(conn: Connection, end: dt.datetime) -> Iterator[tuple[dict | None, str]]:
    """(inventory item or None if the app has no filing, package) for every package listed at ``end``."""
    query = (select(L.c.client_id, L.c.package, L.c.version_code, L.c.status, L.c.listed_since, L.c.last_event_at,
                    L.c.platform, F.c.service_licence, V.c.service_name, I.c.signature_md5)
             .select_from(L.outerjoin(_current_identities(), _filing_join(L.c.package, L.c.platform)))
             .where(or_(L.c.status == "listed", L.c.last_event_at >= end))
             .order_by(L.c.package, L.c.client_id, _filing_rank(), V.c.id.desc()))
    current: dict | None = None
    seen_client: tuple[int, str] | None = None
    for row in conn.execute(query, execution_options={"yield_per": STREAM_ROWS}):
        if (row.client_id, row.package) == seen_client:
            continue  # a lower-ranked filing of the same listing
        seen_client = (row.client_id, row.package)
        if as_utc(row.last_event_at) >= end:
            state = _state_at(conn, row.client_id, row.package, end)
        else:
            state = ({"version_code": row.version_code, "listed_since": as_utc(row.listed_since)}
                     if row.status == "listed" else None)
        if state is None:
            continue
        if current is not None and current["package"] == row.package:
            current["listed_since"] = min(current["listed_since"], state["listed_since"])
            continue
        if current is not None:
            yield _item(current), current["package"]
        current = {"package": row.package, "platform": row.platform, "version_code": state["version_code"],
                   "listed_since": state["listed_since"], "service_licence": row.service_licence,
                   "service_name": row.service_name, "signature_md5": row.signature_md5}
    if current is not None:
        yield _item(current), current["package"]


def _item(listing: dict) -> dict | None:
    if not listing["service_licence"]:
        return None
    return {"service_licence": listing["service_licence"], "service_name": listing["service_name"],
            "platform": listing["platform"], "identifier": listing["package"], "version_code": listing["version_code"],
            "version_name": None, "signature_md5": listing["signature_md5"],
            "listed_since": iso(listing["listed_since"])}


@dataclass(frozen=True)
class BuiltReport:
    outbox_id: int
    idempotency_key: str
    period_start: str
    period_end: str
    events: int
    inventory: int
    unfiled: int
    body_size: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def build_report(engine: Engine, *, platform_id: str, secret: str, report_time: str,
                 now: dt.datetime | None = None, progress: Progress | None = None) -> BuiltReport | None:
    """Close the period due now and write its report into the outbox, in one transaction; None if none is due.
    ``progress`` advances by one per event and inventory item written (a million listed apps take a while).

    Must run under the report job lock (gate.sync.locks); the unique period constraints are the backstop.
    """
    now = as_utc(now or utcnow())
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for events and inventory: otherwise each statement sees its own (READ COMMITTED).
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        period = next_period(conn, platform_id, now=now, report_time=report_time)
        if period is None:
            return None
        key = idempotency_key(platform_id, period.start)
        outbox_id = conn.execute(insert(RO).returning(RO.c.id), {
            "platform_id": platform_id, "period_start": period.start, "period_end": period.end,
            "idempotency_key": key, "status": "pending", "generated_at": now, "events_cutoff": now,
            "events_count": 0, "inventory_count": 0, "unfiled_count": 0, "body_size": 0, "body_sha256": "",
            "signature": "", "attempts": 0}).scalar_one()
        out = ChunkWriter(conn, outbox_id, secret)
        head = {"platform_id": platform_id, "period_start": iso(period.start), "period_end": iso(period.end),
                "generated_at": iso(now)}
        out.write(_dump(head)[:-1] + ',"events":[')
        lookup = FilingLookup(conn)
        events = last_event_id = 0
        for row in _event_rows(conn, period):
            last_event_id = max(last_event_id, row.id)
            licence, _name, md5 = lookup(row.package, row.platform)
            out.write(("," if events else "") + _dump({
                "action": row.action, "at": iso(row.at), "platform": row.platform, "identifier": row.package,
                "version_code": row.version_code, "version_name": None, "service_licence": licence,
                "signature_md5": md5}))
            events += 1
            if progress is not None:
                progress.advance()
        out.write('],"inventory":[')
        inventory = unfiled = 0
        for item, _package in _inventory(conn, period.end):
            if progress is not None:
                progress.advance()
            if item is None:
                unfiled += 1
                continue
            out.write(("," if inventory else "") + _dump(item))
            inventory += 1
        out.write("]}")
        out.flush()
        # The same predicate in the same snapshot marks exactly the events written above (a listing transaction
        # committed meanwhile is invisible to both; the id bound is a second guard).
        conn.execute(update(E).where(_unreported_events(period), E.c.id <= last_event_id)
                     .values(report_id=outbox_id))
        conn.execute(update(RO).where(RO.c.id == outbox_id).values(
            events_count=events, inventory_count=inventory, unfiled_count=unfiled, body_size=out.size,
            body_sha256=out.sha256.hexdigest(), signature=out.signer.hexdigest()))
    return BuiltReport(outbox_id, key, iso(period.start), iso(period.end), events, inventory, unfiled, out.size)


def body_chunks(engine: Engine, outbox_id: int) -> Iterator[bytes]:
    """The stored body, one inflated chunk at a time (one short query per chunk: no cursor held across a send)."""
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(B).where(B.c.outbox_id == outbox_id)).scalar_one()
    for seq in range(count):
        with engine.connect() as conn:
            data = conn.execute(select(B.c.data).where(B.c.outbox_id == outbox_id, B.c.seq == seq)).scalar_one()
        yield zlib.decompress(data)
