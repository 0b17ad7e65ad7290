"""Validation findings on filing records: which row, which field, a stable code and a readable message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gate.errors import GateError, UsageError


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of one record. ``row`` is the 1-based row/line/element in its file."""

    field: str
    code: str
    message: str
    row: int | None = None
    source: str | None = None
    severity: str = "error"  # "error" rejects the record; "warning" is reported and the record is kept

    def at(self, *, row: int | None, source: str | None) -> FieldProblem:
        return FieldProblem(self.field, self.code, self.message, row, source, self.severity)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "row": self.row, "field": self.field, "code": self.code,
                "message": self.message, "severity": self.severity}

    def __str__(self) -> str:
        where = f"{self.source or ''}:{self.row}" if self.row is not None else (self.source or "")
        note = " (warning: does not reject the record)" if self.severity == "warning" else ""
        return f"{where}: {self.field}: [{self.code}] {self.message}{note}"


class FieldInvalid(GateError):
    """A single field value cannot be accepted; carries the field problem."""

    code = "filing_field_invalid"

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.problem = FieldProblem(field, code, message)


class FilingsInvalid(UsageError):
    """A filings file has invalid records and nothing was imported (or matched against).

    The caller's input is wrong, not the gate: CLI exit status 2, like any other usage error."""

    code = "filings_invalid"
