"""Reviews: a person approves or rejects a check the engine answered with ``review``.

What an outcome means, and what it never means:
- It is recorded for exactly one check: one store's upload of one package (its SHA-256 **and** its verified signers,
  the identity) with the same metadata (gate.services.checks derives the check id from those). Another
  digest, other signers, another store or another uploader's entity is a new check that needs its own review.
- It only ever settles a ``review``. Before recording, the stored facts are decided again against today's filings;
  if that now blocks (steps 1-5 of gate.decide: unreadable, unsigned, unfiled, cancelled or blacklisted, key
  mismatch — or a policy step set to block) an approval is refused (``review_blocked``). When the store re-sends
  the same upload, the newest outcome applies only while the engine still answers ``review`` (``apply_reviews``),
  so a filing cancelled after the approval blocks again.
- Approve -> ``allow`` with the reason ``review_approved``; reject -> ``block`` with ``review_rejected``; the
  engine's own reasons stay beside it. The outcome is a new stored decision (gate_check) in the same transaction as
  the check_review row, the audit event and the store's signed ``check.reviewed`` callback (gate's callback outbox).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine, Row

from gate.beijing_time import beijing_iso
from gate.db.audit import record_event
from gate.db.checks import decided, load_facts
from gate.db.console_tables import CheckReview
from gate.db.service_tables import ApiClient, ServiceCheck
from gate.db.tables import Check, as_utc, table_of, utcnow
from gate.decide import Decision, Policy, Reason, reason
from gate.errors import GateError, UsageError
from gate.extract.facts import PackageFacts
from gate.services.callbacks import queue_callback
from gate.services.decisions import CheckRequest, decide_and_record

R = table_of(CheckReview)
SC = table_of(ServiceCheck)
GC = table_of(Check)
OUTCOMES = ("approved", "rejected")
MAX_COMMENT = 4000
REVIEWED_EVENT = "check.reviewed"


class ReviewRefused(GateError):
    code = "review_refused"
    status = 409


def identity(facts: PackageFacts) -> str:
    """The verified signers as stored with a review: sorted SHA-256s, space-separated."""
    return " ".join(sorted(s.cert_sha256 for s in facts.signature.signers))


def _outcome_reason(outcome: str, *, reviewer: str, at: dt.datetime, comment: str, package_sha256: str) -> Reason:
    code = "review_approved" if outcome == "approved" else "review_rejected"
    return reason(code, reviewer=reviewer, at=beijing_iso(at), comment=comment,
                  package_sha256=package_sha256)


def settle(decision: Decision, *, outcome: str, reviewer: str, at: dt.datetime, comment: str,
           package_sha256: str) -> Decision:
    """The decision a review outcome gives: the engine's reasons plus the reviewer's, allow or block."""
    why = _outcome_reason(outcome, reviewer=reviewer, at=at, comment=comment, package_sha256=package_sha256)
    return dataclasses.replace(decision, verdict="allow" if outcome == "approved" else "block",
                               reasons=(*decision.reasons, why))


def apply_reviews(decision: Decision, facts: PackageFacts, reviews: Sequence[Row[*tuple[Any, ...]]]) -> Decision:
    """Pure: the newest of a check's reviews that names exactly this package (digest + signers) settles a
    ``review`` decision; anything else is returned unchanged."""
    if decision.verdict != "review" or not facts.sha256 or not facts.signature.verified:
        return decision
    mine = [r for r in reviews if r.package_sha256 == facts.sha256 and r.signers == identity(facts)]
    if not mine:
        return decision
    newest = max(mine, key=lambda r: (as_utc(r.at), r.id))
    return settle(decision, outcome=newest.outcome, reviewer=newest.reviewer, at=newest.at, comment=newest.comment,
                  package_sha256=facts.sha256)


def reviews_of_check(conn: Connection, check_id: str) -> Sequence[Row[*tuple[Any, ...]]]:
    return conn.execute(select(R).where(R.c.check_id == check_id).order_by(R.c.at)).all()


def record_review(engine: Engine, *, check_id: str, outcome: str, comment: str, reviewer: str,
                  policy: Policy) -> dict[str, Any]:
    """Settle a pending review; returns the new decision (as answered to the store). One transaction."""
    if outcome not in OUTCOMES:
        raise UsageError("the outcome is approved or rejected", code="review_outcome_invalid")
    comment = (comment or "").strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise UsageError(f"a review needs a comment (1 to {MAX_COMMENT} characters)", code="review_comment_missing")
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(SC).where(SC.c.check_id == check_id)).first()
        if row is None or row.status != "done" or row.verdict != "review" or row.gate_check_id is None:
            raise ReviewRefused(f"check {check_id} is not waiting for a review", code="review_not_pending")
        stored = conn.execute(select(GC).where(GC.c.id == row.gate_check_id)).one()  # a foreign key: it exists
        kept = load_facts(stored.facts, stored.facts_schema)
        facts = kept.facts
        metadata = json.loads(row.metadata_json or "{}")

        def reviewed(fresh: Decision) -> Decision:
            # The engine's own answer today (earlier reviews left out: this review may overturn one). The package is
            # not kept: facts too old for a rule have said so (facts_outdated) for the reviewer to weigh.
            if outcome == "approved" and fresh.verdict == "block":
                codes = ", ".join(r.code for r in fresh.reasons if r.severity == "block")
                raise ReviewRefused(f"the package now blocks ({codes}); an approval never overrides a block",
                                    code="review_blocked")
            return settle(fresh, outcome=outcome, reviewer=reviewer, at=now, comment=comment,
                          package_sha256=facts.sha256 or "")

        recorded = decide_and_record(conn, facts, CheckRequest.declared(metadata, source=f"staff:{reviewer}"),
                                     policy=policy, settle=reviewed, stored=kept)
        settled, new_id = recorded.decision, recorded.stored_check_id()
        # Two reviewers at once: the first one's update moves the verdict, the second finds nothing to settle.
        moved = conn.execute(update(SC).where(SC.c.check_id == check_id, SC.c.verdict == "review").values(
            {**decided(new_id, facts, settled), "updated_at": now})).rowcount
        if moved != 1:
            raise ReviewRefused(f"check {check_id} was settled by someone else meanwhile", code="review_not_pending")
        conn.execute(insert(R), {"check_id": check_id, "gate_check_id": row.gate_check_id,
                                 "result_gate_check_id": new_id, "package_sha256": facts.sha256 or "",
                                 "package": facts.package, "signers": identity(facts), "outcome": outcome,
                                 "comment": comment, "reviewer": reviewer, "at": now})
        review = {"outcome": outcome, "reviewer": reviewer, "comment": comment, "at": beijing_iso(now)}
        answer = {**settled.as_dict(), "check_id": check_id, "status": "done", "review": review}
        client = conn.execute(select(table_of(ApiClient)).where(table_of(ApiClient).c.id == row.client_id)).first()
        url = metadata.get("callback_url") or (client.callback_url if client is not None else None)
        if url:
            queue_callback(conn, client_id=row.client_id, check_id=check_id, url=url,
                           body={"event": REVIEWED_EVENT, **answer})
        record_event(conn, actor=f"staff:{reviewer}", action=f"review.{outcome}", subject=facts.package or check_id,
                     details={"check_id": check_id, "verdict": settled.verdict, "comment": comment,
                              "package_sha256": facts.sha256, "gate_check_id": new_id, "callback": bool(url)})
    return answer
