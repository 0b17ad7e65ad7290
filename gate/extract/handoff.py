"""Hand the scanner every entry it wants, in file order, each inflated once by whichever thread gets there first.

On a large APK two threads share the work (``gate.extract.pipeline``): the verifier inflates and digests every entry
for the v1 signature (C code that releases the GIL) while the scanning thread runs the network scan (Python). The
scanner must not wait while the verifier is busy elsewhere — computing the v2/v3 digests over the whole file before
it reads any entry, or digesting media the scanner does not want — so when the verifier is far from the next entry
the scanner wants, the scanning thread inflates that entry itself and lends the bytes to the verifier
(``ApkContainer.lend``), which then only digests them. When the verifier is near, the scanner waits for its bytes.

The scanner is always fed the same entries in the same order (file order, by local header offset), whoever inflated
them and however the threads were scheduled: the facts of a package never depend on timing.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator

from gate.errors import PackageError
from gate.extract.container import ApkContainer, ZipEntry

WINDOW_ENTRIES = 4  # entries the verifier may inflate ahead of the scanner before it waits (bounds memory)
LEND_LIMIT_BYTES = 64 * 1024 * 1024  # bytes lent to the verifier over one package (bounds what it may not take)
SIGNATURE_DIR = "META-INF/"  # v1 reads only its own files there, never the other entries under it


class EntryHandoff:
    """The meeting point of the verifier thread (``verifier_read``) and the scanning thread (``entries``)."""

    def __init__(self, container: ApkContainer, wanted: list[ZipEntry]) -> None:
        self._container = container
        self._wanted = sorted(wanted, key=lambda e: e.local_header_offset)
        self._waiting = {e.name for e in self._wanted}  # wanted and not yet taken by the scanner
        self._delivered: dict[str, bytes] = {}
        self._lent = 0
        self._cond = threading.Condition()
        self._verified_upto = -1  # local header offset of the last entry the verifier digested (v1 reads in order)
        self._done = False
        # What the verifier digests, in its order, with the bytes it inflates before each: how far it is from an entry.
        digested = sorted((e for e in container.entries if not e.is_directory and not e.name.startswith(SIGNATURE_DIR)),
                          key=lambda e: e.local_header_offset)
        self._offsets = [e.local_header_offset for e in digested]
        self._bytes_before = [0]
        for entry in digested:
            self._bytes_before.append(self._bytes_before[-1] + entry.uncompressed_size)

    # -- the verifier thread -----------------------------------------------------------------------------------------

    def verifier_read(self, entry: ZipEntry, data: bytes) -> None:
        """``on_entry`` of the verifier: keep the bytes for the scanner if it still wants them (waiting while the
        scanner is a full window behind)."""
        with self._cond:
            if not entry.name.startswith(SIGNATURE_DIR):
                self._verified_upto = max(self._verified_upto, entry.local_header_offset)
            if entry.name in self._waiting:
                while len(self._delivered) >= WINDOW_ENTRIES and not self._done:
                    self._cond.wait()
                if not self._done and entry.name in self._waiting:
                    self._delivered[entry.name] = data
            self._cond.notify_all()

    def verifier_finished(self) -> None:
        """The verifier returned or raised: the scanner inflates whatever it still wants, and lends nothing more."""
        with self._cond:
            self._done = True
            self._container.unlend()
            self._cond.notify_all()

    # -- the scanning thread -----------------------------------------------------------------------------------------

    def entries(self, problems: dict[str, PackageError]) -> Iterator[tuple[ZipEntry, bytes]]:
        """Yield ``(entry, bytes)`` for every wanted entry, in file order. An entry that cannot be read is left out
        and its error put in ``problems`` by name."""
        for entry in self._wanted:
            try:
                data = self._take(entry)
            except PackageError as exc:
                problems[entry.name] = exc
                continue
            yield entry, data

    def cancel(self) -> None:
        """The scanner stopped early (an exception): release a verifier that waits for room."""
        with self._cond:
            self._done = True
            self._delivered.clear()
            self._cond.notify_all()

    def _take(self, entry: ZipEntry) -> bytes:
        with self._cond:
            while True:
                data = self._delivered.pop(entry.name, None)
                if data is not None:
                    self._waiting.discard(entry.name)
                    self._cond.notify_all()
                    return data
                if self._read_here(entry):
                    self._waiting.discard(entry.name)  # from now on the verifier keeps its copy to itself
                    break
                self._cond.wait()
        data = self._container.read(entry)
        with self._cond:  # lend only while the verifier runs and has not passed the entry (it unlends when done)
            if not self._done and self._verified_upto < entry.local_header_offset \
                    and not entry.name.startswith(SIGNATURE_DIR) and self._lent + len(data) <= LEND_LIMIT_BYTES:
                self._lent += len(data)
                self._container.lend(entry, data)
        return data

    def _read_here(self, entry: ZipEntry) -> bool:
        """Whether the scanning thread should inflate ``entry`` rather than wait for the verifier's bytes: the
        verifier never reads it (done, past it, or it is under META-INF/), cannot hand it over now (its window is
        full), or will reach it only after digesting more bytes than inflating it here costs."""
        if self._done or entry.name.startswith(SIGNATURE_DIR) or self._verified_upto >= entry.local_header_offset:
            return True
        if len(self._delivered) >= WINDOW_ENTRIES:
            return True  # the verifier waits for room with other entries: waiting for it too would never end
        if self._verified_upto < 0:
            return True  # still on the v2/v3 digests over the whole file (or not verifying v1 at all)
        start = bisect.bisect_right(self._offsets, self._verified_upto)
        end = bisect.bisect_left(self._offsets, entry.local_header_offset)
        return self._bytes_before[end] - self._bytes_before[start] >= entry.uncompressed_size
