"""The filing registry in the database: batch writes for imports, current-version lookups for decisions.

Imports use SQLAlchemy Core executemany (psycopg pipelines them; SQLite runs them in one prepared statement), one
round trip per table per batch — building one ORM object per row would cost minutes per million records.
"""

from __future__ import annotations

import json
import operator
import pathlib
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.engine import Connection, Engine

from gate.filings.importer import CHANGED, CREATED, UNCHANGED, ImportReport, import_files
from gate.filings.keys import public_key_digest
from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.progress import Progress
from gate.filings.registry import conflict_problem, duplicate_problem
from gate.store.audit import record_event
from gate.store.tables import Filing as FilingRow
from gate.store.tables import FilingDomain, FilingIdentity, FilingVersion, utcnow

IMPORT_CACHE_KIB = 256 * 1024  # SQLite page cache of an importing connection

F = FilingRow.__table__
V = FilingVersion.__table__
I = FilingIdentity.__table__  # noqa: E741 (table alias)
D = FilingDomain.__table__


class DatabaseSink:
    """Writes validated filings in batches inside the caller's transaction (see importer.FilingSink)."""

    def __init__(self, conn: Connection, import_id: str) -> None:
        self.conn, self.import_id = conn, import_id
        # hash(licence) -> first 64 bits of its digest, for each licence written by this import: detects a licence
        # twice in one import with two ints per record instead of strings (a 64-bit collision among a million
        # records is ~1e-8 likely, and would only misreport a duplicate).
        self._seen: dict[int, int] = {}
        if conn.dialect.name == "sqlite":
            # A million-record import inserts into a dozen indexes; with SQLite's default 2 MB page cache most of
            # those inserts read their B-tree pages from disk again. This connection's cache, for this import on.
            conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        if conn.dialect.name == "postgresql":
            # The planner's statistics cannot see this transaction's own rows: as an import into an empty registry
            # grows, it keeps planning sequential scans for the per-batch lookups (quadratic: a million-record
            # import never finishes). Every lookup here has an index, so forbid seq scans for this transaction.
            conn.execute(text("SET LOCAL enable_seqscan = off"))

    def _claims(self, filings: Sequence[Filing]) -> dict[tuple[str, str], set[str]]:
        """Which licences actively claim each (platform, identifier) in this batch, per the current versions."""
        identifiers = sorted({p.identifier for f in filings for p in f.platforms})
        claims: dict[tuple[str, str], set[str]] = {}
        if not identifiers:
            return claims
        rows = self.conn.execute(
            select(I.c.platform, I.c.identifier, F.c.service_licence)
            .join(F, F.c.current_version_id == I.c.version_id)
            .where(I.c.identifier.in_(identifiers), F.c.status == "active"))
        for platform, identifier, licence in rows:
            claims.setdefault((platform, identifier), set()).add(licence)
        return claims

    def write_batch(self, filings: Sequence[Filing]) -> list[str | list[FieldProblem]]:
        licences = [f.service_licence for f in filings]
        existing = {r.service_licence: r for r in self.conn.execute(
            select(F.c.id, F.c.service_licence, F.c.digest, F.c.version).where(F.c.service_licence.in_(licences)))}
        claims = self._claims(filings)
        held: dict[str, set[tuple[str, str]]] = {}  # licence -> its keys in ``claims``
        for key, holders in claims.items():
            for licence in holders:
                held.setdefault(licence, set()).add(key)
        outcomes: list[str | list[FieldProblem]] = []
        new_versions: list[tuple[Filing, int, str]] = []  # (filing, version number, outcome)
        for f in filings:
            digest = f.digest()
            short = int(digest[:16], 16)
            seen = self._seen.get(hash(f.service_licence))
            if seen is not None:
                outcomes.append(UNCHANGED if seen == short else [duplicate_problem(f)])
                continue
            conflicts = [conflict_problem(f, i, p.identifier, other)
                         for i, p in enumerate(f.platforms) if f.status == "active"
                         for other in sorted(claims.get((p.platform, p.identifier), ()))
                         if other != f.service_licence]
            if conflicts:
                outcomes.append(conflicts)
                continue
            self._seen[hash(f.service_licence)] = short
            # The new version replaces this licence's claims (it may drop an identifier or be cancelled).
            for key in held.pop(f.service_licence, ()):
                claims[key].discard(f.service_licence)
            if f.status == "active":
                for p in f.platforms:
                    claims.setdefault((p.platform, p.identifier), set()).add(f.service_licence)
                    held.setdefault(f.service_licence, set()).add((p.platform, p.identifier))
            old = existing.get(f.service_licence)
            if old is not None and old.digest == digest:
                outcomes.append(UNCHANGED)
                continue
            outcome = CHANGED if old is not None else CREATED
            new_versions.append((f, (old.version + 1) if old is not None else 1, outcome))
            outcomes.append(outcome)
        if new_versions:
            self._insert(new_versions, existing)
        return outcomes

    @property
    def _postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def _insert_versions(self, rows: list[dict]) -> list[int]:
        """Insert version rows; their ids in row order."""
        if self._postgres:
            # Ids from the sequence (safe under concurrent imports), then COPY: no RETURNING round trips.
            ids = list(self.conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('filing_version', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)}).scalars())
            for row, vid in zip(rows, ids):
                row["id"] = vid
            self._bulk_insert(V, rows)
            return ids
        # sqlite3's executemany cannot return rows: read the ids back. Licences are unique within a batch
        # (duplicates were refused) and import_id is this import's own, so the pair names each new row.
        floor = self.conn.execute(select(func.coalesce(func.max(V.c.id), 0))).scalar_one()
        self._bulk_insert(V, rows)
        by_licence = dict(self.conn.execute(select(V.c.service_licence, V.c.id)
                                            .where(V.c.id > floor, V.c.import_id == self.import_id)).all())
        return [by_licence[r["service_licence"]] for r in rows]

    def _bulk_insert(self, table, rows: list[dict]) -> None:
        """COPY on PostgreSQL (10x faster than multi-row INSERT); on SQLite the driver's own executemany, with
        the column types' bind processors applied once per value — SQLAlchemy's per-row parameter handling cost
        as much as the inserts themselves."""
        columns = list(rows[0])
        cursor = self.conn.connection.dbapi_connection.cursor()
        values = operator.itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
        if self._postgres:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        # Only a few columns (the timestamps) have a processor on SQLite; the rest go as they are.
        processors = [(i, p) for i, c in enumerate(columns)
                      if (p := table.c[c].type.bind_processor(self.conn.dialect)) is not None]
        params = [values(row) for row in rows]
        if processors:
            seen: dict = {}  # a batch's rows share their timestamp: process each distinct value once
            params = [_processed(list(v), processors, seen) for v in params]
        cursor.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", params)
        cursor.close()

    def _insert(self, new_versions: list[tuple[Filing, int, str]], existing: dict) -> None:
        now = utcnow()
        version_rows = [{
            "service_licence": f.service_licence, "version": n, "digest": f.digest(),
            "service_type": f.service_type, "service_name": f.service_name, "unit_name": f.unit_name,
            "status": f.status, "blacklisted": f.blacklisted, "approved_at": f.approved_at,
            "record": f.canonical_json(), "import_id": self.import_id, "created_at": now,
        } for f, n, _ in new_versions]
        ids = self._insert_versions(version_rows)
        identities = [{
            "version_id": vid, "platform": p.platform, "identifier": p.identifier, "public_key": p.public_key,
            "public_key_digest": public_key_digest(p.public_key) if p.public_key else None,
            "signature_md5": p.signature_md5, "signature_sha1": p.signature_sha1,
            "signature_sha256": p.signature_sha256,
        } for vid, (f, _, _) in zip(ids, new_versions) for p in f.platforms]
        if identities:
            self._bulk_insert(I, identities)
        domains = [{"version_id": vid, "name": d} for vid, (f, _, _) in zip(ids, new_versions) for d in f.domains]
        if domains:
            self._bulk_insert(D, domains)
        created = [{"service_licence": f.service_licence, "main_licence": f.main_licence, "current_version_id": vid,
                    "version": n, "digest": f.digest(), "status": f.status, "blacklisted": f.blacklisted,
                    "last_import_id": self.import_id, "updated_at": now}
                   for vid, (f, n, outcome) in zip(ids, new_versions) if outcome == CREATED]
        if created:
            self._bulk_insert(F, created)
        changed = [{"b_id": existing[f.service_licence].id, "current_version_id": vid, "version": n,
                    "digest": f.digest(), "status": f.status, "blacklisted": f.blacklisted,
                    "main_licence": f.main_licence, "last_import_id": self.import_id, "updated_at": now}
                   for vid, (f, n, outcome) in zip(ids, new_versions) if outcome == CHANGED]
        if changed:
            self.conn.execute(update(F).where(F.c.id == bindparam("b_id")), changed)


def _processed(values: list, processors: list, seen: dict) -> list:
    for i, process in processors:
        key = (i, values[i])
        if key not in seen:
            seen[key] = process(values[i])
        values[i] = seen[key]
    return values


def import_into_database(engine: Engine, paths: Sequence[str | pathlib.Path], *, skip_invalid: bool = False,
                         on_problem: Callable[[FieldProblem], None] | None = None, actor: str = "cli",
                         batch_size: int | None = None, progress: Progress | None = None) -> ImportReport:
    """Import filings files in one transaction (all or nothing unless skip_invalid) and audit the outcome."""
    import_id = str(uuid.uuid4())
    files = [str(p) for p in paths]
    kwargs = {"batch_size": batch_size} if batch_size else {}
    try:
        with engine.begin() as conn:
            report = import_files(paths, DatabaseSink(conn, import_id), skip_invalid=skip_invalid,
                                  on_problem=on_problem, progress=progress, **kwargs)
            record_event(conn, actor=actor, action="filings.import", subject=import_id,
                         details={"files": files, **{k: v for k, v in report.as_dict().items()
                                                     if k not in ("problems", "skipped_rows")}})
    except FilingsInvalid as exc:
        with engine.begin() as conn:  # the rejection is audited too, outside the rolled-back import
            record_event(conn, actor=actor, action="filings.import_rejected", subject=import_id,
                         details={"files": files, "error": exc.message})
        raise
    return report


class DatabaseRegistry:
    """Current filing versions by identifier (FilingRegistry for decisions), plus history by filing number."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def filings_for(self, platform: str, identifier: str) -> list[Filing]:
        rows = self.conn.execute(
            select(V.c.id, V.c.record).distinct()
            .select_from(I.join(F, F.c.current_version_id == I.c.version_id).join(V, V.c.id == I.c.version_id))
            .where(I.c.identifier == identifier, I.c.platform == platform)
            .order_by(V.c.id))
        return [Filing.from_canonical(json.loads(record), version_id=vid) for vid, record in rows]

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
