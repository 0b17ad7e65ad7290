"""Reads a distribution report's JSON body item by item, so a million-item report never becomes one Python list.

The report is a JSON object whose ``events`` and ``inventory`` members are arrays of small objects. The standard
``json`` module only decodes whole documents, so this walks the top-level object by hand and decodes each member
value and each array element with ``JSONDecoder.raw_decode`` on a sliding text window. Key order is free; any
other member must be a scalar or a small value. A single value may not exceed ``MAX_VALUE_CHARS``: that bounds the
window (and so memory) whatever the body holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

STREAMED_ARRAYS = ("events", "inventory")
MAX_VALUE_CHARS = 1 << 20  # 1 Mi characters for one member value or one array element
READ_CHARS = 1 << 18
_WHITESPACE = " \t\n\r"


class ReportSyntaxError(ValueError):
    """The body is not a JSON object of the expected shape (message says where)."""


class TextSource(Protocol):
    """Where a report's text comes from: a text file, or a UTF-8 reader over the request body (codecs)."""

    def read(self, size: int = ..., /) -> str: ...


class _Window:
    """A sliding window of text over a character stream."""

    def __init__(self, text: TextSource) -> None:
        self._text = text
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._text.read(READ_CHARS)
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos:] + chunk
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next non-whitespace character, not consumed ("" at the end)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise ReportSyntaxError(f"expected {expected!r}, found {found or 'end of body'!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next JSON value, widening the window until it is complete (or too large)."""
        if not self.peek():
            raise ReportSyntaxError("unexpected end of body")
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._room_to_grow() and self._fill():
                    continue
                raise ReportSyntaxError(f"invalid JSON value: {exc.msg}") from None
            # A number at the window's edge may continue in the next chunk ("12" of "123"): widen and retry.
            if end == len(self._buf) and self._room_to_grow() and self._fill():
                continue
            self._pos = end
            return obj

    def _room_to_grow(self) -> bool:
        return len(self._buf) - self._pos <= MAX_VALUE_CHARS


def iter_report(stream: TextSource) -> Iterator[tuple[str, str, Any]]:
    """Yield ``("field", name, value)`` for other members, and for ``events``/``inventory`` first
    ``("array", name, None)`` then ``("item", name, element)`` per element, in body order.

    Raises ReportSyntaxError on malformed input or duplicate members; a non-array ``events``/``inventory``
    is a syntax error too."""
    window = _Window(stream)
    window.take("{")
    seen: set[str] = set()
    if window.peek() == "}":
        window.take("}")
    else:
        while True:
            name = window.value()
            if not isinstance(name, str):
                raise ReportSyntaxError("object member name is not a string")
            if name in seen:
                # Two "inventory" members would let two parsers disagree about what was reported.
                raise ReportSyntaxError(f"member {name!r} appears twice")
            seen.add(name)
            window.take(":")
            if name in STREAMED_ARRAYS:
                yield from _array(window, name)
            else:
                yield ("field", name, window.value())
            if window.peek() == ",":
                window.take(",")
                continue
            window.take("}")
            break
    if window.peek():
        raise ReportSyntaxError("data after the report object")


def _array(window: _Window, name: str) -> Iterator[tuple[str, str, Any]]:
    window.take("[")
    yield ("array", name, None)
    if window.peek() == "]":
        window.take("]")
        return
    while True:
        yield ("item", name, window.value())
        if window.peek() == ",":
            window.take(",")
            continue
        window.take("]")
        return
