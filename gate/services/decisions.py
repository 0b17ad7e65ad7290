"""The one way a decision is made and kept: look up the filings, decide, record (issue #24).

Every caller — the command line, the store webhook and developer API (at once or through the worker), a repeated
upload, a person's review, the filings sync's re-evaluation, the open pre-check page — hands over the package's
facts and a ``CheckRequest`` saying who asks and what they declared. The platform comes from the facts alone (the
package's format says where its identity is filed), so two callers can never look a package up on two platforms.
The lookup, the decision and the stored check happen on one connection, inside the caller's transaction: the
stored filing version is the one the decision used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gate.decide import Decision, Policy, decide
from gate.extract.facts import PackageFacts
from gate.extract.formats import PLATFORMS
from gate.filings.records import Filing

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gate.db.checks import StoredFacts

# The caller-declared fields a check keeps, in the order they are stored (service_check.metadata_json) and hashed
# into the check id: the store webhook's ``metadata`` object (gate.api.body.METADATA_KEYS names the same four).
class FilingSource(Protocol):
    """Where decide_and_record looks filings up: the database, filing files (MemoryRegistry) or a BatchRegistry."""

    def filings_for(self, platform: str, identifier: str) -> list[Filing]: ...


DECLARED = ("store_app_id", "developer_entity", "callback_url", "category")


@dataclass(frozen=True)
class CheckRequest:
    """Who asks for a decision and what they declared beside the package.

    ``developer_entity``: the uploader's entity (step 6 compares it with the filing's); ``category``: the store's
    category of the app (step 10, content approvals); ``store_app_id`` and ``callback_url``: the store's, kept with
    the check (the app id is part of the check id); ``source``: the actor of the audit trail (``cli``,
    ``client:<name>``, ``staff:<user>``, ``sync``…); ``anonymous``: the open pre-check page — decided and audited,
    never stored as a check (stored facts of an anonymous upload must not stand for that app later).
    """

    developer_entity: str | None = None
    category: str | None = None
    store_app_id: str | None = None
    callback_url: str | None = None
    source: str = "cli"
    anonymous: bool = False

    @classmethod
    def declared(cls, metadata: dict[str, Any] | None, *, source: str, anonymous: bool = False) -> CheckRequest:
        """The request from a stored or received ``metadata`` object (absent and empty values are None)."""
        metadata = metadata or {}
        return cls(**{k: metadata.get(k) or None for k in DECLARED}, source=source, anonymous=anonymous)

    def metadata(self) -> dict[str, Any]:
        """The declared fields as stored with the check and hashed into its id: only those given, in that order."""
        return {k: getattr(self, k) for k in DECLARED if getattr(self, k)}


@dataclass(frozen=True)
class RecordedOutcome:
    """A decision and where it was kept: ``gate_check_id`` is None when nothing was stored (the pre-check page, or
    the command line deciding against filing files with no database)."""

    decision: Decision
    platform: str
    gate_check_id: int | None

    def stored_check_id(self) -> int:
        """The stored check's id, for callers that decided with a database connection (so always stored)."""
        if self.gate_check_id is None:
            raise ValueError("the decision was not recorded: it was taken without a database connection")
        return self.gate_check_id


class BatchRegistry:
    """Filings already looked up for a batch (a preinstall list or image: 500 identifiers a query), by platform
    and identifier, answering ``filings_for`` as a registry does."""

    def __init__(self, found: dict[str, dict[str, list[Filing]]]) -> None:
        self.found = found

    def filings_for(self, platform: str, identifier: str) -> list[Filing]:
        return self.found.get(platform, {}).get(identifier, [])


def platform_of(facts: PackageFacts) -> str:
    """The platform a package's identity is filed under: its own (by its format), Android when nothing tells."""
    return facts.platform or PLATFORMS.get(facts.format or "", "android")


def decide_and_record(conn: Connection | None, facts: PackageFacts, request: CheckRequest, *, policy: Policy,
                      registry: FilingSource | None = None, settle: Callable[[Decision], Decision] | None = None,
                      stored: StoredFacts | None = None) -> RecordedOutcome:
    """Look up the filings naming the package on its platform, decide, and record the check with its audit event.

    ``registry``: where the filings are (default: the database behind ``conn``; the command line's filing files
    otherwise). ``settle``: what a person's review makes of the engine's decision before it is recorded (it may
    refuse by raising). ``conn`` None: decide only (nothing to record in). ``stored``: the stored check's facts
    ``facts`` were loaded from (a decision taken again with no package at hand to read): a rule they are too old for
    is said (``facts_outdated``), and the new check keeps them as stored, with their schema (docs/filings.md).
    """
    # The database modules are imported here, not above: `gate check --filings` decides without loading the
    # database stack (tests/integration/test_imports.py).
    platform = platform_of(facts)
    if registry is None:
        if conn is None:  # nowhere to look the filings up: a caller's mistake, never an empty registry
            raise ValueError("decide_and_record needs a registry or a database connection")
        from gate.db.filings import DatabaseRegistry

        registry = DatabaseRegistry(conn)
    filings = registry.filings_for(platform, facts.package) if facts.package else []
    decision = decide(facts, filings, policy=policy, platform=platform, developer_entity=request.developer_entity,
                      category=request.category)
    if stored is not None and stored.facts is not facts:
        stored = None  # the facts were read again: they are today's
    if stored is not None:
        from gate.db.checks import note_outdated_facts

        decision = note_outdated_facts(decision, stored)
    if settle is not None:
        decision = settle(decision)
    if conn is None:
        return RecordedOutcome(decision, platform, None)
    from gate.db.audit import record_event
    from gate.db.checks import record_check

    if request.anonymous:
        record_event(conn, actor=request.source, action="precheck", subject=(facts.package or facts.path)[:255],
                     details={"verdict": decision.verdict, "reason_codes": [r.code for r in decision.reasons],
                              "package_sha256": facts.sha256,
                              **({"unpacked_sha256": facts.pairing.unpacked_sha256}
                                 if facts.pairing is not None else {}),
                              "filing_version_id": decision.filing.version_id if decision.filing is not None
                              else None})
        return RecordedOutcome(decision, platform, None)
    gate_check_id = record_check(conn, facts=facts, decision=decision, policy=policy, platform=platform,
                                 developer_entity=request.developer_entity, actor=request.source,
                                 category=request.category, stored=stored)
    return RecordedOutcome(decision, platform, gate_check_id)
