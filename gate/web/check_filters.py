"""The checks list's and review queue's filters on service_check's own columns (migration 0750), each written so
an index answers it at millions of checks (docs/benchmarks.md, "the console at 6 M checks")."""

from __future__ import annotations

import re

from sqlalchemy import Text, cast, func, literal_column
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql import ColumnElement

PACKAGE_NAME = re.compile(r"[A-Za-z][\w-]*(\.[\w-]+)+")
REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def whole_package(value: str) -> bool:
    """``value`` is a whole package name, matched exactly (not a prefix)."""
    return PACKAGE_NAME.fullmatch(value) is not None


def package_match(column, value: str) -> ColumnElement:
    """A whole package name (what links and people paste) matches exactly; a name ending in ``*`` (``com.example.*``)
    or anything that is not a whole name (``com.example.``, ``com``) is a prefix of the name, which
    ``ix_service_check_package_created`` answers on PostgreSQL (``text_pattern_ops``). No substring search: that
    reads every check (10–15 s at 6 M checks)."""
    if whole_package(value):
        return column == value
    return column.startswith(value.rstrip("*"), autoescape=True)


def reason_match(dialect: str, column, code: str) -> ColumnElement:
    """Checks whose space-separated reason codes include ``code`` exactly (``domain_not_filed`` does not find
    ``domain_not_filed_ip``). PostgreSQL: ``string_to_array(codes, ' ') @> ARRAY[code]``, the expression of the GIN
    index ``ix_service_check_reasons`` (the separator is a literal so the planner sees the same expression);
    SQLite: ``reason_in_text``."""
    if dialect != "postgresql" or not REASON_CODE.fullmatch(code):
        return reason_in_text(column, code)
    return func.string_to_array(column, literal_column("' '")).op("@>")(cast(array([code]), ARRAY(Text)))


def reason_in_text(column, code: str) -> ColumnElement:
    """The same match read row by row: the code between spaces. The review queue uses it on PostgreSQL too: its
    partial index already holds the codes of its few tens of thousands of rows, and a text match there costs less
    than reaching the same rows from a GIN index (33 against 49 ms for one code of a 38,865-item queue; splitting
    each row's codes into an array, 75 ms)."""
    if not REASON_CODE.fullmatch(code):
        return literal_column("1 = 0")  # not a code: nothing matches (a clear "no results", never an error)
    return (" " + column + " ").contains(f" {code} ", autoescape=True)
