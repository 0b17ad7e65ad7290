"""The database's errors, apart from the engine so that the migrations (which the engine consults to check the
schema) can raise them without importing the engine."""

from __future__ import annotations

from gate.errors import GateError


class DatabaseUnavailable(GateError):
    """The database cannot be reached or opened."""

    code = "database_unavailable"


class SchemaOutdated(GateError):
    """The database schema is not the one this gate version needs."""

    code = "schema_outdated"


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
