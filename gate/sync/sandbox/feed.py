"""The sandbox's filings feed: loading records from a file, checking their shape, and opaque cursors.

The feed is an append-only log of filing records (docs/filings.md "Record shape"); a record is the filing's full
current state, so a change or cancellation is simply a later record with the same ``service_licence``. A cursor
names a position in the log. Cursors are opaque to clients and tagged with an HMAC so that a forged or corrupted
one is refused (400) rather than silently read as "start again", which would replay the whole feed.

The sandbox only checks a record's basic shape: rehearsals may deliberately feed the gate odd values to see how its
sync job copes, so normalising here would hide exactly what is being rehearsed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
from typing import Any

from gate.errors import GateError

RECORD_STATUSES = ("active", "cancelled", "revoked")
CURSOR_PREFIX = "fc1"


class FeedError(GateError):
    """A feed file, record or cursor is not acceptable (code says which)."""

    code = "feed_invalid"


def record_problem(record: Any) -> str | None:
    """Why ``record`` is not a filing record in shape, or None."""
    if not isinstance(record, dict):
        return "a filing record must be a JSON object"
    licence = record.get("service_licence")
    if not isinstance(licence, str) or not licence.strip():
        return "service_licence must be a non-empty string"
    if "status" in record and record["status"] not in RECORD_STATUSES:
        return f"status must be one of {', '.join(RECORD_STATUSES)}"
    if "blacklisted" in record and not isinstance(record["blacklisted"], bool):
        return "blacklisted must be true or false"
    for member in ("platforms", "domains"):
        if member in record and not isinstance(record[member], list):
            return f"{member} must be an array"
    return None


def check_records(records: Any, *, source: str) -> list[dict]:
    """A list of records with valid shape, or FeedError naming the first bad one (by position, 1-based)."""
    if isinstance(records, dict) and isinstance(records.get("records"), list):
        records = records["records"]
    elif isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise FeedError(f"{source}: expected a JSON array of filing records", code="feed_invalid")
    for number, record in enumerate(records, 1):
        problem = record_problem(record)
        if problem:
            raise FeedError(f"{source}: record {number}: {problem}", code="record_invalid")
    return records


def load_feed_file(path: str | pathlib.Path) -> list[dict]:
    """Records from a JSON array (or ``{"records": [...]}``) or JSON Lines file."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"cannot read feed file {path}: {exc}", code="feed_unreadable") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            records = json.loads(text)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}: not JSON or JSON Lines: {exc}", code="feed_invalid") from None
    return check_records(records, source=str(path))


def encode_cursor(key: bytes, seq: int) -> str:
    payload = base64.urlsafe_b64encode(str(seq).encode("ascii")).decode("ascii").rstrip("=")
    return f"{CURSOR_PREFIX}.{payload}.{_tag(key, payload)}"


def decode_cursor(key: bytes, cursor: str) -> int:
    """The log position a cursor names; FeedError(code="cursor_invalid") if it is not one we issued."""
    parts = cursor.split(".")
    if len(parts) != 3 or parts[0] != CURSOR_PREFIX or not hmac.compare_digest(parts[2], _tag(key, parts[1])):
        raise FeedError("cursor is not one this feed issued", code="cursor_invalid")
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        seq = int(base64.urlsafe_b64decode(padded).decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise FeedError("cursor is not one this feed issued", code="cursor_invalid") from None
    return seq


def _tag(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).hexdigest()[:16]
