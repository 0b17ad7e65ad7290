"""Keyset paging, sorting and bounded counts for every console list (stable under inserts, fast at 6 M rows).

A page is "the ``size`` rows after (or before) this row in this order", never "rows 2001–2050": an offset gets
slower the deeper it goes and shifts when rows arrive, a keyset does neither. The order is one sortable column plus
a unique tie-breaker (the primary key), compared as a row value ``(sort, tie) > (v, t)`` so an index on
``(sort, tie)`` — or on ``sort`` alone — answers it.

The URL carries the state, so every page can be bookmarked and followed by tools:

- ``sort=created`` / ``sort=-created`` (descending) — one of the list's declared keys;
- ``after=CURSOR`` (the next page), ``before=CURSOR`` (the previous page), ``page=last``;
- the links are rendered with ``rel="next"`` / ``rel="prev"`` / ``rel="first"`` / ``rel="last"``.

A cursor is the sort value and tie-breaker of the edge row, as base64url JSON; it is only ever compared, so a
forged cursor just lands somewhere in the list. Counts are exact up to ``COUNT_BOUND`` and said to be bounded
beyond it ("10000+"): an exact count of millions of rows costs more than the page itself.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import flask
from sqlalchemy import bindparam, func, literal_column, select, tuple_
from sqlalchemy.sql import ColumnElement, Select

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_BOUND = 10_000
EXPORT_ROWS = 10_000  # rows per CSV file (gate.web.export)
CURSOR_ARGS = ("after", "before", "page")


@dataclass(frozen=True)
class Sort:
    """A sortable column: ``key`` in the URL, the SQL expression (never NULL: coalesce a nullable column)."""

    key: str
    column: ColumnElement
    descending_first: bool = False  # a click on its header sorts newest/largest first


@dataclass
class Page:
    rows: list
    sort: str  # the key in force
    descending: bool
    size: int
    next_url: str | None = None
    prev_url: str | None = None
    first_url: str | None = None
    last_url: str | None = None
    count: int = 0
    count_bounded: bool = False  # True: there are more than ``count`` rows
    filtered: bool = False  # a filter narrowed the list (for "nothing matches these filters")
    links: dict = field(default_factory=dict)

    @property
    def count_text(self) -> str:
        return f"{self.count}+" if self.count_bounded else str(self.count)

    def sort_url(self, key: str, descending_first: bool = False) -> str:
        """The header link: the same list sorted by ``key``; on the current key it flips the direction."""
        if key == self.sort:
            descending = not self.descending
        else:
            descending = descending_first
        return page_url(sort=("-" if descending else "") + key)

    def aria_sort(self, key: str) -> str | None:
        if key != self.sort:
            return None
        return "descending" if self.descending else "ascending"


def page_url(**changes) -> str:
    """This list's URL with its filters kept, the cursor dropped, and ``changes`` applied (None removes)."""
    endpoint = flask.request.endpoint
    if endpoint is None:  # only a routed list page has filters to keep; an error page has none
        raise RuntimeError("page_url is for a list page (a request that matched a route)")
    args: dict[str, Any] = {k: v for k, v in flask.request.args.items() if k not in CURSOR_ARGS}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return flask.url_for(endpoint, **(flask.request.view_args or {}), **args)


def _encode(value) -> str:
    if isinstance(value, dt.datetime):
        # Stored UTC; SQLite keeps naive UTC text, so the cursor is naive-UTC ISO on every database.
        value = {"t": (value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value)
                 .isoformat()}
    return value


def encode_cursor(sort_value, tie_value) -> str:
    raw = json.dumps([_encode(sort_value), _encode(tie_value)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(value):
    if isinstance(value, dict) and isinstance(value.get("t"), str):
        parsed = dt.datetime.fromisoformat(value["t"])
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise ValueError("not a cursor value")


def decode_cursor(text: str) -> tuple | None:
    """(sort value, tie value), or None for anything that is not a cursor (then the list starts at the top)."""
    if not text or len(text) > 1024:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8"))
        if not isinstance(values, list) or len(values) != 2:
            return None
        return _decode(values[0]), _decode(values[1])
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        return None


def requested_size() -> int:
    if flask.request.args.get("format") == "csv":
        return EXPORT_ROWS
    value = flask.request.args.get("size", "")
    if value.isdigit() and len(value) < 5:
        return max(1, min(int(value), MAX_PAGE_SIZE))
    return PAGE_SIZE


def chosen_sort(sorts: list[Sort], default: str) -> tuple[Sort, bool]:
    asked = flask.request.args.get("sort", "") or default
    descending = asked.startswith("-")
    found = next((s for s in sorts if s.key == asked.lstrip("-")), None)
    if found is None:
        asked = default
        descending = default.startswith("-")
        found = next(s for s in sorts if s.key == default.lstrip("-"))
    return found, descending


def bounded_count(conn, query: Select, bound: int | None = None,
                  order: Sequence[ColumnElement] = ()) -> tuple[int, bool]:
    """How many rows ``query`` matches, counting at most ``bound`` + 1 of them.

    ``order`` is an index's order that the filters pin to a few index entries (an exact package: its entries of
    ``(package, check_id)``). Without it PostgreSQL may stop a sequential scan after ``bound`` + 1 matches, which it
    prices as if the matches were spread evenly over the table; one package's checks are not, and that scan read
    290 ms of the table at 6 M checks where the index holds the 10,001 entries side by side."""
    bound = COUNT_BOUND if bound is None else bound
    # Only the filters matter, not the listed columns: a bare SELECT 1 lets PostgreSQL count from an index alone
    # (an index-only scan, or a bitmap scan that skips all-visible pages) and drop a LEFT JOIN no filter uses.
    inner = (query.with_only_columns(literal_column("1"), maintain_column_froms=True)
             .order_by(None).order_by(*order).limit(bound + 1).subquery())
    n = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    return (bound, True) if n > bound else (n, False)


def paginate(conn, query: Select, *, sorts: list[Sort], default: str, tie: ColumnElement,
             filtered: bool = False, count: bool = True, count_order: Sequence[ColumnElement] = ()) -> Page:
    """One page of ``query`` (a select with its joins and filters, no order or limit) as the URL asks."""
    sort, descending = chosen_sort(sorts, default)
    size = requested_size()
    args = flask.request.args
    after = decode_cursor(args.get("after", ""))
    before = decode_cursor(args.get("before", "")) if after is None else None
    last = args.get("page") == "last" and after is None and before is None
    # Reading backwards (the previous page, or the last one) runs the reversed order and flips the rows after.
    backwards = before is not None or last
    reverse = descending != backwards
    keyed = query.add_columns(sort.column.label("_page_sort"), tie.label("_page_tie"))
    edge = after or before
    if edge is not None:
        # Bound with the columns' own types: SQLite compares datetimes as text in SQLAlchemy's format.
        key = tuple_(sort.column, tie)
        edge_value = tuple_(bindparam(None, edge[0], type_=sort.column.type), bindparam(None, edge[1], type_=tie.type))
        keyed = keyed.where(key < edge_value if reverse else key > edge_value)
    order = (sort.column.desc(), tie.desc()) if reverse else (sort.column.asc(), tie.asc())
    rows = conn.execute(keyed.order_by(*order).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = Page(rows=rows, sort=sort.key, descending=descending, size=size, filtered=filtered)
    if rows:
        first_key = encode_cursor(rows[0]._page_sort, rows[0]._page_tie)
        last_key = encode_cursor(rows[-1]._page_sort, rows[-1]._page_tie)
        has_next = (more and not backwards) or before is not None
        has_prev = (more and backwards) or after is not None
        if has_next:
            page.next_url = page_url(after=last_key)
            page.last_url = page_url(page="last")
        if has_prev:
            page.prev_url = page_url(before=first_key)
            page.first_url = page_url()
    if count and flask.request.args.get("format") != "csv":
        page.count, page.count_bounded = bounded_count(conn, query, order=count_order)
    return page
