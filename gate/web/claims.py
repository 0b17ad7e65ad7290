"""Claiming a review item: "I am working on this one", shown to every other reviewer in the queue and on the
check's page, so two people do not review the same check. A claim lasts ``CLAIM_MINUTES`` and is released when
its holder approves, rejects or releases it; an expired claim is anybody's to take. Claiming and releasing are
audited (``review.claimed`` / ``review.released``).

While someone else holds a live claim, an approval or rejection of that check is refused (``review_claimed``):
the claim is the point of claiming. Bulk actions skip such checks and say so.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gate.db.audit import record_event
from gate.db.console_tables import ReviewClaim
from gate.db.tables import as_utc, table_of, utcnow
from gate.errors import GateError

C = table_of(ReviewClaim)
CLAIM_MINUTES = 30


class ClaimedByOther(GateError):
    code = "review_claimed"
    status = 409

    def __init__(self, message: str, *, holder: str, until: dt.datetime) -> None:
        super().__init__(message)
        self.holder, self.until = holder, until


def live_claims(conn: Connection, check_ids: list[str]) -> dict[str, tuple[str, dt.datetime]]:
    """{check_id: (username, expires_at)} of the unexpired claims among ``check_ids``."""
    if not check_ids:
        return {}
    now = utcnow()
    rows = conn.execute(select(C).where(C.c.check_id.in_(check_ids))).all()
    return {r.check_id: (r.username, as_utc(r.expires_at)) for r in rows if as_utc(r.expires_at) > now}


def claim(engine: Engine, check_id: str, username: str) -> dt.datetime:
    """Take (or renew) the claim; ClaimedByOther while another reviewer's claim is live. Returns its expiry."""
    now = utcnow()
    until = now + dt.timedelta(minutes=CLAIM_MINUTES)
    try:
        with engine.begin() as conn:
            held = conn.execute(select(C).where(C.c.check_id == check_id)).first()
            if held is None:
                conn.execute(insert(C), {"check_id": check_id, "username": username, "claimed_at": now,
                                         "expires_at": until})  # two at once: the second insert fails (key)
            # Take it over only if it is mine or expired: a conditional UPDATE, so two reviewers cannot both win.
            elif not conn.execute(update(C).where(C.c.check_id == check_id)
                                  .where((C.c.username == username) | (C.c.expires_at <= now))
                                  .values(username=username, claimed_at=now, expires_at=until)).rowcount:
                raise ClaimedByOther(f"{held.username} is reviewing this check until "
                                     f"{as_utc(held.expires_at).isoformat()}", holder=held.username,
                                     until=as_utc(held.expires_at))
            record_event(conn, actor=f"staff:{username}", action="review.claimed", subject=check_id,
                         details={"until": until.isoformat()})
    except IntegrityError:
        with engine.connect() as conn:
            ensure_not_claimed_by_other(conn, check_id, username)
        raise
    return until


def release(engine: Engine, check_id: str, username: str, *, audit: bool = True) -> None:
    with engine.begin() as conn:
        gone = conn.execute(delete(C).where(C.c.check_id == check_id, C.c.username == username)).rowcount
        if gone and audit:
            record_event(conn, actor=f"staff:{username}", action="review.released", subject=check_id, details={})


def ensure_not_claimed_by_other(conn: Connection, check_id: str, username: str) -> None:
    found = live_claims(conn, [check_id]).get(check_id)
    if found and found[0] != username:
        raise ClaimedByOther(f"{found[0]} is reviewing this check until {found[1].isoformat()}",
                             holder=found[0], until=found[1])
