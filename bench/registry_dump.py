"""Import filings files with one tree's code and dump what the registry then holds, to compare two trees.

    .venv/bin/python bench/registry_dump.py TREE OUT.jsonl FILE... [--database-url URL] [--modes skip,strict]
    .venv/bin/python bench/registry_dump.py TREE OUT.jsonl --sequence FILE... # one registry, files in order
    .venv/bin/python bench/registry_dump.py TREE OUT.jsonl --dump-only URL --digest-only  # a registry as it is

Each FILE is imported into an empty registry (a migrated SQLite file under a temporary directory, or a fresh
schema of the given PostgreSQL database; emptied before each file) by TREE's ``import_into_database``, with
``skip_invalid`` and again without it, and OUT gets, per file and mode, the import's report (or the code it was refused with) and a dump of
every filing, version, identity and domain in a stable order. Ids, times, import ids and source keys are left
out: they legitimately differ between runs and between rule versions (a source key covers the rules' source).
With ``--digest-only`` each table is reduced to its row count and SHA-256 (for the 1M bench file). Two trees'
outputs are then compared with ``cmp``; the files come from the suite through bench/collect_filings_files.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
import tempfile


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("out")
    ap.add_argument("files", nargs="*")
    ap.add_argument("--dump-only", metavar="URL", help="import nothing: dump this database's registry as it is "
                    "(e.g. the one bench/import_filings.py kept)")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--sequence", action="store_true", help="import the files in order into one registry")
    ap.add_argument("--digest-only", action="store_true")
    ap.add_argument("--modes", default="skip,strict", help="skip (skip_invalid), strict, or both")
    opts = ap.parse_args()
    sys.path.insert(0, str(pathlib.Path(opts.tree).resolve()))

    from sqlalchemy import text

    import gate
    from gate.filings.problems import FilingsInvalid
    try:
        from gate.db.engine import make_engine, open_database
        from gate.db.filings import import_into_database
        from gate.db.migrate import upgrade
    except ImportError:  # a tree from before the database layer moved to gate/db (to compare against it)
        from gate.store.engine import make_engine, open_database  # type: ignore[no-redef]
        from gate.store.filings import import_into_database  # type: ignore[no-redef]
        from gate.store.migrate import upgrade  # type: ignore[no-redef]

    assert pathlib.Path(gate.__file__).resolve().is_relative_to(pathlib.Path(opts.tree).resolve()), gate.__file__
    if opts.dump_only:
        engine = open_database(opts.dump_only)
        with open(opts.out, "w", encoding="utf-8") as out:
            write_dump(out, engine, opts.digest_only)
        return
    if opts.database_url is None:
        url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp(prefix='gate-registry-dump-')) / 'registry.db'}"
    else:  # a schema of its own, created afresh
        eng = make_engine(opts.database_url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS gate_registry_dump CASCADE"))
            conn.execute(text("CREATE SCHEMA gate_registry_dump"))
        eng.dispose()
        url = opts.database_url + ("&" if "?" in opts.database_url else "?") + \
            "options=-csearch_path%3Dgate_registry_dump"
    upgrade(make_engine(url))
    shared = open_database(url)

    def fresh_registry():
        """The migrated database with its registry emptied (migrating one per file would take hours)."""
        with shared.begin() as conn:
            for table in ("filing_domain", "filing_identity", "filing", "filing_version"):
                conn.execute(text(f"DELETE FROM {table}"))
        return shared

    def imported(engine, files, skip):
        try:
            report = import_into_database(engine, files, skip_invalid=skip).as_dict()
        except FilingsInvalid as exc:
            return {"refused": exc.code, "message": exc.message}
        for p in report["problems"]:  # the file's temporary name is not part of the result
            p["source"] = pathlib.Path(p["source"]).name
        for r in report["skipped_rows"]:
            r["source"] = pathlib.Path(r["source"]).name
        return report

    groups = [opts.files] if opts.sequence else [[f] for f in opts.files]
    with open(opts.out, "w", encoding="utf-8") as out:
        for files in groups:
            for mode in opts.modes.split(","):
                engine = fresh_registry()
                results = [imported(engine, [f], mode == "skip") for f in files] if opts.sequence else \
                    [imported(engine, files, mode == "skip")]
                out.write(json.dumps({"files": [pathlib.Path(f).name for f in files], "mode": mode,
                                      "reports": results}, ensure_ascii=False, sort_keys=True) + "\n")
                write_dump(out, engine, opts.digest_only)


def write_dump(out, engine, digest_only: bool) -> None:
    for table, rows in dump(engine):
        if digest_only:
            h, n = hashlib.sha256(), 0
            for row in rows:
                h.update(json.dumps(list(row), ensure_ascii=False).encode() + b"\n")
                n += 1
            out.write(json.dumps({"table": table, "rows": n, "sha256": h.hexdigest()}) + "\n")
        else:
            for row in rows:
                out.write(json.dumps([table, *row], ensure_ascii=False) + "\n")

def dump(engine):
    """Every registry row without ids, times, import ids or source keys; versions named by (licence, number)."""
    from sqlalchemy import text

    queries = {
        "filing": "SELECT f.service_licence, f.main_licence, f.version, f.digest, f.status, f.blacklisted, "
                  "v.service_licence, v.version FROM filing f JOIN filing_version v ON v.id = f.current_version_id "
                  "ORDER BY f.service_licence",
        "filing_version": "SELECT service_licence, version, digest, service_type, service_name, unit_name, status, "
                          "blacklisted, approved_at, record FROM filing_version ORDER BY service_licence, version",
        "filing_identity": "SELECT v.service_licence, v.version, i.platform, i.identifier, i.public_key, "
                           "i.public_key_digest, i.signature_md5, i.signature_sha1, i.signature_sha256 "
                           "FROM filing_identity i JOIN filing_version v ON v.id = i.version_id ORDER BY "
                           "v.service_licence, v.version, i.platform, i.identifier, i.public_key, "
                           "i.signature_md5, i.signature_sha1, i.signature_sha256",
        "filing_domain": "SELECT v.service_licence, v.version, d.name FROM filing_domain d JOIN filing_version v "
                         "ON v.id = d.version_id ORDER BY v.service_licence, v.version, d.name",
    }
    with engine.connect() as conn:
        for table, sql in queries.items():
            # The same database orders both trees' rows the same way; a tie is two identical rows.
            yield table, conn.execution_options(stream_results=True, yield_per=10000).execute(text(sql))

if __name__ == "__main__":
    main()
