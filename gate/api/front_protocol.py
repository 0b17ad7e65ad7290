"""The HTTP/1.1 connection of `gate serve`: uvicorn's httptools protocol, with a bound on an unfinished request head.

`gate serve` parses HTTP with httptools (llhttp, in C) rather than uvicorn's default h11 (pure Python): h11 was
about a millisecond of CPU per small request, a seventh of a small check (docs/benchmarks.md). h11 refused a
request head that stayed unfinished past 16 KiB (``400``); llhttp sets no such limit and httptools gathers a header
value across reads, so a client sending one endless header would grow the worker's memory until it stopped.
``BoundedHeadProtocol`` counts the bytes read while a request head is open and answers ``400`` and closes the
connection once they pass ``MAX_HEAD_BYTES``, as h11 did (more room: big cookies pass). The count is per read: the
read in which a head starts after a finished request (pipelining) is not counted, so a head can hold at most one
read (asyncio reads at most 256 KiB) beyond the limit.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # request line and headers, unfinished; a browser's cookies stay far below it


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that refuses (400, connection closed) a request head longer than
    ``MAX_HEAD_BYTES`` (see the module docstring)."""

    _head_open = False  # between the parser's message-begin and headers-complete
    _head_bytes = 0
    _finished_a_request = False  # during the read being parsed

    def on_message_begin(self) -> None:
        self._head_open, self._head_bytes = True, 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._head_open = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._finished_a_request = True
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        counting = self._head_open  # the head began in an earlier read: this whole read is head
        self._finished_a_request = False
        super().data_received(data)
        if not self._head_open or self.transport.is_closing():  # head done, or the parser refused the request
            return
        if counting or not self._finished_a_request:  # a head that began in this read began where the read did
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.logger.warning("request head too large")
                self.send_400_response("Request head too large.")
