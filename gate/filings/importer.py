"""Importing filings files into a registry: read -> validate -> write in batches, with a per-row report.

The writer (``FilingSink``) is either the database (``gate.db.filings.DatabaseSink``) or an in-memory registry
(``gate check --filings``). Rules the importer enforces:
- a file with any invalid record imports nothing unless ``skip_invalid`` (then the skipped rows are reported);
  the caller runs the whole import in one transaction, and this function raises before it commits;
- problems are streamed to ``on_problem`` as they are found and only the first ``MAX_KEPT_PROBLEMS`` are kept in
  the report, so a million bad rows do not exhaust memory;
- records go to the sink in batches of ``BATCH_SIZE`` (one round trip per table per batch, not per row);
- a sink that stores source keys (``known_source_keys``, see ``gate.filings.source_keys``) gets each record's key
  beside it, and records it already holds byte for byte as ``KnownRecord``s, neither parsed nor validated again.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gate.collector import fewer_collections
from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.filings.stream import KnownRecord, parallel_worthwhile, validated, validated_in_parallel
from gate.progress import Progress

BATCH_SIZE = 2000
MAX_KEPT_PROBLEMS = 200

# Per-record outcomes a sink reports.
CREATED, CHANGED, UNCHANGED = "created", "changed", "unchanged"


class FilingSink(Protocol):
    def write_batch(self, filings: Sequence[Filing | KnownRecord], source_keys: Sequence[str | None] | None = None,
                    ) -> list[str | list[FieldProblem]]:
        """Store the batch; for each filing its outcome (CREATED/CHANGED/UNCHANGED) or the problems refusing it
        (``licence_duplicate`` within one import, ``identifier_conflict`` with another active filing).
        ``source_keys`` and KnownRecords only reach sinks with ``known_source_keys()``."""


@dataclass
class ImportReport:
    records: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    warnings: int = 0
    problems: list[FieldProblem] = field(default_factory=list)  # the first MAX_KEPT_PROBLEMS
    skipped_rows: list[tuple[str, int]] = field(default_factory=list)  # the first MAX_KEPT_PROBLEMS

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "created": self.created, "changed": self.changed,
                "unchanged": self.unchanged, "skipped": self.skipped, "errors": self.errors,
                "warnings": self.warnings, "problems": [p.as_dict() for p in self.problems],
                "skipped_rows": [{"source": s, "row": r} for s, r in self.skipped_rows]}


class _Run:
    def __init__(self, sink: FilingSink, skip_invalid: bool, on_problem: Callable[[FieldProblem], None] | None,
                 batch_size: int) -> None:
        self.sink, self.skip_invalid, self.on_problem, self.batch_size = sink, skip_invalid, on_problem, batch_size
        self.report = ImportReport()
        self.keyed = False  # the sink takes source keys
        self.pending: list[tuple[str, int, Filing | KnownRecord, str | None]] = []

    def problem(self, p: FieldProblem) -> None:
        if p.severity == "error":
            self.report.errors += 1
        else:
            self.report.warnings += 1
        if len(self.report.problems) < MAX_KEPT_PROBLEMS:
            self.report.problems.append(p)
        if self.on_problem is not None:
            self.on_problem(p)

    def reject(self, source: str, row: int, problems: Iterable[FieldProblem]) -> None:
        for p in problems:
            self.problem(p.at(row=p.row or row, source=source))
        self.report.skipped += 1
        if len(self.report.skipped_rows) < MAX_KEPT_PROBLEMS:
            self.report.skipped_rows.append((source, row))

    @property
    def writing(self) -> bool:
        # Once an error is certain to abort the import, stop writing but keep validating to report every row.
        return self.skip_invalid or self.report.errors == 0

    def add(self, source: str, row: int, filing: Filing | KnownRecord, key: str | None) -> None:
        if not self.writing:
            return
        self.pending.append((source, row, filing, key))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch or not self.writing:
            return
        filings = [f for _, _, f, _ in batch]
        if self.keyed:
            outcomes = self.sink.write_batch(filings, source_keys=[k for *_, k in batch])
        else:
            outcomes = self.sink.write_batch(filings)
        for (source, row, _, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, list):
                self.reject(source, row, outcome)
            else:
                setattr(self.report, outcome, getattr(self.report, outcome) + 1)


def import_files(paths: Sequence[str | pathlib.Path], sink: FilingSink, *, skip_invalid: bool = False,
                 on_problem: Callable[[FieldProblem], None] | None = None,
                 batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> ImportReport:
    """Import every file into ``sink``; raise FilingsInvalid (nothing to commit) on errors without skip_invalid.

    Large inputs are read and validated in a second process while this one writes (see ``gate.filings.stream``);
    the records, their order and every problem are the same either way.
    """
    with fewer_collections():  # see gate.collector: the records die young and make no cycles
        return _import(paths, _Run(sink, skip_invalid, on_problem, batch_size), progress)


def _import(paths: Sequence[str | pathlib.Path], run: _Run, progress: Progress | None) -> ImportReport:
    sink, skip_invalid = run.sink, run.skip_invalid
    known_source_keys = getattr(sink, "known_source_keys", None)
    known = known_source_keys() if known_source_keys is not None else None
    run.keyed = known is not None
    records = validated_in_parallel(paths, known) if parallel_worthwhile(paths) else validated(paths, known)
    del known  # held by the reader from here on (and released by the parallel one once handed to its process)
    for source, row, filing, problems, key in records:
        run.report.records += 1
        if progress is not None:
            progress.advance()
        if isinstance(filing, KnownRecord):
            run.add(source, row, filing, key)
            continue
        if filing is None or (problems and any(p.severity == "error" for p in problems)):
            run.reject(source, row, problems)
            continue
        for p in problems:  # warnings only
            run.problem(p.at(row=p.row or row, source=source))
        run.add(source, row, filing, key)
    run.flush()
    report = run.report
    if report.errors and not skip_invalid:
        raise FilingsInvalid(
            f"{report.errors} error(s) in {report.skipped} record(s); nothing was imported "
            "(fix them, or pass --skip-invalid to import the valid records)", code="filings_invalid")
    return report
