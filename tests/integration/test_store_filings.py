"""The registry in SQLite and PostgreSQL: migrations, imports with history, idempotence, lookups, checks."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlmodel import SQLModel

from gate.db import tables
from gate.db.checks import record_check, replay_check
from gate.db.engine import DatabaseUnavailable, SchemaOutdated, make_engine, open_database
from gate.db.filings import DatabaseRegistry, import_into_database
from gate.db.migrate import head_revision, upgrade
from gate.decide import Policy, decide
from gate.filings.problems import FilingsInvalid
from tests.unit.test_decide import facts_of, signer

MD5 = signer("hello_zh.apk")["cert_md5"]
LICENCE = "京ICP备2024000001号-1A"


def rec(**over):
    base = {"service_licence": LICENCE, "service_type": "app", "service_name": "你好门禁",
            "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
            "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello", "signature_md5": MD5}]}
    base.update(over)
    return base


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    return path


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table.__table__)).scalar_one()


def test_migrations_build_exactly_the_models(migrated_engine):
    import importlib
    import pkgutil

    import gate.db

    for mod in pkgutil.iter_modules(gate.db.__path__):  # every module declaring tables (tables, service_tables)
        if mod.name.endswith("tables"):
            importlib.import_module(f"gate.db.{mod.name}")
    with migrated_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_refuses_to_run_on_an_unmigrated_database(database_url):
    with pytest.raises(SchemaOutdated) as exc:
        open_database(database_url)
    assert "gate db upgrade" in exc.value.message and head_revision() in exc.value.message
    engine = make_engine(database_url)
    assert upgrade(engine) == (None, head_revision())
    assert upgrade(engine) == (head_revision(), head_revision())  # idempotent
    engine.dispose()


def test_unreachable_database_is_a_gate_failure():
    with pytest.raises(DatabaseUnavailable):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_import_twice_changes_nothing_and_a_change_adds_a_version(migrated_engine, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [rec(), rec(service_licence="京ICP备2024000002号-1A", platforms=[
        {"platform": "ios", "identifier": "cn.filinggate.hello", "signature_sha1": "ab" * 20}])])
    first = import_into_database(migrated_engine, [path])
    assert (first.created, first.changed, first.unchanged) == (2, 0, 0)
    again = import_into_database(migrated_engine, [path])
    assert (again.created, again.changed, again.unchanged) == (0, 0, 2)
    assert count(migrated_engine, tables.FilingVersion) == 2

    write_jsonl(tmp_path / "b.jsonl", [rec(status="cancelled")])
    changed = import_into_database(migrated_engine, [tmp_path / "b.jsonl"])
    assert changed.changed == 1
    with migrated_engine.connect() as conn:
        registry = DatabaseRegistry(conn)
        history = registry.history(LICENCE)
        assert [f.status for f in history] == ["active", "cancelled"]
        current = registry.filings_for("android", "cn.filinggate.hello")
        assert [(f.status, f.version_id) for f in current] == [("cancelled", history[1].version_id)]
        assert registry.filings_for("android", "cn.other") == []
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_event ORDER BY id"))]
    assert actions == ["filings.import"] * 3


def test_a_file_with_errors_imports_nothing_unless_skip_invalid(migrated_engine, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [rec(), rec(service_licence="京ICP备2024000002号-1A", status="??")])
    with pytest.raises(FilingsInvalid):
        import_into_database(migrated_engine, [path])
    assert count(migrated_engine, tables.Filing) == 0
    report = import_into_database(migrated_engine, [path], skip_invalid=True)
    assert (report.created, report.skipped, report.skipped_rows) == (1, 1, [(str(path), 2)])


def test_identifier_conflict_against_the_registry_and_across_batches(migrated_engine, tmp_path):
    import_into_database(migrated_engine, [write_jsonl(tmp_path / "a.jsonl", [rec()])])
    other = write_jsonl(tmp_path / "b.jsonl", [rec(service_licence="京ICP备2024000002号-1A")])
    problems = []
    with pytest.raises(FilingsInvalid):
        import_into_database(migrated_engine, [other], on_problem=problems.append)
    assert [(p.row, p.code) for p in problems] == [(1, "identifier_conflict")]
    # Moving the package: cancel the old filing first (same file, earlier row) -> accepted; batch size 1 makes
    # the two rows land in different batches.
    moved = write_jsonl(tmp_path / "c.jsonl", [rec(status="cancelled"), rec(service_licence="京ICP备2024000002号-1A")])
    report = import_into_database(migrated_engine, [moved], batch_size=1)
    assert (report.changed, report.created) == (1, 1)
    dup = write_jsonl(tmp_path / "d.jsonl", [rec(service_name="甲", status="cancelled"), rec(service_name="乙", status="cancelled")])
    problems.clear()
    with pytest.raises(FilingsInvalid):
        import_into_database(migrated_engine, [dup], batch_size=1, on_problem=problems.append)
    assert [(p.row, p.code) for p in problems] == [(2, "licence_duplicate")]


def test_checks_are_stored_and_reproducible(migrated_engine, tmp_path):
    import_into_database(migrated_engine, [write_jsonl(tmp_path / "a.jsonl", [rec()])])
    policy = Policy()
    facts = facts_of("hello_zh.apk")
    with migrated_engine.begin() as conn:
        filings = DatabaseRegistry(conn).filings_for("android", facts.package)
        decision = decide(facts, filings, policy=policy)
        check_id = record_check(conn, facts=facts, decision=decision, policy=policy)
    # The registry moves on (the filing is cancelled); the stored check still replays to its own answer.
    import_into_database(migrated_engine, [write_jsonl(tmp_path / "b.jsonl", [rec(status="cancelled")])])
    with migrated_engine.connect() as conn:
        stored, again = replay_check(conn, check_id)
        row = conn.execute(select(tables.Check.__table__).where(tables.Check.__table__.c.id == check_id)).one()
        now = decide(facts, DatabaseRegistry(conn).filings_for("android", facts.package), policy=policy)
    assert stored == again and stored["verdict"] == "allow"
    assert row.filing_version_id == filings[0].version_id and row.package == "cn.filinggate.hello"
    assert now.verdict == "block"
