"""Answering a request whose body the front already holds: the WSGI app on a request thread, one hand-over each way.

gate.api.buffering receives a body in full on the event loop before a request thread sees it. a2wsgi's bridge, made
for bodies still arriving, then hands it back a piece at a time (the thread asks the loop for each piece and waits),
and sends the answer the same way: the status, each body piece and the end are each a trip from the thread to the
loop and back, with the thread blocked until the loop has run. For a small check that was four such trips (the body,
the status, the body of the answer, its end), about 0.5 ms of server CPU on a busy two-core machine, most of it
system time: context switches, the loop's self-pipe, the GIL changing hands (docs/benchmarks.md, "HTTP checks,
fourth pass").

Here the thread reads the body from memory or the spool file directly, and keeps the answer until the app is done:
the loop then sends the status and the whole body. An answer larger than ``BUFFERED_ANSWER_BYTES`` (a CSV export, a
large page) is sent as it is produced instead, each piece awaited by the thread as a2wsgi does, so a slow reader still
holds back the app rather than the worker's memory. The WSGI environ is a2wsgi's own (``build_environ``), so the app
sees the same request either way; only the body's stream differs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ

BUFFERED_ANSWER_BYTES = 256 * 1024  # larger answers stream from the thread, piece by piece


class _Answer:
    """What the app answered so far; sent by the loop at the end, or by the thread once it streams."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send) -> None:
        self._loop, self._send = loop, send
        self.start: dict[str, Any] | None = None
        self.pieces: list[bytes] = []
        self.size = 0
        self.started = False  # the status went out (only ever set once streaming)

    def start_response(self, status: str, headers, exc_info=None):
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])  # WSGI: too late to change the status
        code = int(status.split(" ", 1)[0])
        self.start = {"type": "http.response.start", "status": code,
                      "headers": [(name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                                  for name, value in headers]}
        return self.write

    def write(self, data: bytes) -> None:
        if data:
            self.pieces.append(data)
            self.size += len(data)
            if self.size > BUFFERED_ANSWER_BYTES:
                self.flush(more=True)

    def flush(self, *, more: bool) -> None:
        """From the thread: send what is held (the status first) and wait until the loop has sent it."""
        for message in self.messages(more=more):
            asyncio.run_coroutine_threadsafe(self._send(message), self._loop).result()

    def messages(self, *, more: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.started:
            if self.start is None:
                raise RuntimeError("the WSGI app returned without calling start_response")
            out.append(self.start)
            self.started = True
        body = b"".join(self.pieces)
        self.pieces, self.size = [], 0
        if body or not more:
            out.append({"type": "http.response.body", "body": body, "more_body": more})
        return out


def _run(app, environ: Any, answer: _Answer) -> None:
    iterable = app(environ, answer.start_response)
    try:
        for piece in iterable:
            answer.write(piece)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


async def answer_received(app, executor: ThreadPoolExecutor, scope, body: io.BufferedIOBase, send) -> None:
    """Run the WSGI ``app`` for ``scope`` on one of ``executor``'s threads with ``body`` as its input, and send its
    answer. ``body`` is read by the thread; the caller closes it after this returns."""
    loop = asyncio.get_running_loop()
    environ = build_environ(scope, body)  # type: ignore[arg-type]  # a2wsgi's Body is only read, as a stream
    answer = _Answer(loop, send)
    # Each request in a copy of the loop's context, as a2wsgi runs it (Flask keeps its contexts in contextvars).
    run = functools.partial(contextvars.copy_context().run, _run, app, environ, answer)
    await loop.run_in_executor(executor, run)
    for message in answer.messages(more=False):
        await send(message)
