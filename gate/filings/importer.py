"""Importing filings files into a registry: read -> validate -> write in batches, with a per-row report.

The writer (``FilingSink``) is either the database (``gate.store.filings.DatabaseSink``) or an in-memory registry
(``gate check --filings``). Rules the importer enforces:
- a file with any invalid record imports nothing unless ``skip_invalid`` (then the skipped rows are reported);
  the caller runs the whole import in one transaction, and this function raises before it commits;
- problems are streamed to ``on_problem`` as they are found and only the first ``MAX_KEPT_PROBLEMS`` are kept in
  the report, so a million bad rows do not exhaust memory;
- records go to the sink in batches of ``BATCH_SIZE`` (one round trip per table per batch, not per row).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.filings.stream import parallel_worthwhile, validated, validated_in_parallel
from gate.progress import Progress

BATCH_SIZE = 2000
MAX_KEPT_PROBLEMS = 200

# Per-record outcomes a sink reports.
CREATED, CHANGED, UNCHANGED = "created", "changed", "unchanged"


class FilingSink(Protocol):
    def write_batch(self, filings: Sequence[Filing]) -> list[str | list[FieldProblem]]:
        """Store the batch; for each filing its outcome (CREATED/CHANGED/UNCHANGED) or the problems refusing it
        (``licence_duplicate`` within one import, ``identifier_conflict`` with another active filing)."""


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

    def as_dict(self) -> dict:
        return {"records": self.records, "created": self.created, "changed": self.changed,
                "unchanged": self.unchanged, "skipped": self.skipped, "errors": self.errors,
                "warnings": self.warnings, "problems": [p.as_dict() for p in self.problems],
                "skipped_rows": [{"source": s, "row": r} for s, r in self.skipped_rows]}


class _Run:
    def __init__(self, sink: FilingSink, skip_invalid: bool, on_problem: Callable[[FieldProblem], None] | None,
                 batch_size: int) -> None:
        self.sink, self.skip_invalid, self.on_problem, self.batch_size = sink, skip_invalid, on_problem, batch_size
        self.report = ImportReport()
        self.pending: list[tuple[str, int, Filing]] = []

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

    def add(self, source: str, row: int, filing: Filing) -> None:
        if not self.writing:
            return
        self.pending.append((source, row, filing))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch or not self.writing:
            return
        outcomes = self.sink.write_batch([f for _, _, f in batch])
        for (source, row, _), outcome in zip(batch, outcomes, strict=True):
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
    run = _Run(sink, skip_invalid, on_problem, batch_size)
    records = validated_in_parallel(paths) if parallel_worthwhile(paths) else validated(paths)
    for source, row, filing, problems in records:
        run.report.records += 1
        if progress is not None:
            progress.advance()
        if filing is None or any(p.severity == "error" for p in problems):
            run.reject(source, row, problems)
            continue
        for p in problems:  # warnings only
            run.problem(p.at(row=p.row or row, source=source))
        run.add(source, row, filing)
    run.flush()
    report = run.report
    if report.errors and not skip_invalid:
        raise FilingsInvalid(
            f"{report.errors} error(s) in {report.skipped} record(s); nothing was imported "
            "(fix them, or pass --skip-invalid to import the valid records)", code="filings_invalid")
    return report
