"""The developer pre-check's results kept for a permanent, private, expiring URL (``/precheck/r/<token>``).

Private: reading one needs the token in the URL **and** the uploader's browser cookie (``gate_precheck``, set with
the first upload); only the SHA-256 of each is stored, so neither a leaked URL nor a database dump opens a result.
Expiring: ``KEEP_DAYS`` after the upload the row is gone (expired rows are deleted as new ones arrive).

Also here: what a developer should add to their filing — the package's first-party domains and public IPs that
the matched filing (if any) does not list, kept apart from the third-party SDKs' hosts (their vendors file them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from gate.coverage import check_coverage
from gate.db.console_tables import PrecheckResult
from gate.db.filings import DatabaseRegistry
from gate.db.tables import as_utc, table_of, utcnow
from gate.extract.facts import PackageFacts
from gate.extract.network.addresses import canonical_ip
from gate.hosts import host_rows

P = table_of(PrecheckResult)
KEEP_DAYS = 7
OWNER_COOKIE = "gate_precheck"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_owner() -> str:
    return secrets.token_urlsafe(32)


def valid_owner(value: str | None) -> str | None:
    return value if value and 20 <= len(value) <= 64 else None


def keep(engine: Engine, *, owner: str, filename: str, facts: PackageFacts, decision: dict[str, Any]) -> tuple[str, dt.datetime]:
    """Store a result; returns (the URL token, when it expires)."""
    token, now = secrets.token_urlsafe(24), utcnow()
    expires = now + dt.timedelta(days=KEEP_DAYS)
    with engine.begin() as conn:
        conn.execute(delete(P).where(P.c.expires_at < now))
        conn.execute(insert(P), {"token_sha256": _sha(token), "owner_sha256": _sha(owner), "filename": filename[:255],
                                 "facts": json.dumps(facts.as_dict(), ensure_ascii=False),
                                 "decision": json.dumps(decision, ensure_ascii=False),
                                 "created_at": now, "expires_at": expires})
    return token, expires


def load(engine: Engine, *, token: str, owner: str | None
         ) -> tuple[PackageFacts, dict[str, Any], str, dt.datetime] | None:
    """(facts, decision, filename, expires_at) of a live result this browser uploaded, else None."""
    if not owner or not token or len(token) > 64:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.token_sha256 == _sha(token))).first()
    if row is None or row.owner_sha256 != _sha(owner) or as_utc(row.expires_at) <= utcnow():
        return None
    return PackageFacts.from_dict(json.loads(row.facts)), json.loads(row.decision), row.filename, as_utc(row.expires_at)


def to_file(engine: Engine, facts: PackageFacts, decision: dict[str, Any] | None) -> dict[str, Any]:
    """{"domains": [...], "ips": [...], "third_party": [(sdk, host), ...], "filing": licence or None}: what to add
    to the filing (first-party, not yet listed) and what the SDK vendors file."""
    licence = (decision or {}).get("filing", {}) or {}
    licence = licence.get("service_licence") if isinstance(licence, dict) else None
    filed: list[str] = []
    if licence:
        with engine.connect() as conn:
            history = DatabaseRegistry(conn).history(licence)
        filed = list(history[-1].domains) if history else []
    cov = check_coverage(facts.network, filed)
    domains = sorted({h.registrable_domain or h.host for h in cov.uncovered_hosts})
    ips = sorted({canonical_ip(i.ip) or i.ip for i in cov.uncovered_ips})
    third = sorted({(h.third_party, h.host) for h in cov.third_party_hosts})
    return {"domains": domains, "ips": ips, "third_party": third, "filing": licence,
            "hosts": host_rows(facts.network, filed if licence else None)}
