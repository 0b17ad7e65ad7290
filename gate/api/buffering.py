"""The request front of `gate serve`: request bodies are received in full before a request thread sees them.

Why: the app is WSGI (Flask), and a WSGI request holds a thread from its headers to its answer. Under gunicorn's
``gthread`` workers a client sending its body slowly held one of the 16 threads for as long as it liked: 17
connections sending a byte every 5 s took every route down, ``/healthz`` included, and 20 trickled uploads with a
valid key and a bad signature held every thread (the signature covers the body, so it can only be checked after it).
Mature deployments put a buffering proxy in front (nginx's ``proxy_request_buffering on``, gunicorn's own advice);
`gate serve` is exposed as it is (``make run``), so it does the same in-process: gunicorn runs uvicorn's asyncio
workers (``uvicorn_worker.UvicornWorker``, HTTP/1.1 by httptools), this ASGI layer receives each body on the event loop —
where a slow connection costs a socket and a few KiB, not a thread — and only then hands the request to the Flask
app on a pool of ``--threads`` threads (gate.api.received_wsgi; a2wsgi for requests without a body to receive). The
app reads its body from memory or a local file at disk speed.

The rules of the receipt, each a named constant:
- bodies up to ``IN_MEMORY_BYTES`` stay in memory; larger ones go to a file in the spool directory, named and
  locked like an upload's spool (gate.services.uploads), so a server killed mid-body leaves nothing the
  orphan sweep (gate.services.spool_sweep) does not remove;
- a body must keep ``GATE_BODY_MIN_BYTES_PER_SECOND`` (1024) on average once ``GATE_BODY_GRACE_SECONDS`` (30)
  have passed, or the request is answered ``408 body_too_slow`` and the connection closed (a byte every 5 s is cut
  at 30 s; a 100 MB package at 100 KB/s is not);
- a body announced larger than the app's cap (``MAX_CONTENT_LENGTH``) is not received at all: the app answers 413
  from the headers, as before; a chunked body that passes the cap, or a spool disk that fills up, stops the receipt
  and the app is handed the request without its body and with the refusal on its scope (``REFUSED_SCOPE_KEY``):
  the route answers ``413 upload_too_large`` / ``507 spool_full`` in its own form — the pre-check page in the user's
  language, JSON for the API (gate.api.body.refused_by_front).
``/healthz`` and ``/metrics`` run on a pool of their own (``PROBE_THREADS``), so they answer while every request
thread is busy — and can say so (``503 overloaded``, gate.services.health).

Credentials before the body, where the protocol allows it: a request to ``/api/`` whose ``Authorization`` names no
existing API key is not received at all — the app answers its 401 from the headers (every API view authenticates
before it touches the body, gate.api.access). The key is looked up on a thread of its own (SHA-256 and
one indexed query; a valid key is remembered for ``KEY_MEMO_SECONDS``). A webhook's signature covers the body, so a
valid key with a bad signature is refused only once the body is in — received here, on the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from a2wsgi import WSGIMiddleware

from gate.api.body import REFUSED_SCOPE_KEY
from gate.api.received_wsgi import answer_received
from gate.services.uploads import SPOOL_PREFIX, SPOOL_SUFFIX

LOGGER = logging.getLogger("gate.http")

IN_MEMORY_BYTES = 1 << 20  # larger bodies are received into a spool file
PROBE_THREADS = 2  # /healthz and /metrics: never queued behind the request threads
PROBE_PATHS = ("/healthz", "/metrics")
KEY_MEMO_SECONDS = 60.0
KEY_MEMO_ENTRIES = 4096
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class _Received:
    """A body being received: memory first, then a locked spool file (named so the orphan sweep knows it)."""

    def __init__(self, directory: str | None) -> None:
        self._directory = directory
        self._memory = bytearray()
        self._file: io.BufferedRandom | None = None
        self._path: str | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is None and len(self._memory) + len(data) <= IN_MEMORY_BYTES:
            self._memory += data
            return
        if self._file is None:
            fd, self._path = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=self._directory)
            fcntl.flock(fd, fcntl.LOCK_SH)  # "in use" for the orphan sweep, until closed or this process dies
            self._file = os.fdopen(fd, "w+b")
            self._file.write(self._memory)
            self._memory = bytearray()
        self._file.write(data)

    def stream(self) -> io.BufferedIOBase:
        """The received body to read from its start: from memory, or the spool file (closed by ``discard``)."""
        if self._file is None:
            return io.BytesIO(self._memory)
        self._file.flush()
        self._file.seek(0)
        return self._file

    def chunks(self, size: int = 256 * 1024):
        if self._file is None:
            yield bytes(self._memory)
            return
        self._file.flush()
        self._file.seek(0)
        while chunk := self._file.read(size):
            yield chunk

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            try:
                if self._path is not None:  # set with _file by mkstemp
                    os.unlink(self._path)
            except FileNotFoundError:
                pass
        self._memory = bytearray()


def _error(code: str, message: str, status: int):
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]
    return status, headers, body


class BufferedFront:
    """ASGI app: receive the body in full (rules in the module docstring), then run the WSGI app on a thread."""

    def __init__(self, wsgi_app, *, threads: int, max_body_bytes: int, spool_dir: str | None,
                 grace_seconds: float = 30.0, min_bytes_per_second: int = 1024) -> None:
        self._app = WSGIMiddleware(wsgi_app, workers=threads)
        self._probes = WSGIMiddleware(wsgi_app, workers=PROBE_THREADS)
        self._max = max_body_bytes
        self._spool_dir = spool_dir
        self._grace, self._min_rate = grace_seconds, min_bytes_per_second
        self._wsgi_app = wsgi_app
        self._keys = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gate-key")
        self._known_keys: dict[bytes, float] = {}  # SHA-256 of an Authorization header -> valid until

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to start or stop
            return
        if scope["path"] in PROBE_PATHS:
            await self._probes(scope, receive, send)
            return
        headers = dict(scope["headers"])
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        try:
            declared = int(headers[b"content-length"]) if b"content-length" in headers else None
        except ValueError:
            declared = None
        if (declared is None and not chunked) or declared == 0 or (declared is not None and declared > self._max) \
                or (scope["path"].startswith("/api/") and not await self._known_key(headers.get(b"authorization"))):
            # No body, or one the app refuses from its headers alone (413, 401 before a byte is read): nothing to
            # wait for.
            await self._app(scope, receive, send)
            return
        received = _Received(self._spool_dir)
        try:
            answer = await self._receive(received, receive)
            if answer == "disconnected":
                return
            if isinstance(answer, str):  # refused for the route to say so in its own form
                received.discard()
                # The scope carries the gate's own key, which a2wsgi's scope TypedDict does not declare.
                await self._app({**_with_length(scope, 0), REFUSED_SCOPE_KEY: answer},  # type: ignore[arg-type]
                                _replay(received, receive),
                                send)
                return
            if answer is not None:
                await self._answer(send, *answer)
                return
            # The whole body is here: the app reads it on its thread (gate.api.received_wsgi), not piece by piece
            # through the loop.
            await answer_received(self._wsgi_app, self._app.executor, _with_length(scope, received.size),
                                  received.stream(), send)
        finally:
            received.discard()

    async def _known_key(self, authorization: bytes | None) -> bool:
        """Whether the header carries an existing API key (True too when the database cannot say: the app will)."""
        if not authorization:
            return False
        digest = hashlib.sha256(authorization).digest()
        if self._known_keys.get(digest, 0.0) > time.monotonic():
            return True
        from sqlalchemy.exc import SQLAlchemyError

        from gate.services.auth import verified_key_id

        engine = self._wsgi_app.extensions["gate"].engine
        try:
            known = await asyncio.get_running_loop().run_in_executor(
                self._keys, verified_key_id, engine, authorization.decode("latin-1")) is not None
        except SQLAlchemyError:
            return True
        if known:
            if len(self._known_keys) >= KEY_MEMO_ENTRIES:
                self._known_keys.clear()
            self._known_keys[digest] = time.monotonic() + KEY_MEMO_SECONDS
        return known

    async def _receive(self, received: _Received, receive):
        started = time.monotonic()
        while True:
            # The longest the next piece may take before the body falls below the minimum average rate.
            allowed = started + self._grace + received.size / self._min_rate - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(allowed, 0.001))
            except TimeoutError:
                LOGGER.warning("request body too slow", extra={"fields": {"received": received.size}})
                return _error("body_too_slow", f"the request body arrived too slowly (below {self._min_rate} "
                                               f"bytes/s after {self._grace:g} s); nothing was kept", 408)
            if message["type"] == "http.disconnect":
                return "disconnected"
            body = message.get("body", b"")
            if received.size + len(body) > self._max:
                return "upload_too_large"
            try:
                received.write(body)
            except OSError as exc:
                if exc.errno not in _DISK_FULL:
                    raise
                return "spool_full"
            if not message.get("more_body", False):
                return None

    @staticmethod
    async def _answer(send, status: int, headers, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _with_length(scope, size: int):
    """The scope as the app should see it: the received body's length, no chunked framing."""
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
    return {**scope, "headers": [*headers, (b"content-length", str(size).encode())]}


def _replay(received: _Received, receive):
    """An ASGI receive that hands out the received body (the last piece says so), then the connection's own
    messages (``http.disconnect``)."""
    pieces = received.chunks()
    ahead = next(pieces, b"")

    async def replay():
        nonlocal ahead
        if ahead is None:
            return await receive()
        piece, ahead = ahead, next(pieces, None)
        return {"type": "http.request", "body": piece, "more_body": ahead is not None}

    return replay
