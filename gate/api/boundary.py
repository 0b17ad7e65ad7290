"""A multipart decoder that finds its boundary without compiling regular expressions for each body.

werkzeug's ``MultipartDecoder`` compiles two regular expressions per body, each with the body's boundary written
into it. Clients choose a fresh random boundary for every request (requests, curl, browsers), so Python's pattern
cache never hits and every upload paid both compilations: 0.2–0.7 ms of CPU, several percent of a small check.

``BoundaryPattern`` finds what those expressions find — the first ``--boundary`` with its line-break prefix and
its closing suffix — with ``bytes.find`` and one expression compiled at import, and returns the same start, end and
group. ``FastMultipartDecoder`` is werkzeug's decoder with these two patterns in place of the compiled ones; every
other step of the decoding is werkzeug's own. tests/unit/test_multipart_boundary.py holds both to werkzeug: the
patterns against the expressions werkzeug compiles, the decoder's events against werkzeug's decoder, and the
decoder's attributes against the ones werkzeug's constructor sets (a werkzeug release that adds state fails there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from werkzeug.sansio.multipart import MultipartDecoder, State

# werkzeug's expressions are LINE_BREAK? "--" boundary SUFFIX (the preamble's) and LINE_BREAK "--" boundary SUFFIX
# (between parts); SUFFIX is the one group, "--" and blanks for the closing boundary, or blanks and a line break.
_LINE_BREAK = b"(?:\r\n|\n|\r)"
_SUFFIX = re.compile(rb"(--[^\S\n\r]*%s?|[^\S\n\r]*%s)" % (_LINE_BREAK, _LINE_BREAK))
_CR, _LF = 13, 10
# Occurrences of ``--boundary`` that were not a boundary, per body, before the search hands over to werkzeug's
# compiled expression: each costs a Python step here, so a body built of near-boundaries (a hostile upload) would
# cost 3-4x werkzeug's CPU; after this many, it costs werkzeug's (plus the two compilations this module avoids).
MAX_MISSES = 64


class BoundaryMatch:
    """What werkzeug's decoder reads of a match: ``start()``, ``end()`` and ``group(1)`` (the suffix)."""

    __slots__ = ("_start", "_end", "_suffix")

    def __init__(self, start: int, end: int, suffix: bytes) -> None:
        self._start, self._end, self._suffix = start, end, suffix

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, index: int) -> bytes:
        if index != 1:
            raise IndexError("a boundary match has one group")
        return self._suffix


class BoundaryPattern:
    """``search(data, pos)`` as werkzeug's compiled boundary expression answers it (leftmost match, same span).

    A match's line break comes right before ``--boundary``: the leftmost start is two bytes before it for CR LF,
    one for a lone CR or LF, none when the break is optional and absent; a start may not precede ``pos``. A later
    occurrence of ``--boundary`` cannot start further left than an earlier one (its bytes begin with ``-``, never a
    line break), so the first occurrence that matches is the leftmost match.
    """

    __slots__ = ("_marker", "_break_required", "_misses", "_compile", "_compiled")

    def __init__(self, boundary: bytes, *, line_break_required: bool,
                 compile: Callable[[], re.Pattern[bytes]]) -> None:
        self._marker = b"--" + boundary
        self._break_required = line_break_required
        self._misses = 0
        self._compile = compile  # werkzeug's own expression, for a body of many near-boundaries (``MAX_MISSES``)
        self._compiled: re.Pattern[bytes] | None = None

    def search(self, data: bytes | bytearray, pos: int = 0) -> BoundaryMatch | re.Match[bytes] | None:
        if self._compiled is not None:
            return self._compiled.search(data, pos)
        marker = self._marker
        at = data.find(marker, pos)
        while at != -1:
            suffix = _SUFFIX.match(data, at + len(marker))
            if suffix is not None:
                if at - 2 >= pos and data[at - 2] == _CR and data[at - 1] == _LF:
                    start: int | None = at - 2
                elif at - 1 >= pos and data[at - 1] in (_CR, _LF):
                    start = at - 1
                else:
                    start = None if self._break_required else at
                if start is not None:
                    return BoundaryMatch(start, suffix.end(), bytes(suffix.group(1)))
            self._misses += 1
            if self._misses > MAX_MISSES:
                self._compiled = self._compile()
                return self._compiled.search(data, pos)
            at = data.find(marker, at + 1)
        return None


class FastMultipartDecoder(MultipartDecoder):
    """werkzeug's decoder, its two per-body expressions replaced by BoundaryPatterns (see the module docstring).

    The constructor sets what werkzeug's sets (werkzeug 3.1), without calling it: calling it is what compiles.
    """

    def __init__(self, boundary: bytes, max_form_memory_size: int | None = None, *,
                 max_parts: int | None = None) -> None:
        self.buffer = bytearray()
        self.complete = False
        self.max_form_memory_size = max_form_memory_size
        self.max_parts = max_parts
        self.state = State.PREAMBLE
        self.boundary = boundary
        # Read by werkzeug's next_event/_parse_data as compiled patterns; only .search() is called on them.
        werkzeug = cache(lambda: MultipartDecoder(boundary))  # built only for a body of near-boundaries
        self.preamble_re = BoundaryPattern(  # type: ignore[assignment]
            boundary, line_break_required=False, compile=lambda: werkzeug().preamble_re)
        self.boundary_re = BoundaryPattern(  # type: ignore[assignment]
            boundary, line_break_required=True, compile=lambda: werkzeug().boundary_re)
        self._search_position = 0
        self._parts_decoded = 0
