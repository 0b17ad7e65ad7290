"""The sandbox's own SQLite file: the feed it serves, the reports it received, and its counters.

Plain ``sqlite3`` (stdlib): the sandbox must not share anything with the gate's database. One lock serialises
writers, so "is this idempotency key new?" and "record it" are one atomic step even on a threaded server.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gate.sync.sandbox.applications import SCHEMA as APPLICATIONS_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feed (seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    receipt_id TEXT NOT NULL UNIQUE,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    start_ts REAL NOT NULL,
    end_ts REAL NOT NULL,
    events_count INTEGER NOT NULL,
    inventory_count INTEGER NOT NULL,
    overlap INTEGER NOT NULL,
    gap INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (platform_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS report_items (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (report_id, kind, seq)
);
"""
SCHEMA += APPLICATIONS_SCHEMA
COUNTERS = ("attempts", "replays", "overlaps", "gaps", "dropped")


@dataclass(frozen=True)
class StoredReport:
    """A report as recorded (without its items)."""

    id: int
    platform_id: str
    idempotency_key: str
    body_sha256: str
    receipt_id: str
    period_start: str
    period_end: str
    events_count: int
    inventory_count: int
    overlap: bool
    gap: bool
    received_at: str

    @property
    def accepted_items(self) -> int:
        return self.events_count + self.inventory_count


class PendingReport:
    """A report being written inside the store's transaction: items first, header last (key order is free)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.report_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM reports").fetchone()[0]
        self.counts = {"events": 0, "inventory": 0}

    def add_item(self, kind: str, item: Any) -> None:
        seq = self.counts[kind]
        self._conn.execute("INSERT INTO report_items (report_id, kind, seq, item) VALUES (?, ?, ?, ?)",
                           (self.report_id, kind, seq, json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
        self.counts[kind] = seq + 1


class SandboxStore:
    """Thread-safe access to the sandbox database at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)
            conn.executemany("INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", [(c,) for c in COUNTERS])
            conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('cursor_key', ?)",
                         (secrets.token_hex(16),))

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # A rehearsal server: losing the last transaction in a power cut is acceptable, an fsync per
            # counter bump is not.
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store lock; rolled back if the block raises."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- counters ----------------------------------------------------------------------------------------------

    def bump(self, name: str, by: int = 1, *, conn: sqlite3.Connection | None = None) -> None:
        if conn is not None:
            conn.execute("UPDATE counters SET value = value + ? WHERE name = ?", (by, name))
            return
        with self.transaction() as tx:
            tx.execute("UPDATE counters SET value = value + ? WHERE name = ?", (by, name))

    def counters(self) -> dict[str, int]:
        with self._connect() as conn:
            return dict(conn.execute("SELECT name, value FROM counters").fetchall())

    # -- feed --------------------------------------------------------------------------------------------------

    def cursor_key(self) -> bytes:
        with self._connect() as conn:
            return bytes.fromhex(conn.execute("SELECT value FROM meta WHERE name = 'cursor_key'").fetchone()[0])

    def append_feed(self, records: Iterable[dict]) -> int:
        with self.transaction() as conn:
            rows = [(json.dumps(r, ensure_ascii=False, separators=(",", ":")),) for r in records]
            conn.executemany("INSERT INTO feed (record) VALUES (?)", rows)
            return len(rows)

    def feed_size(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM feed").fetchone()[0]

    def feed_after(self, seq: int, limit: int) -> list[tuple[int, dict]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT seq, record FROM feed WHERE seq > ? ORDER BY seq LIMIT ?",
                                (seq, limit)).fetchall()
        return [(s, json.loads(r)) for s, r in rows]

    # -- reports -----------------------------------------------------------------------------------------------

    def find_report(self, conn: sqlite3.Connection, platform_id: str, key: str) -> StoredReport | None:
        row = conn.execute(f"SELECT {_REPORT_COLUMNS} FROM reports WHERE platform_id = ? AND idempotency_key = ?",
                           (platform_id, key)).fetchone()
        return _report(row) if row else None

    def period_defects(self, conn: sqlite3.Connection, platform_id: str, start_ts: float,
                       end_ts: float) -> tuple[bool, bool]:
        """(overlap, gap) of a new period against this platform's earlier reports.

        Overlap: it intersects an earlier period (the same apps reported twice for the same time). Gap: it starts
        after the latest earlier period ended (a stretch of time nobody reported).
        """
        overlap = conn.execute("SELECT 1 FROM reports WHERE platform_id = ? AND start_ts < ? AND end_ts > ? LIMIT 1",
                               (platform_id, end_ts, start_ts)).fetchone() is not None
        latest_end = conn.execute("SELECT MAX(end_ts) FROM reports WHERE platform_id = ?",
                                  (platform_id,)).fetchone()[0]
        gap = latest_end is not None and start_ts > latest_end
        return overlap, gap

    def insert_report(self, conn: sqlite3.Connection, pending: PendingReport, *, platform_id: str, key: str,
                      body_sha256: str, period_start: str, period_end: str, start_ts: float, end_ts: float,
                      overlap: bool, gap: bool) -> StoredReport:
        received_at = datetime.now(UTC).isoformat(timespec="seconds")
        receipt_id = "RCPT-" + uuid.uuid4().hex
        conn.execute(
            "INSERT INTO reports (id, platform_id, idempotency_key, body_sha256, receipt_id, period_start, "
            "period_end, start_ts, end_ts, events_count, inventory_count, overlap, gap, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pending.report_id, platform_id, key, body_sha256, receipt_id, period_start, period_end, start_ts,
             end_ts, pending.counts["events"], pending.counts["inventory"], int(overlap), int(gap), received_at))
        self.bump("overlaps", int(overlap), conn=conn)
        self.bump("gaps", int(gap), conn=conn)
        return self.find_report(conn, platform_id, key)  # type: ignore[return-value]

    def reports(self) -> list[StoredReport]:
        with self._connect() as conn:
            return [_report(r) for r in conn.execute(f"SELECT {_REPORT_COLUMNS} FROM reports ORDER BY id")]

    def report_items(self, report_id: int, kind: str) -> Iterator[str]:
        """The stored items of one report as JSON texts, in order, without loading them all at once."""
        with self._connect() as conn:
            cursor = conn.execute("SELECT item FROM report_items WHERE report_id = ? AND kind = ? ORDER BY seq",
                                  (report_id, kind))
            for (item,) in cursor:
                yield item


_REPORT_COLUMNS = ("id, platform_id, idempotency_key, body_sha256, receipt_id, period_start, period_end, "
                   "events_count, inventory_count, overlap, gap, received_at")


def _report(row: tuple) -> StoredReport:
    (id_, platform_id, key, digest, receipt, start, end, events, inventory, overlap, gap, received) = row
    return StoredReport(id_, platform_id, key, digest, receipt, start, end, events, inventory, bool(overlap),
                        bool(gap), received)
