"""The fast import paths change nothing: the registry and every report are those of validating every record into
a registry that keeps all its indexes.

Fast paths under test (gate.db.filings, gate.filings.source_keys): an import into an empty registry builds its
secondary indexes once at the end; a record whose text the registry holds (its source key) is neither parsed nor
validated again. The reference is the same sequence of imports with both switched off — the gate's import as it
was before them — into the same database, emptied; the two registry dumps (every filing, version, identity and
domain, without ids and times) and the reports must be equal, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import inspect, select, text

from gate.db import filings as store_filings
from gate.db.filings import DatabaseSink, import_into_database
from gate.db.tables import Filing, FilingDomain, FilingIdentity, FilingVersion
from gate.filings.problems import FilingsInvalid

MD5 = "0176d8d0130a8b0d3729e7833d7cb8cc"
OTHER_MD5 = "7c0dd4a5ad2ca3b59e1f5fbb93c7d2e1"


def record(i: int, **over) -> dict:
    r = {"service_licence": f"京ICP备2024{i:06d}号-1A", "service_type": "app", "service_name": f"应用{i}",
         "unit_name": f"测试科技有限公司{i % 7}", "status": "cancelled" if i % 11 == 0 else "active",
         "approved_at": "2024-03-05",
         "platforms": [{"platform": "android", "identifier": f"cn.keys.app{i}", "signature_md5": MD5}],
         "domains": [f"app{i}.example.cn"]}
    if i % 13 == 0:
        r["domains"].append("*.wild.example.cn")  # a warning: never keyed, reported on every import
    if i % 5 == 0:
        r["platforms"].append({"platform": "ios", "identifier": f"cn.keys.app{i}",
                               "signature_sha1": "AB" * 20})
    r.update(over)
    return r


def line(r: dict, *, spaced: bool = False) -> str:
    return json.dumps(r, ensure_ascii=False, indent=None, separators=(", ", ": ") if spaced else (",", ":"))


def write(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scenario(tmp_path) -> list[tuple[list, bool]]:
    """Files imported in order, each with skip_invalid: what a registry meets over a few days of exports."""
    base = [line(record(i)) for i in range(300)]
    first = write(tmp_path / "day1.jsonl", base)
    # Day 2: mostly unchanged text; some changed; one reformatted (same content, other text); the same line twice;
    # a licence changed and then its old text again (a duplicate); a new filing claiming an identifier another
    # active filing holds (a conflict); one filing cancelled, then a new one taking its package.
    day2 = list(base)
    day2[10] = line(record(10, service_name="改名应用10"))
    day2[12] = line(record(12), spaced=True)
    day2.append(base[20])
    day2.append(line(record(30, unit_name="新单位")))  # after its unchanged text on row 31: a duplicate
    day2.append(base[30])
    day2.append(line(record(400, platforms=[{"platform": "android", "identifier": "cn.keys.app40",
                                             "signature_md5": OTHER_MD5}])))
    day2[41] = line(record(41, status="cancelled"))
    day2.append(line(record(401, platforms=[{"platform": "android", "identifier": "cn.keys.app41",
                                             "signature_md5": OTHER_MD5}])))
    second = write(tmp_path / "day2.jsonl", day2)
    # Day 3: the old text of a filing changed on day 2 (a new version), then its day-2 text (now a duplicate); the
    # reformatted one again. Then an invalid record without skip_invalid rolls a whole file back, and two files
    # together bring texts known and unknown in both orders.
    day3 = [base[10], day2[10], day2[12]] + base[100:150]
    third = write(tmp_path / "day3.jsonl", day3)
    broken = write(tmp_path / "broken.jsonl", base[:50] + [line(record(999, status="maybe"))])
    return [([first], True), ([second], True), ([third], True), ([broken], False), ([third, second], True)]


def run(engine, steps) -> list:
    reports = []
    for files, skip_invalid in steps:
        try:
            reports.append(import_into_database(engine, files, skip_invalid=skip_invalid).as_dict())
        except FilingsInvalid as exc:
            reports.append({"refused": exc.code})
    return reports


def dump(engine) -> dict:
    F, V, I, D = Filing.__table__, FilingVersion.__table__, FilingIdentity.__table__, FilingDomain.__table__  # noqa: E741
    with engine.connect() as conn:
        versions = {vid: (licence, n) for vid, licence, n in conn.execute(
            select(V.c.id, V.c.service_licence, V.c.version))}
        return {
            "filings": sorted((r.service_licence, r.main_licence, r.version, r.digest, r.status, r.blacklisted,
                               versions[r.current_version_id]) for r in conn.execute(select(F))),
            "versions": sorted((r.service_licence, r.version, r.digest, r.service_type, r.service_name, r.unit_name,
                                r.status, r.blacklisted, r.approved_at, r.record) for r in conn.execute(select(V))),
            "identities": sorted((versions[r.version_id], r.platform, r.identifier, r.public_key or "",
                                  r.public_key_digest or "", r.signature_md5 or "", r.signature_sha1 or "",
                                  r.signature_sha256 or "") for r in conn.execute(select(I))),
            "domains": sorted((versions[r.version_id], r.name) for r in conn.execute(select(D))),
        }


def empty(engine) -> None:
    with engine.begin() as conn:
        for table in ("filing", "filing_identity", "filing_domain", "filing_version"):
            conn.execute(text(f"DELETE FROM {table}"))


def indexes(engine) -> set[str]:
    insp = inspect(engine)
    return {ix["name"] for t in ("filing", "filing_version", "filing_identity", "filing_domain")
            for ix in insp.get_indexes(t)}


def constraints(engine) -> set[tuple]:
    """The registry tables' unique keys and foreign keys: (table, name, columns, referred table and columns)."""
    insp = inspect(engine)
    found: set[tuple] = set()
    for t in ("filing", "filing_version", "filing_identity", "filing_domain"):
        found |= {(t, uq["name"], tuple(uq["column_names"]), None) for uq in insp.get_unique_constraints(t)}
        found |= {(t, fk["name"], tuple(fk["constrained_columns"]),
                   (fk["referred_table"], tuple(fk["referred_columns"]))) for fk in insp.get_foreign_keys(t)}
    return found


def test_fast_paths_leave_registry_and_reports_identical(migrated_engine, tmp_path, monkeypatch):
    steps = scenario(tmp_path)
    before, before_constraints = indexes(migrated_engine), constraints(migrated_engine)
    known_hits: list[str] = []
    counted = DatabaseSink._known_outcome

    def counting(self, rec):
        known_hits.append(rec.source_key)
        return counted(self, rec)

    monkeypatch.setattr(DatabaseSink, "_known_outcome", counting)
    fast_reports = run(migrated_engine, steps)
    fast = dump(migrated_engine)
    assert indexes(migrated_engine) == before  # the deferred indexes were built again
    assert constraints(migrated_engine) == before_constraints  # and the deferred constraints added again
    assert len(known_hits) > 400  # the fast path ran: most of days 2 and 3 were recognised by their text

    empty(migrated_engine)
    monkeypatch.setattr(DatabaseSink, "known_source_keys", None)  # the importer then validates every record
    monkeypatch.setattr(DatabaseSink, "defer_indexes", lambda self: None)
    reference_reports = run(migrated_engine, steps)
    assert dump(migrated_engine) == fast
    assert reference_reports == fast_reports
    # The scenario meets what it is meant to: changes, duplicates, conflicts, warnings and a refused file.
    day2 = fast_reports[1]
    assert (day2["changed"], day2["created"], day2["unchanged"], day2["skipped"]) == (2, 1, 300, 2)
    codes = {p["code"] for p in day2["problems"]}
    assert {"licence_duplicate", "identifier_conflict", "domain_wildcard"} <= codes
    assert fast_reports[3] == {"refused": "filings_invalid"}


def test_a_failed_first_import_keeps_every_index(migrated_engine, tmp_path):
    before, before_constraints = indexes(migrated_engine), constraints(migrated_engine)
    broken = write(tmp_path / "broken.jsonl", [line(record(i)) for i in range(20)] + ["{not json"])
    with pytest.raises(FilingsInvalid):
        import_into_database(migrated_engine, [broken])
    assert indexes(migrated_engine) == before
    assert constraints(migrated_engine) == before_constraints


def test_a_duplicate_that_slips_through_a_first_import_stores_nothing(migrated_engine, tmp_path, monkeypatch):
    """A first import into PostgreSQL checks the unique keys once at its end (DEFERRABLE_CONSTRAINTS): a licence
    stored twice — here because the writer is made to forget what it wrote — fails the whole import there, and the
    registry is left empty with every index and constraint; SQLite refuses the row itself, with the same result."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    before, before_constraints = indexes(migrated_engine), constraints(migrated_engine)
    forgetful = DatabaseSink.write_batch

    def forgetting(self, filings, source_keys=None):
        self._seen.clear()  # the import's own duplicate check, defeated
        return forgetful(self, filings, source_keys)

    monkeypatch.setattr(DatabaseSink, "write_batch", forgetting)
    twice = write(tmp_path / "twice.jsonl", [line(record(1)), line(record(2)),
                                             line(record(1, service_name="改名应用1"))])
    # SQLite's error comes from the driver itself: the writer inserts through it (DatabaseSink._bulk_insert).
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)):
        import_into_database(migrated_engine, [twice], batch_size=1)
    assert dump(migrated_engine) == {"filings": [], "versions": [], "identities": [], "domains": []}
    assert indexes(migrated_engine) == before
    assert constraints(migrated_engine) == before_constraints


def test_keys_change_with_the_rules(monkeypatch):
    from gate.filings import source_keys

    text = line(record(1))
    key = source_keys.source_key(text)
    assert key == source_keys.source_key(text) and len(key) == 32
    source_keys.rules_fingerprint.cache_clear()
    source_keys._seeded.cache_clear()
    monkeypatch.setattr(source_keys, "RULE_MODULES", source_keys.RULE_MODULES[:-1])
    try:
        assert source_keys.source_key(text) != key
    finally:
        source_keys.rules_fingerprint.cache_clear()
        source_keys._seeded.cache_clear()


def test_store_module_names_every_deferrable_index():
    declared = {ix.name for t in (Filing, FilingVersion, FilingIdentity, FilingDomain) for ix in t.__table__.indexes}
    assert set(store_filings.DEFERRABLE_INDEXES) <= declared
    assert "ix_filing_identity_lookup" not in store_filings.DEFERRABLE_INDEXES  # the import's own look-up


def test_store_module_names_every_deferrable_constraint(postgres_url):
    """Each name in DEFERRABLE_CONSTRAINTS is one the migrated PostgreSQL schema has (a constraint renamed by a
    migration would otherwise be checked row by row again, silently); SQLite keeps its constraints, unnamed."""
    from gate.db.engine import make_engine
    from gate.db.migrate import upgrade

    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        named = {name for _, name, _, _ in constraints(engine)}
    finally:
        engine.dispose()
    assert set(store_filings.DEFERRABLE_CONSTRAINTS) <= named


def test_the_parallel_reader_gives_the_same_outcomes(migrated_engine, tmp_path, monkeypatch):
    from gate.filings import stream

    steps = scenario(tmp_path)[:3]
    in_process = run(migrated_engine, steps)
    registry = dump(migrated_engine)
    empty(migrated_engine)
    monkeypatch.setattr(stream, "PARALLEL_MIN_BYTES", 1)  # every file through the reader process, keys by file
    assert run(migrated_engine, steps) == in_process
    assert dump(migrated_engine) == registry


def contested_file(tmp_path):
    """One file meeting every rule an import into an empty registry applies across batches: a package filed
    again under another licence (a conflict), a package whose first filing is cancelled (no claim: the second
    is taken), a licence twice with other content (a duplicate) and with the same content (unchanged), a licence
    refused for a conflict and then filed again without it, and a blacklisted filing."""
    rows = [record(i) for i in range(60)]
    rows.append(record(100, platforms=[{"platform": "android", "identifier": "cn.keys.app3",
                                        "signature_md5": OTHER_MD5}]))  # conflict with 3 (active)
    rows.append(record(101, platforms=[{"platform": "android", "identifier": "cn.keys.app22",
                                        "signature_md5": OTHER_MD5}]))  # 22 is cancelled: taken
    rows.append(record(7, unit_name="别的单位"))  # duplicate licence, other content
    rows.append(record(8))  # the same content again: unchanged
    rows.append(record(102, platforms=[{"platform": "ios", "identifier": "cn.keys.app5",
                                        "signature_sha1": "CD" * 20}]))  # conflict with 5's iOS identity
    rows.append(record(100))  # the refused licence again, its own package: created
    rows.append(record(103, blacklisted=True, platforms=[{"platform": "android", "identifier": "cn.keys.app22",
                                                           "signature_md5": MD5}]))  # conflict with 101
    rows.append(record(104, status="cancelled", platforms=[{"platform": "android", "identifier": "cn.keys.app1",
                                                             "signature_md5": MD5}]))  # cancelled: no conflict
    return write(tmp_path / "contested.jsonl", [line(r) for r in rows])


@pytest.mark.parametrize("batch_size", [1, 7, 2000])
def test_an_import_into_an_empty_registry_skips_lookups_with_the_same_outcomes(migrated_engine, tmp_path,
                                                                                monkeypatch, batch_size):
    path = contested_file(tmp_path)
    fast = import_into_database(migrated_engine, [path], skip_invalid=True, batch_size=batch_size).as_dict()
    registry = dump(migrated_engine)
    empty(migrated_engine)
    monkeypatch.setattr(DatabaseSink, "defer_indexes", lambda self: None)  # not fresh: every look-up asked
    reference = import_into_database(migrated_engine, [path], skip_invalid=True, batch_size=batch_size).as_dict()
    assert dump(migrated_engine) == registry
    assert reference == fast
    codes = [p["code"] for p in fast["problems"]]
    assert codes.count("identifier_conflict") == 3 and codes.count("licence_duplicate") == 1
    assert (fast["created"], fast["unchanged"], fast["skipped"]) == (63, 1, 4)


def test_a_quiet_reimport_outlives_the_idle_in_transaction_timeout(postgres_url, tmp_path, monkeypatch):
    """A re-import of known records sends no statement for as long as they take to read; the server's
    idle-in-transaction timeout (60 s in production, 1 s here) must not end it (the writer's heartbeat)."""
    from urllib.parse import quote

    from gate.db import filings as db_filings
    from gate.db.engine import make_engine, open_database
    from gate.db.migrate import upgrade
    from gate.filings import importer

    upgrade(make_engine(postgres_url))
    # The URL's own -c comes after the gate's and wins: a 1 s timeout for this engine's sessions.
    url = postgres_url.replace("options=", "options=" + quote("-cidle_in_transaction_session_timeout=1000 "), 1)
    engine = open_database(url)
    path = write(tmp_path / "day.jsonl", [line(record(i)) for i in range(8)])
    first = import_into_database(engine, [path])
    assert first.created == 8

    original = importer.validated

    def slowly(paths, known=None):  # a loaded machine: 0.4 s per record, 3.2 s without a statement
        for item in original(paths, known):
            time.sleep(0.4)
            yield item

    monkeypatch.setattr(importer, "validated", slowly)
    monkeypatch.setattr(db_filings, "IMPORT_HEARTBEAT_SECONDS", 0.5)
    again = import_into_database(engine, [path], batch_size=1)
    assert again.unchanged == 8 and again.created == again.changed == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'filings.import'")).scalar() == 2
    engine.dispose()
