"""The sandbox regulator's filing applications (代为备案): receive, decide by a configured script, publish approvals.

A platform files an app on its developer's behalf with ``POST /v1/filings/applications`` (signed, idempotent like
reports) and follows it with ``GET /v1/filings/applications/<id>``. A returned application (退回补正) is corrected
with ``POST /v1/filings/applications/<id>/corrections``. An approval appends the new filing to the feed, which is
how it reaches every platform's registry.

The outcome of each round is scripted (``ApplicationScript``): ``outcomes`` is consumed one per round (the last one
repeats), and an outcome becomes visible ``delay`` seconds after the round was submitted, so clients meet the
"still submitted" state they must poll through. Outcomes are decided lazily, on the next read, under the store lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field

from gate.errors import GateError

OUTCOMES = ("approved", "returned", "rejected")
REQUIRED = ("platform", "identifier", "service_name", "unit_name", "contacts")
MAX_APPLICATION_BYTES = 1 << 20
SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    status TEXT NOT NULL,
    round INTEGER NOT NULL,
    round_submitted_ts REAL NOT NULL,
    body TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    service_licence TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS application_requests (
    platform_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    application_id TEXT NOT NULL,
    PRIMARY KEY (platform_id, idempotency_key)
);
"""
RETURN_REASON = {"field": "contacts", "code": "contact_unverified",
                 "message": "主体负责人联系方式核验未通过，请核实后补正 / the responsible person's contact could not be "
                            "verified: correct it and resubmit"}
REJECT_REASON = {"field": "service_name", "code": "content_not_permitted",
                 "message": "服务内容不符合备案要求，不予备案 / the service is not eligible for filing"}


class ApplicationRejected(GateError):
    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass
class ApplicationScript:
    """``outcomes``: one per round (approved | returned | rejected), the last repeats; ``delay``: seconds a round
    stays ``submitted`` before its outcome shows."""

    outcomes: tuple[str, ...] = ("approved",)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.outcomes or any(o not in OUTCOMES for o in self.outcomes):
            raise ValueError(f"outcomes must be a non-empty list of {', '.join(OUTCOMES)}")

    def outcome(self, round_number: int) -> str:
        return self.outcomes[min(round_number, len(self.outcomes)) - 1]


def _now() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")


def parse_application(raw: bytes) -> dict:
    """The JSON object of an application, or 400/422 naming what is wrong."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApplicationRejected("the body is not JSON", code="application_malformed", status=400) from None
    if not isinstance(body, dict):
        raise ApplicationRejected("the body is not a JSON object", code="application_malformed", status=400)
    for name in REQUIRED:
        if body.get(name) in (None, "", []):
            raise ApplicationRejected(f"missing {name}", code="application_invalid", status=422)
    if not isinstance(body["contacts"], list) or not all(isinstance(c, dict) and c.get("name")
                                                          for c in body["contacts"]):
        raise ApplicationRejected("contacts is a list of objects with a name", code="application_invalid",
                                  status=422)
    return body


class ApplicationDesk:
    """The regulator's application desk over the sandbox store's SQLite file."""

    def __init__(self, store, script: ApplicationScript) -> None:
        self.store, self.script = store, script  # the tables are created with the store's (SCHEMA)

    def submit(self, *, platform_id: str, key: str, raw: bytes,
               application_id: str | None = None) -> tuple[dict, bool]:
        """A new application (``application_id`` None) or a correction of a returned one: (answer, replayed)."""
        body = parse_application(raw)
        digest = hashlib.sha256(raw).hexdigest()
        with self.store.transaction() as conn:
            seen = conn.execute("SELECT body_sha256, application_id FROM application_requests "
                                "WHERE platform_id = ? AND idempotency_key = ?", (platform_id, key)).fetchone()
            if seen is not None:
                if seen[0] != digest:
                    raise ApplicationRejected("this Idempotency-Key was already used for a different body",
                                              code="idempotency_key_reused", status=409)
                return self._answer(conn, seen[1], platform_id), True
            if application_id is None:
                application_id = "APP-" + uuid.uuid4().hex[:16].upper()
                conn.execute("INSERT INTO applications (id, platform_id, status, round, round_submitted_ts, body, "
                             "updated_at) VALUES (?, ?, 'submitted', 1, ?, ?, ?)",
                             (application_id, platform_id, time.time(), json.dumps(body, ensure_ascii=False),
                              _now()))
            else:
                row = self._row(conn, application_id, platform_id)
                self._settle(conn, row)
                status = conn.execute("SELECT status FROM applications WHERE id = ?", (application_id,)).fetchone()[0]
                if status != "returned":
                    raise ApplicationRejected(f"application {application_id} is {status}, not returned for "
                                              "correction", code="application_not_returned", status=409)
                conn.execute("UPDATE applications SET status = 'submitted', round = round + 1, round_submitted_ts = ?,"
                             " body = ?, reasons = '[]', updated_at = ? WHERE id = ?",
                             (time.time(), json.dumps(body, ensure_ascii=False), _now(), application_id))
            conn.execute("INSERT INTO application_requests VALUES (?, ?, ?, ?)",
                         (platform_id, key, digest, application_id))
            return self._answer(conn, application_id, platform_id), False

    def status(self, application_id: str, platform_id: str) -> dict:
        with self.store.transaction() as conn:
            row = self._row(conn, application_id, platform_id)
            self._settle(conn, row)
            return self._answer(conn, application_id, platform_id, full=True)

    def all(self) -> list[dict]:
        with self.store.transaction() as conn:
            ids = conn.execute("SELECT id, platform_id FROM applications ORDER BY rowid").fetchall()
            for application_id, platform_id in ids:
                self._settle(conn, self._row(conn, application_id, platform_id))
            return [self._answer(conn, a, p, full=True) | {"platform_id": p} for a, p in ids]

    # -- inside a transaction --------------------------------------------------------------------------------

    @staticmethod
    def _row(conn: sqlite3.Connection, application_id: str, platform_id: str) -> tuple:
        row = conn.execute("SELECT id, status, round, round_submitted_ts, body FROM applications "
                           "WHERE id = ? AND platform_id = ?", (application_id, platform_id)).fetchone()
        if row is None:  # another platform's application is not confirmed either
            raise ApplicationRejected(f"no application {application_id}", code="application_not_found", status=404)
        return row

    def _settle(self, conn: sqlite3.Connection, row: tuple) -> None:
        """Apply the scripted outcome of a submitted round once its delay has passed."""
        application_id, status, round_number, submitted_ts, body = row
        if status != "submitted" or time.time() < submitted_ts + self.script.delay:
            return
        outcome = self.script.outcome(round_number)
        licence, reasons = None, []
        if outcome == "approved":
            licence = self._publish(conn, json.loads(body))
        else:
            reasons = [RETURN_REASON if outcome == "returned" else REJECT_REASON]
        conn.execute("UPDATE applications SET status = ?, reasons = ?, service_licence = ?, updated_at = ? "
                     "WHERE id = ?", (outcome, json.dumps(reasons, ensure_ascii=False), licence, _now(),
                                      application_id))

    @staticmethod
    def _publish(conn: sqlite3.Connection, body: dict) -> str:
        """Number the approved filing and append it to the feed (the path to every registry)."""
        serial = conn.execute("SELECT COUNT(*) FROM applications WHERE service_licence IS NOT NULL").fetchone()[0]
        year = dt.date.today().year
        main = body.get("main_licence") or f"京ICP备{year}{900001 + serial:06d}号"
        licence = f"{main}-1A"
        record = {"service_licence": licence, "main_licence": main, "service_type": "app",
                  "service_name": body["service_name"], "unit_name": body["unit_name"],
                  "unit_nature": body.get("unit_nature"), "status": "active",
                  "approved_at": dt.date.today().isoformat(), "blacklisted": False,
                  "platforms": [{"platform": body["platform"], "identifier": body["identifier"],
                                 "public_key": body.get("public_key"), "signature_md5": body.get("signature_md5")}],
                  "domains": list(body.get("domains") or []),
                  "content_approvals": list(body.get("content_approvals") or [])}
        conn.execute("INSERT INTO feed (record) VALUES (?)", (json.dumps(record, ensure_ascii=False,
                                                                          separators=(",", ":")),))
        return licence

    @staticmethod
    def _answer(conn: sqlite3.Connection, application_id: str, platform_id: str, *, full: bool = False) -> dict:
        status, reasons, licence, updated = conn.execute(
            "SELECT status, reasons, service_licence, updated_at FROM applications WHERE id = ?",
            (application_id,)).fetchone()
        answer = {"application_id": application_id, "status": status}
        if full:
            answer.update({"reasons": json.loads(reasons), "service_licence": licence, "updated_at": updated})
        return answer
