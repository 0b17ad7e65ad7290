"""The filings import's two processes measured apart: reader (read, validate, digest), pickling, writer.

    .venv/bin/python bench/import_split.py [--tree TREE] [--records 50000] [--profile]

In a first import the reader (a child process) and the writer (the importer) run at once, so the slower of the two
sets the pace. This times each alone, in CPU microseconds per record: ``validated`` over the file (the reader's
work), ``pickle``/``unpickle`` of its 1,000-record chunks (what crosses between the processes), then the writer
(``import_into_database`` into a fresh SQLite file with the records validated beforehand), twice: a first import
and a re-import of the same records (validated again, without source keys). ``--tree`` runs another checkout's
code (``git archive`` of a commit) with this virtual environment, for before/after pairs run back to back.
"""

from __future__ import annotations

import argparse
import cProfile
import pathlib
import pickle
import pstats
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=str(ROOT))
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--profile", action="store_true", help="cProfile the writer (self time, top 25)")
    opts = ap.parse_args()
    tree = pathlib.Path(opts.tree).resolve()
    sys.path.insert(0, str(tree))
    import gate  # first: the generator below puts this checkout on sys.path too
    from gate.filings import importer
    from gate.filings.stream import validated
    try:
        from gate.db import filings as store_filings
        from gate.db.engine import open_database
        from gate.db.migrate import upgrade
    except ImportError:  # a tree from before the database layer moved to gate/db
        from gate.store import filings as store_filings  # type: ignore[no-redef]
        from gate.store.engine import open_database  # type: ignore[no-redef]
        from gate.store.migrate import upgrade  # type: ignore[no-redef]
    assert pathlib.Path(gate.__file__).resolve().is_relative_to(tree), gate.__file__
    sys.path.append(str(ROOT / "bench"))
    import import_filings as bench

    n = opts.records
    work = ROOT / "bench" / "work"
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"filings_{n}.jsonl"
    if not data.exists():
        bench.generate(data, n, "jsonl")
    out: dict[str, float] = {}
    t = time.process_time()
    records = list(validated([data], set()))
    out["reader_us"] = (time.process_time() - t) / n * 1e6
    t = time.process_time()
    blobs = [pickle.dumps(records[i:i + 1000]) for i in range(0, n, 1000)]
    out["pickle_us"] = (time.process_time() - t) / n * 1e6
    t = time.process_time()
    for blob in blobs:
        pickle.loads(blob)
    out["unpickle_us"] = (time.process_time() - t) / n * 1e6

    url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp(prefix='gate-import-split-')) / 'registry.db'}"
    try:
        from gate.db.engine import make_engine
    except ImportError:
        from gate.store.engine import make_engine  # type: ignore[no-redef]
    upgrade(make_engine(url))
    engine = open_database(url)
    # The writer alone: the importer reads the records validated above instead of reading the file.
    importer.validated = lambda paths, known=None: iter(records)
    importer.parallel_worthwhile = lambda paths: False
    profiler = cProfile.Profile() if opts.profile else None
    for label in ("writer_first_us", "writer_reimport_us"):
        t = time.process_time()
        if profiler is not None and label == "writer_first_us":
            profiler.enable()
        store_filings.import_into_database(engine, [data])
        if profiler is not None:
            profiler.disable()
        out[label] = (time.process_time() - t) / n * 1e6
        records = list(validated([data], None))  # the same records again, without source keys
    print({k: round(v, 1) for k, v in out.items()}, f"tree={tree}", f"records={n}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
