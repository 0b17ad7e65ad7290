"""The registry service's read side, and an in-memory registry for ``gate check --filings FILE``.

A registry answers one question for decisions: which filings name this identifier on this platform. The database
registry (``gate.db.filings.DatabaseRegistry``) and ``MemoryRegistry`` answer it the same way.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence

from gate.filings.importer import CHANGED, CREATED, UNCHANGED, import_files
from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.filings.stream import KnownRecord


def conflict_problem(filing: Filing, index: int, identifier: str, other: str) -> FieldProblem:
    """The one-package-two-filings rule: an identifier is actively filed under at most one service licence."""
    return FieldProblem(f"platforms[{index}].identifier", "identifier_conflict",
                        f"{identifier} is already filed and active under {other}; "
                        f"cancel that filing before filing it under {filing.service_licence}")


def duplicate_problem(filing: Filing) -> FieldProblem:
    return licence_duplicate_problem(filing.service_licence)


def licence_duplicate_problem(service_licence: str) -> FieldProblem:
    return FieldProblem("service_licence", "licence_duplicate",
                        f"{service_licence} appears more than once with different content in this import "
                        "(rows of one filing must be adjacent in CSV/XLSX)")


class MemoryRegistry:
    """Filings held in memory, indexed by (platform, identifier). Also a FilingSink for ``import_files``."""

    def __init__(self) -> None:
        self.filings: dict[str, Filing] = {}
        self._by_identity: dict[tuple[str, str], set[str]] = {}
        self._seen: set[str] = set()  # licences written by this registry's import (duplicate detection)

    @classmethod
    def from_files(cls, paths: Sequence[str | pathlib.Path],
                   on_problem: Callable[[FieldProblem], None] | None = None) -> MemoryRegistry:
        """Load filings files; any invalid record raises FilingsInvalid (a check must not run on half a file)."""
        registry = cls()
        try:
            import_files(paths, registry, on_problem=on_problem)
        except FilingsInvalid as exc:
            raise FilingsInvalid(f"the filings file has errors, so nothing was checked: {exc.message.split(';')[0]}",
                                 code=exc.code) from None
        return registry

    def filings_for(self, platform: str, identifier: str) -> list[Filing]:
        return [self.filings[s] for s in sorted(self._by_identity.get((platform, identifier), ()))]

    def write_batch(self, filings: Sequence[Filing | KnownRecord], source_keys: Sequence[str | None] | None = None,
                    ) -> list[str | list[FieldProblem]]:
        out: list[str | list[FieldProblem]] = []
        seen = self._seen
        for f in filings:
            if isinstance(f, KnownRecord):  # sent only to sinks that keep source keys (known_source_keys)
                raise TypeError("an in-memory registry keeps no source keys")
            old = self.filings.get(f.service_licence)
            if f.service_licence in seen and old != f:
                out.append([duplicate_problem(f)])
                continue
            conflicts = [conflict_problem(f, i, p.identifier, other)
                         for i, p in enumerate(f.platforms) if f.status == "active"
                         for other in self._by_identity.get((p.platform, p.identifier), ())
                         if other != f.service_licence and self.filings[other].status == "active"]
            if conflicts:
                out.append(conflicts)
                continue
            seen.add(f.service_licence)
            if old == f:
                out.append(UNCHANGED)
                continue
            if old is not None:
                for p in old.platforms:
                    self._by_identity.get((p.platform, p.identifier), set()).discard(f.service_licence)
            self.filings[f.service_licence] = f
            for p in f.platforms:
                self._by_identity.setdefault((p.platform, p.identifier), set()).add(f.service_licence)
            out.append(CHANGED if old is not None else CREATED)
        return out
