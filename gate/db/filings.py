"""The filing registry in the database: batch writes for imports, current-version lookups for decisions.

Imports use SQLAlchemy Core executemany (psycopg pipelines them; SQLite runs them in one prepared statement), one
round trip per table per batch — building one ORM object per row would cost minutes per million records.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import Index, bindparam, func, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

from gate.db.audit import record_event
from gate.db.tables import Filing as FilingRow
from gate.db.tables import FilingDomain, FilingIdentity, FilingVersion, table_of, utcnow
from gate.filings.importer import CHANGED, CREATED, UNCHANGED, ImportReport, import_files
from gate.filings.keys import public_key_digest
from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.filings.registry import conflict_problem, duplicate_problem, licence_duplicate_problem
from gate.filings.stream import KnownRecord
from gate.progress import Progress

IMPORT_CACHE_KIB = 256 * 1024  # SQLite page cache of an importing connection
# PostgreSQL ends a session idle inside a transaction for longer than gate.db.engine's
# IDLE_IN_TRANSACTION_TIMEOUT_MS (60 s). An import's transaction can send nothing for that long while it is busy —
# a re-import of known records needs no statement at all (a million of them at a loaded machine's pace took minutes,
# and the import was then cut off at its final audit insert) — so the writer says it is alive this often.
IMPORT_HEARTBEAT_SECONDS = 15.0
# Secondary indexes an import into an empty registry builds once at its end instead of row by row: none of the
# import's own look-ups uses them (those go through the unique keys and ix_filing_identity_lookup, kept).
DEFERRABLE_INDEXES = ("ix_filing_main_licence", "ix_filing_version_unit_name", "ix_filing_identity_version_id",
                      "ix_filing_identity_md5", "ix_filing_identity_sha1", "ix_filing_identity_sha256",
                      "ix_filing_identity_pk", "ix_filing_domain_version_id", "ix_filing_domain_name")
# Constraints an import into an empty PostgreSQL registry also drops, and adds again with the same names and
# definitions before it commits. Checked row by row they were half the server's work in a first import (1M
# filings: the two foreign keys ~17 s and the two unique keys ~5 s of the backend's ~45 s of CPU), checked once at
# the end ~3 s. The fresh path consults none of them: ``_seen`` refuses a licence twice in one import before a
# unique key could, and each version's identities and domains are written in its batch with ids the sequence gave.
# Should a row break one anyway, adding it again fails and the whole import rolls back (nothing stored, every index
# and constraint back as it was): the registry never holds such a row. SQLite cannot drop a constraint: it checks
# them row by row as before.
DEFERRABLE_CONSTRAINTS = ("filing_identity_version_id_fkey", "filing_domain_version_id_fkey",
                          "uq_filing_version_licence_version", "filing_service_licence_key")

# Columns of the rows an import writes, in the order ``DatabaseSink._insert`` builds its tuples.
VERSION_COLUMNS = ("service_licence", "version", "digest", "service_type", "service_name", "unit_name", "status",
                   "blacklisted", "approved_at", "record", "import_id", "created_at")
IDENTITY_COLUMNS = ("version_id", "platform", "identifier", "public_key", "public_key_digest", "signature_md5",
                    "signature_sha1", "signature_sha256")
FILING_COLUMNS = ("service_licence", "main_licence", "current_version_id", "version", "digest", "status",
                  "blacklisted", "last_import_id", "updated_at", "source_key")

F = table_of(FilingRow)
V = table_of(FilingVersion)
I = table_of(FilingIdentity)  # noqa: E741 (table alias)
D = table_of(FilingDomain)



def _dbapi(conn: Connection) -> DBAPIConnection:
    """The driver's connection under ``conn`` (for DDL in the transaction and COPY); None once it was closed."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # closed or invalidated (the database went away): nothing to write through
        raise RuntimeError("the database connection was closed during the import")
    return dbapi

class DatabaseSink:
    """Writes validated filings in batches inside the caller's transaction (see importer.FilingSink)."""

    def __init__(self, conn: Connection, import_id: str) -> None:
        self.conn, self.import_id = conn, import_id
        # hash(licence) -> first 64 bits of its digest, for each licence written by this import: detects a licence
        # twice in one import with two ints per record instead of strings (a 64-bit collision among a million
        # records is ~1e-8 likely, and would only misreport a duplicate).
        self._seen: dict[int, int] = {}
        self._deferred: list = []  # indexes dropped by defer_indexes, to build before commit
        self._deferred_constraints: list[tuple[str, str, str]] = []  # (table, name, definition), likewise
        self._column_oids: dict[str, dict[str, int]] = {}  # PostgreSQL: table -> column -> type oid, for COPY
        # Source keys (gate.filings.source_keys): known texts met in this import, and the stored keys of filings
        # this import gave a new version (their old text is now a duplicate).
        self._known_seen: set[str] = set()
        self._rewritten: dict[str, str] = {}
        # An import into an empty registry (``defer_indexes`` found none): every row the registry holds is this
        # import's own, so what the per-batch look-ups would find is known here without asking (see ``_claims``).
        self._fresh = False
        self._claimed: set[int] = set()  # hash((platform, identifier)) of every active claim this import wrote
        self._next_version_id: int | None = None  # SQLite: ids this transaction assigns itself (see _insert_versions)
        if conn.dialect.name == "sqlite":
            # A million-record import inserts into a dozen indexes; with SQLite's default 2 MB page cache most of
            # those inserts read their B-tree pages from disk again. This connection's cache, for this import on.
            conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        if conn.dialect.name == "postgresql":
            # The planner's statistics cannot see this transaction's own rows: as an import into an empty registry
            # grows, it keeps planning sequential scans for the per-batch lookups (quadratic: a million-record
            # import never finishes). Every lookup here has an index, so forbid seq scans for this transaction.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
        self._last_statement = time.monotonic()  # for _heartbeat

    def defer_indexes(self) -> None:
        """Into an empty registry, drop the deferrable indexes (on PostgreSQL also the deferrable constraints) for
        this transaction; ``build_deferred_indexes`` creates them again before it commits (a rollback restores
        them: the DDL is part of the transaction). Building an index once over sorted data, or checking a
        constraint once over a whole table, costs a fraction of a million single-row insertions and checks."""
        if self.conn.execute(select(F.c.id).limit(1)).first() is not None:
            return
        self._fresh = True
        if self.conn.dialect.name == "sqlite":
            dbapi = _dbapi(self.conn)
            if not dbapi.in_transaction:  # pysqlite runs DDL outside a transaction unless one is open
                dbapi.execute("BEGIN")
        by_name: dict[str | None, Index] = {ix.name: ix for table in (F, V, I, D) for ix in table.indexes}
        self._deferred = [by_name[name] for name in DEFERRABLE_INDEXES]
        for ix in self._deferred:
            ix.drop(self.conn)
        if self._postgres:
            self._drop_deferrable_constraints()

    def _drop_deferrable_constraints(self) -> None:
        """Drop DEFERRABLE_CONSTRAINTS for this transaction, keeping their definitions as the server states them."""
        rows = self.conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = ANY(:names) AND conrelid IN (to_regclass('filing'), to_regclass('filing_version'),"
            " to_regclass('filing_identity'), to_regclass('filing_domain')) ORDER BY conname"),
            {"names": list(DEFERRABLE_CONSTRAINTS)}).all()
        quote = self.conn.dialect.identifier_preparer.quote
        for table, name, definition in rows:
            self.conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            self._deferred_constraints.append((table, name, definition))

    def build_deferred_indexes(self) -> None:
        for ix in self._deferred:
            ix.create(self.conn)
        self._deferred = []
        if self._deferred_constraints:
            # The import's look-ups are over: each constraint is checked by one query over whole tables, for which
            # scanning them is the plan to take (this transaction forbade sequential scans for the look-ups).
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
            quote = self.conn.dialect.identifier_preparer.quote
            for table, name, definition in self._deferred_constraints:
                self.conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
            self._deferred_constraints = []

    def _claims(self, filings: Sequence[Filing]) -> dict[tuple[str, str], set[str]]:
        """Which licences actively claim each (platform, identifier) in this batch, per the current versions."""
        claims: dict[tuple[str, str], set[str]] = {}
        if self._fresh:
            # Into an empty registry the stored claims are those this import wrote, all in ``_claimed``: ask only
            # about identifiers one of them may hold (none, unless a file files a package twice).
            identifiers = sorted({p.identifier for f in filings for p in f.platforms
                                  if hash((p.platform, p.identifier)) in self._claimed})
        else:
            identifiers = sorted({p.identifier for f in filings for p in f.platforms})
        if not identifiers:
            return claims
        rows = self.conn.execute(
            select(I.c.platform, I.c.identifier, F.c.service_licence)
            .join(F, F.c.current_version_id == I.c.version_id)
            .where(I.c.identifier.in_(identifiers), F.c.status == "active"))
        for platform, identifier, licence in rows:
            claims.setdefault((platform, identifier), set()).add(licence)
        return claims

    def known_source_keys(self) -> set[str]:
        """Source keys of the current versions (gate.filings.source_keys): texts this import need not validate."""
        return set(self.conn.execute(select(F.c.source_key).where(F.c.source_key.is_not(None))).scalars())

    def _known_outcome(self, record: KnownRecord) -> str | list[FieldProblem]:
        """The outcome validating a known record's text would have had, without validating it.

        The text is its filing's current version, which the registry holds with its identities claimed; a record
        with no problem and an unchanged digest is UNCHANGED, and cannot conflict: any other active claim on its
        identifiers was refused when it was made. What this import changed decides the rest: the filing written
        earlier in this import with other content makes the text a duplicate (``licence_duplicate``); the same
        text twice is unchanged twice."""
        licence = self._rewritten.get(record.source_key)
        if licence is not None:
            return [licence_duplicate_problem(licence)]
        self._known_seen.add(record.source_key)
        return UNCHANGED

    def write_batch(self, filings: Sequence[Filing | KnownRecord],
                    source_keys: Sequence[str | None] | None = None) -> list[str | list[FieldProblem]]:
        self._heartbeat()
        keys = source_keys if source_keys is not None else [None] * len(filings)
        full = [f for f in filings if not isinstance(f, KnownRecord)]
        # Into an empty registry a stored licence is one this import wrote, which ``_seen`` answers before
        # ``existing`` is consulted: no look-up.
        licences = [] if self._fresh else [f.service_licence for f in full]
        existing = {r.service_licence: r for r in self.conn.execute(
            select(F.c.id, F.c.service_licence, F.c.digest, F.c.version, F.c.source_key)
            .where(F.c.service_licence.in_(licences)))} if licences else {}
        claims = self._claims(full)
        held: dict[str, set[tuple[str, str]]] = {}  # licence -> its keys in ``claims``
        for key, holders in claims.items():
            for licence in holders:
                held.setdefault(licence, set()).add(key)
        outcomes: list[str | list[FieldProblem]] = []
        new_versions: list[tuple[Filing, int, str, str | None]] = []  # (filing, version number, outcome, key)
        rekeyed: list[dict] = []  # unchanged filings whose text (and so key) differs from the stored one
        seen_digests, fresh = self._seen, self._fresh  # the loop runs once per record
        for f, source_key in zip(filings, keys, strict=True):
            if isinstance(f, KnownRecord):
                outcomes.append(self._known_outcome(f))
                continue
            digest = f.digest()
            short = int(digest[:16], 16)
            licence = f.service_licence
            licence_hash = hash(licence)
            old = existing.get(licence) if existing else None
            if old is not None and old.source_key in self._known_seen:
                # Its stored text came earlier in this import as a KnownRecord: the licence was seen with the
                # stored digest.
                seen_digests.setdefault(licence_hash, int(old.digest[:16], 16))
            seen = seen_digests.get(licence_hash)
            if seen is not None:
                outcomes.append(UNCHANGED if seen == short else [duplicate_problem(f)])
                continue
            active = f.status == "active"
            if fresh:
                outcome = self._fresh_outcome(f, licence, active, claims)
                outcomes.append(outcome)
                if outcome is CREATED:
                    seen_digests[licence_hash] = short
                    new_versions.append((f, 1, CREATED, source_key))
                continue
            conflicts = [conflict_problem(f, i, p.identifier, other)
                         for i, p in enumerate(f.platforms) if active
                         for other in sorted(claims.get((p.platform, p.identifier), ()))
                         if other != licence] if claims else []
            if conflicts:
                outcomes.append(conflicts)
                continue
            seen_digests[licence_hash] = short
            # The new version replaces this licence's claims (it may drop an identifier or be cancelled).
            if held:
                for key in held.pop(licence, ()):
                    claims[key].discard(licence)
            if active:
                for p in f.platforms:
                    pair = (p.platform, p.identifier)
                    claims.setdefault(pair, set()).add(licence)
                    held.setdefault(licence, set()).add(pair)
            if old is not None and old.digest == digest:
                outcomes.append(UNCHANGED)
                if source_key is not None and source_key != old.source_key:
                    rekeyed.append({"b_id": old.id, "source_key": source_key})
                continue
            if old is not None and old.source_key is not None:
                self._rewritten[old.source_key] = licence
            outcome = CHANGED if old is not None else CREATED
            new_versions.append((f, (old.version + 1) if old is not None else 1, outcome, source_key))
            outcomes.append(outcome)
        if new_versions:
            self._insert(new_versions, existing)
        if rekeyed:
            self.conn.execute(update(F).where(F.c.id == bindparam("b_id")), rekeyed)
        return outcomes

    def _fresh_outcome(self, f: Filing, licence: str, active: bool,
                       claims: dict[tuple[str, str], set[str]]) -> str | list[FieldProblem]:
        """``write_batch``'s outcome for a licence this import has not written, into an empty registry: CREATED
        (its claims recorded), or its conflicts. The licence holds no claim to replace, and an identifier can only
        be claimed by another licence if its hash is among those this import claimed (``_claimed``, kept up to
        date here within the batch too): only then are ``claims`` consulted, as the general path does."""
        if not active:
            return CREATED
        claimed = self._claimed
        pairs = [(p.platform, p.identifier) for p in f.platforms]
        hashes = [hash(pair) for pair in pairs]
        if not claimed.isdisjoint(hashes):
            conflicts = [conflict_problem(f, i, pair[1], other) for i, pair in enumerate(pairs)
                         for other in sorted(claims.get(pair, ())) if other != licence]
            if conflicts:
                return conflicts
        for pair in pairs:
            claims.setdefault(pair, set()).add(licence)
        claimed.update(hashes)
        return CREATED

    def _heartbeat(self) -> None:
        """On PostgreSQL, a trivial statement when the writer has not sent one for IMPORT_HEARTBEAT_SECONDS, so the
        server's idle-in-transaction timeout still ends stuck sessions but not a working import (a hung importer
        stops sending batches and is still cut off)."""
        if not self._postgres:
            return
        now = time.monotonic()
        if now - self._last_statement >= IMPORT_HEARTBEAT_SECONDS:
            self.conn.exec_driver_sql("SELECT 1")
            self._last_statement = now

    @property
    def _postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def _insert_versions(self, rows: list[tuple]) -> list[int]:
        """Insert version rows (``VERSION_COLUMNS``); their ids in row order."""
        if self._postgres:
            # Ids from the sequence (safe under concurrent imports), then COPY: no RETURNING round trips.
            ids = list(self.conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('filing_version', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)}).scalars())
            self._bulk_insert(V, ("id", *VERSION_COLUMNS), [(vid, *row) for vid, row in zip(ids, rows)])
            return ids
        if self._next_version_id is not None:
            # This transaction has written, so it holds SQLite's write lock: no other connection can insert a
            # version until it ends, and the ids after the largest one are this import's to assign.
            ids = list(range(self._next_version_id, self._next_version_id + len(rows)))
            self._bulk_insert(V, ("id", *VERSION_COLUMNS), [(vid, *row) for vid, row in zip(ids, rows)])
            self._next_version_id += len(rows)
            return ids
        # The first batch: sqlite3's executemany cannot return rows, so read the ids back. Licences are unique
        # within a batch (duplicates were refused) and import_id is this import's own, so the pair names each row.
        floor = self.conn.execute(select(func.coalesce(func.max(V.c.id), 0))).scalar_one()
        self._bulk_insert(V, VERSION_COLUMNS, rows)
        by_licence = dict(self.conn.execute(select(V.c.service_licence, V.c.id)
                                            .where(V.c.id > floor, V.c.import_id == self.import_id)).all())
        ids = [by_licence[r[0]] for r in rows]  # service_licence is the first column
        self._next_version_id = self.conn.execute(select(func.max(V.c.id))).scalar_one() + 1
        return ids

    def _timestamp(self, value):
        """A batch's rows share one timestamp: convert it to the driver's value once (SQLite stores text), not per
        row — SQLAlchemy's per-value processing cost as much as the inserts themselves."""
        if self._postgres:
            return value
        processed = V.c.created_at.type.bind_processor(self.conn.dialect)(value)
        # What SQLAlchemy leaves a datetime, sqlite3 turns into text with its registered adapter on every row it
        # binds (two per record): adapt it once here, with that same adapter, so the rows store the same text.
        adapt = sqlite3.adapters.get((type(processed), sqlite3.PrepareProtocol))
        return adapt(processed) if adapt is not None else processed

    def _column_types(self, table, columns: Sequence[str]) -> list[int]:
        """The server's type (oid) of each column, read once per table: a binary COPY sends every value in exactly
        its column's type."""
        oids = self._column_oids.get(table.name)
        if oids is None:
            oids = self._column_oids[table.name] = dict(self.conn.execute(text(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped"), {"t": table.name}).all())
        return [oids[c] for c in columns]

    def _bulk_insert(self, table, columns: Sequence[str], rows: list[tuple]) -> None:
        """COPY on PostgreSQL (10x faster than multi-row INSERT); on SQLite the driver's own executemany. Rows are
        tuples already in the driver's types (timestamps through ``_timestamp``): SQLAlchemy's per-row parameter
        handling, and building a dict per row, cost as much as the inserts themselves."""
        cursor = _dbapi(self.conn).cursor()
        if self._postgres:
            # Binary: the server parses no text (the record's JSON, with its escapes, was the costliest column).
            types = self._column_types(table, columns)
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
        cursor.close()

    def _insert(self, new_versions: list[tuple[Filing, int, str, str | None]], existing: dict) -> None:
        stamp = utcnow()
        now = self._timestamp(stamp)  # for the driver-level inserts; SQLAlchemy's update processes ``stamp``
        import_id = self.import_id
        ids = self._insert_versions([
            (f.service_licence, n, f.digest(), f.service_type, f.service_name, f.unit_name, f.status, f.blacklisted,
             f.approved_at, f.canonical_json(), import_id, now) for f, n, _, _ in new_versions])
        identities = [
            (vid, p.platform, p.identifier, p.public_key, public_key_digest(p.public_key) if p.public_key else None,
             p.signature_md5, p.signature_sha1, p.signature_sha256)
            for vid, (f, *_) in zip(ids, new_versions) for p in f.platforms]
        if identities:
            self._bulk_insert(I, IDENTITY_COLUMNS, identities)
        domains = [(vid, d) for vid, (f, *_) in zip(ids, new_versions) for d in f.domains]
        if domains:
            self._bulk_insert(D, ("version_id", "name"), domains)
        created = [(f.service_licence, f.main_licence, vid, n, f.digest(), f.status, f.blacklisted, import_id, now,
                    key) for vid, (f, n, outcome, key) in zip(ids, new_versions) if outcome == CREATED]
        if created:
            self._bulk_insert(F, FILING_COLUMNS, created)
        changed = [{"b_id": existing[f.service_licence].id, "current_version_id": vid, "version": n,
                    "digest": f.digest(), "status": f.status, "blacklisted": f.blacklisted,
                    "main_licence": f.main_licence, "last_import_id": import_id, "updated_at": stamp,
                    "source_key": key}
                   for vid, (f, n, outcome, key) in zip(ids, new_versions) if outcome == CHANGED]
        if changed:
            self.conn.execute(update(F).where(F.c.id == bindparam("b_id")), changed)


def import_into_database(engine: Engine, paths: Sequence[str | pathlib.Path], *, skip_invalid: bool = False,
                         on_problem: Callable[[FieldProblem], None] | None = None, actor: str = "cli",
                         batch_size: int | None = None, progress: Progress | None = None) -> ImportReport:
    """Import filings files in one transaction (all or nothing unless skip_invalid) and audit the outcome."""
    import_id = str(uuid.uuid4())
    files = [str(p) for p in paths]
    kwargs = {"batch_size": batch_size} if batch_size else {}
    try:
        with engine.begin() as conn:
            sink = DatabaseSink(conn, import_id)
            sink.defer_indexes()
            report = import_files(paths, sink, skip_invalid=skip_invalid,
                                  on_problem=on_problem, progress=progress, **kwargs)
            sink.build_deferred_indexes()
            record_event(conn, actor=actor, action="filings.import", subject=import_id,
                         details={"files": files, **{k: v for k, v in report.as_dict().items()
                                                     if k not in ("problems", "skipped_rows")}})
    except FilingsInvalid as exc:
        with engine.begin() as conn:  # the rejection is audited too, outside the rolled-back import
            record_event(conn, actor=actor, action="filings.import_rejected", subject=import_id,
                         details={"files": files, "error": exc.message})
        raise
    return report


# The decision's look-up (every check runs it), built once with bound parameters: building the join and its cache
# key per call cost more than running it.
_CURRENT_FILINGS_FOR = (
    select(V.c.id, V.c.record).distinct()
    .select_from(I.join(F, F.c.current_version_id == I.c.version_id).join(V, V.c.id == I.c.version_id))
    .where(I.c.identifier == bindparam("identifier"), I.c.platform == bindparam("platform"))
    .order_by(V.c.id))


# Filing versions as the decision's look-up rebuilt them, by (version id, stored record text): every upload of an
# app reads the same current version, and parsing its JSON into a Filing was ~5 % of a small check's database work.
# The key is the whole input, so a remembered Filing is what from_canonical would build (Filing is frozen; the
# canonical JSON it may keep in its __dict__ is derived from its fields). Emptied when it holds VERSION_MEMO_ENTRIES
# or its records' text passes VERSION_MEMO_TOTAL_CHARS (a worker's memory stays a few MB whatever the filings hold);
# records longer than VERSION_MEMO_CHARS (a filing with thousands of domains) are not kept.
_VERSION_MEMO: dict[tuple[int, str], Filing] = {}
_VERSION_MEMO_CHARS_HELD = 0
VERSION_MEMO_ENTRIES = 1024
VERSION_MEMO_CHARS = 64 * 1024
VERSION_MEMO_TOTAL_CHARS = 4 * 1024 * 1024


def _version_filing(version_id: int, record: str) -> Filing:
    global _VERSION_MEMO_CHARS_HELD
    key = (version_id, record)
    filing = _VERSION_MEMO.get(key)
    if filing is None:
        filing = Filing.from_canonical(json.loads(record), version_id=version_id)
        if len(record) <= VERSION_MEMO_CHARS:
            if (len(_VERSION_MEMO) >= VERSION_MEMO_ENTRIES
                    or _VERSION_MEMO_CHARS_HELD + len(record) > VERSION_MEMO_TOTAL_CHARS):
                _VERSION_MEMO.clear()
                _VERSION_MEMO_CHARS_HELD = 0
            _VERSION_MEMO[key] = filing
            _VERSION_MEMO_CHARS_HELD += len(record)
    return filing


class DatabaseRegistry:
    """Current filing versions by identifier (the registry decisions read), plus history by filing number."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def filings_for(self, platform: str, identifier: str) -> list[Filing]:
        rows = self.conn.execute(_CURRENT_FILINGS_FOR, {"identifier": identifier, "platform": platform})
        return [_version_filing(vid, record) for vid, record in rows]

    def current(self, service_licence: str) -> Filing | None:
        row = self.conn.execute(
            select(V.c.id, V.c.record).join(F, F.c.current_version_id == V.c.id)
            .where(F.c.service_licence == service_licence)).first()
        return Filing.from_canonical(json.loads(row.record), version_id=row.id) if row else None

    def history(self, service_licence: str) -> list[Filing]:
        rows = self.conn.execute(select(V.c.id, V.c.record).where(V.c.service_licence == service_licence)
                                 .order_by(V.c.version))
        return [Filing.from_canonical(json.loads(r.record), version_id=r.id) for r in rows]

    def version(self, version_id: int) -> Filing | None:
        row = self.conn.execute(select(V.c.record).where(V.c.id == version_id)).first()
        return Filing.from_canonical(json.loads(row.record), version_id=version_id) if row else None
