"""Packages arriving over HTTP are spooled to a temporary file under a size cap, hashed as they stream.

A package is never held whole in memory and never read twice to be hashed: every byte is counted and hashed on its
way to disk, and the write that crosses the cap fails at once. Callers that know the length in advance (a
``Content-Length`` header) refuse before reading anything.

A full spool disk (``ENOSPC``, or a quota's ``EDQUOT``) is the gate's state, not the sender's fault: it answers
``507 spool_full`` with ``Retry-After``, whether the package came as a form part or from a ``package_url``.

While a spool is written, its process holds a shared ``flock`` on it; ``sweep_orphans`` deletes only spool files
that nobody holds, that are older than ``ORPHAN_AGE_SECONDS`` and that no live job names: what a server killed
mid-upload left behind, never a file in use (gate.services.spool_sweep).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from typing import Protocol

from gate.errors import GateError

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
"""Largest package accepted (512 MiB); ``GATE_MAX_UPLOAD_BYTES`` changes it. Real APKs top out near 4 GiB only in
theory; stores cap uploads far below that."""

CHUNK = 1 << 20

SPOOL_PREFIX, SPOOL_SUFFIX = "gate-upload-", ".pkg"
SPOOL_FULL_RETRY_AFTER_SECONDS = 60
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class Readable(Protocol):
    """What spool_stream reads: a request's stream, or a download read under a deadline (fetch.PacedReader)."""

    def read(self, size: int = ..., /) -> bytes: ...


class UploadError(GateError):
    """An upload or download that the gate refuses; ``status`` is the HTTP status to answer with."""

    code = "upload_invalid"
    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After when the refusal is the gate's state

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status
        self.retry_after = retry_after


def spool_full() -> UploadError:
    return UploadError("the gate has no room to receive the package now (its spool disk is full); nothing was kept, "
                       "send it again later", code="spool_full", status=507,
                       retry_after=SPOOL_FULL_RETRY_AFTER_SECONDS)


def disk_error(exc: BaseException) -> BaseException:
    """``spool_full`` for a full disk or quota; any other error as it is."""
    return spool_full() if isinstance(exc, OSError) and exc.errno in _DISK_FULL else exc


def too_large(limit: int) -> UploadError:
    return UploadError(f"the package is larger than the limit of {limit} bytes", code="upload_too_large", status=413)


@dataclass(frozen=True)
class SpooledPackage:
    """A package on local disk, with the size and SHA-256 measured while it was written."""

    path: str
    size: int
    sha256: str

    def discard(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class HashingSpool:
    """A write-once temporary file that hashes and counts what is written and refuses to grow past ``limit``.

    It is file-like enough for werkzeug's multipart parser (``write``, ``seek``, ``read``, ``close``), so the parser
    streams a form's file part straight into it. Counting and the cap happen in ``write``; hashing and the disk
    write happen on a helper thread, in order, so that they overlap with reading the request from the socket
    (hashlib and file writes release the GIL): for a 100 MB upload that is most of our own cost per byte. At most
    ``QUEUE_DEPTH`` pieces wait for the helper, which bounds the memory of a fast sender. Anything that reads the
    file, its digest or its position (``seek``, ``read``, ``tell``, ``finish``) first waits for the helper; an error
    the helper met (a full disk) is raised there, or by the next ``write``. The first ``HELPER_AFTER_BYTES`` are
    hashed and written inline: for a small upload starting a thread costs more than it overlaps.
    """

    QUEUE_DEPTH = 16
    HELPER_AFTER_BYTES = 1 << 20

    def __init__(self, *, limit: int, directory: str | None = None) -> None:
        try:
            fd, self.path = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=directory)
        except OSError as exc:
            raise disk_error(exc) from None
        fcntl.flock(fd, fcntl.LOCK_SH)  # "in use" for the orphan sweep, until this process closes it or dies
        self._file = os.fdopen(fd, "w+b")
        self._hash = hashlib.sha256()
        self.limit = limit
        self.size = 0
        # Made with the helper: a small upload is written inline and never needs one (a Queue is three conditions).
        self._pending: queue.Queue[bytes | None] | None = None
        self._failure: BaseException | None = None
        self._helper: threading.Thread | None = None
        self._may_start_helper = True  # until the first seek/read/finish settles the file

    def _drain(self, pending: queue.Queue[bytes | None]) -> None:
        while (data := pending.get()) is not None:
            if self._failure is None:
                try:
                    self._hash.update(data)
                    self._file.write(data)
                except BaseException as exc:  # handed to the request's thread by _settle / write
                    self._failure = exc

    def _settle(self) -> None:
        """Wait until every written piece is hashed and on disk (the helper then ends); raise what it met."""
        self._may_start_helper = False
        if self._helper is not None and self._pending is not None:
            self._pending.put(None)
            self._helper.join()
            self._helper = None
        if self._failure is not None:
            raise disk_error(self._failure)

    def write(self, data: bytes) -> int:
        if self.size + len(data) > self.limit:
            self.abort()
            raise too_large(self.limit)
        if self._failure is not None:
            raise disk_error(self._failure)
        self.size += len(data)
        if self._helper is None:
            if not (self._may_start_helper and self.size > self.HELPER_AFTER_BYTES):
                # small so far, or written after a seek or read (no helper any more): do it here
                self._hash.update(data)
                try:
                    return self._file.write(data)
                except BaseException as exc:
                    self.abort()
                    raise disk_error(exc) from None
            self._pending = queue.Queue(maxsize=self.QUEUE_DEPTH)
            self._helper = threading.Thread(target=self._drain, args=(self._pending,), name="gate-spool", daemon=True)
            self._helper.start()
        assert self._pending is not None  # made with the helper, just above or by an earlier write
        self._pending.put(bytes(data))  # a copy: the caller may reuse a bytearray or memoryview
        return len(data)

    def seek(self, *args: int) -> int:
        self._settle()
        return self._file.seek(*args)

    def read(self, *args: int) -> bytes:
        self._settle()
        return self._file.read(*args)

    def tell(self) -> int:
        self._settle()
        return self._file.tell()

    def flush(self) -> None:
        self._settle()
        self._file.flush()

    def close(self) -> None:
        try:
            self._settle()
        finally:
            self._file.close()

    def abort(self) -> None:
        """Close and delete: nothing of a refused upload stays on disk."""
        self._failure = self._failure or UploadError("the upload was aborted")  # the helper skips what is left
        try:
            self._settle()
        except BaseException:
            pass
        self._file.close()
        SpooledPackage(self.path, 0, "").discard()

    def finish(self) -> SpooledPackage:
        try:
            self._settle()
            self._file.flush()  # the last buffered bytes meet a full disk here, not in a close nobody checks
        except BaseException as exc:
            self.abort()
            raise disk_error(exc) from None
        self._file.close()
        return SpooledPackage(path=self.path, size=self.size, sha256=self._hash.hexdigest())


def spool_stream(stream: Readable, *, limit: int, directory: str | None = None,
                 declared_length: int | None = None) -> SpooledPackage:
    """Copy a stream into a spool, refusing (HTTP 413) as soon as it passes ``limit``."""
    if declared_length is not None and declared_length > limit:
        raise too_large(limit)
    spool = HashingSpool(limit=limit, directory=directory)
    try:
        while chunk := stream.read(CHUNK):
            spool.write(chunk)
    except UploadError:
        raise
    except BaseException as exc:
        spool.abort()
        raise disk_error(exc) from None
    return spool.finish()
