"""Packages arriving over HTTP are spooled to a temporary file under a size cap, hashed as they stream.

A package is never held whole in memory and never read twice to be hashed: every byte is counted and hashed on its
way to disk, and the write that crosses the cap fails at once. Callers that know the length in advance (a
``Content-Length`` header) refuse before reading anything.
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from typing import BinaryIO

from gate.errors import GateError

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
"""Largest package accepted (512 MiB); ``GATE_MAX_UPLOAD_BYTES`` changes it. Real APKs top out near 4 GiB only in
theory; stores cap uploads far below that."""

CHUNK = 1 << 20


class UploadError(GateError):
    """An upload or download that the gate refuses; ``status`` is the HTTP status to answer with."""

    code = "upload_invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status


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
        fd, self.path = tempfile.mkstemp(prefix="gate-upload-", suffix=".pkg", dir=directory)
        self._file = os.fdopen(fd, "w+b")
        self._hash = hashlib.sha256()
        self.limit = limit
        self.size = 0
        self._pending: queue.Queue = queue.Queue(maxsize=self.QUEUE_DEPTH)
        self._failure: BaseException | None = None
        self._helper: threading.Thread | None = None
        self._may_start_helper = True  # until the first seek/read/finish settles the file

    def _drain(self) -> None:
        while (data := self._pending.get()) is not None:
            if self._failure is None:
                try:
                    self._hash.update(data)
                    self._file.write(data)
                except BaseException as exc:  # handed to the request's thread by _settle / write
                    self._failure = exc

    def _settle(self) -> None:
        """Wait until every written piece is hashed and on disk (the helper then ends); raise what it met."""
        self._may_start_helper = False
        if self._helper is not None:
            self._pending.put(None)
            self._helper.join()
            self._helper = None
        if self._failure is not None:
            raise self._failure

    def write(self, data: bytes) -> int:
        if self.size + len(data) > self.limit:
            self.abort()
            raise too_large(self.limit)
        if self._failure is not None:
            raise self._failure
        self.size += len(data)
        if self._helper is None:
            if not (self._may_start_helper and self.size > self.HELPER_AFTER_BYTES):
                # small so far, or written after a seek or read (no helper any more): do it here
                self._hash.update(data)
                try:
                    return self._file.write(data)
                except BaseException:
                    self.abort()
                    raise
            self._helper = threading.Thread(target=self._drain, name="gate-spool", daemon=True)
            self._helper.start()
        self._pending.put(bytes(data))  # a copy: the caller may reuse a bytearray or memoryview
        return len(data)

    def seek(self, *args) -> int:
        self._settle()
        return self._file.seek(*args)

    def read(self, *args) -> bytes:
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
        except BaseException:
            self.abort()
            raise
        self._file.close()
        return SpooledPackage(path=self.path, size=self.size, sha256=self._hash.hexdigest())


def spool_stream(stream: BinaryIO, *, limit: int, directory: str | None = None,
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
    except BaseException:
        spool.abort()
        raise
    return spool.finish()
