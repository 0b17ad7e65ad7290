"""Validated records of filings files, read and validated here or, for large inputs, in a second process.

Reading and validating a record (parsing, filing-number rules, key normalisation, the canonical digest) costs about
as much as writing it to the registry. For a large import both run at once: a child process reads and validates
and sends the results in chunks, in file order, while the importer writes. The records, their order and every
problem are exactly those of the in-process path; only the time differs. The child is spawned (not forked): the
importer holds a database connection and may run beside threads.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.collector import fewer_collections
from gate.errors import GateError
from gate.filings.formats import read_records
from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.records import Filing
from gate.filings.source_keys import read_keys, write_keys
from gate.filings.validate import validate_record

if TYPE_CHECKING:
    from multiprocessing.queues import Queue


@dataclass(frozen=True)
class KnownRecord:
    """A record whose text the registry already holds as its filing's current version (gate.filings.source_keys):
    neither parsed nor validated again."""

    source_key: str


# A validated record: its file, its row, the Filing (None when invalid; a KnownRecord when recognised by its key),
# all its problems, and its source key (None when it has problems, or no text to key).
Validated = tuple[str, int, Filing | KnownRecord | None, list[FieldProblem], str | None]

PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # ~40,000 records: below it, starting a process costs more than it saves
CHUNK_RECORDS = 1000
QUEUE_CHUNKS = 16  # bounded: a slow writer holds the reader back instead of filling memory
CHILD_POLL_SECONDS = 1.0


def validated(paths: Sequence[str | pathlib.Path], known: Container[str] | None = None, *,
              digests: bool = True) -> Iterator[Validated]:
    """Read and validate every record of every file, in order; with ``known`` source keys, records recognised by
    their key come as KnownRecord and every other record carries its key when it has no problem. With ``digests``
    each valid record's canonical JSON and digest are computed (and cached on it) here; without, by whoever asks
    first — the same values either way."""
    for path in paths:
        source = str(path)
        for raw in read_records(path, known=known):
            if raw.known and raw.source_key is not None:
                yield source, raw.row, KnownRecord(raw.source_key), [], raw.source_key
                continue
            filing, problems = (None, []) if raw.data is None else validate_record(raw.data)
            if filing is not None and digests:
                filing.digest()  # cached on the record: computed beside validation, off the writer's path
            problems = raw.problems + problems
            yield source, raw.row, filing, problems, (raw.source_key if filing is not None and not problems else None)


def parallel_worthwhile(paths: Sequence[str | pathlib.Path]) -> bool:
    if (os.cpu_count() or 1) < 2:
        return False
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            return False  # the in-process reader reports it with its code
    return total >= PARALLEL_MIN_BYTES


def validated_in_parallel(paths: Sequence[str | pathlib.Path],
                          known: set[str] | frozenset[str] | None = None) -> Iterator[Validated]:
    """``validated(paths, known)`` computed in a child process; a failure there is raised here with its code."""
    # Imported here: a small filings file (``gate check --filings``) is read in-process, and multiprocessing brings
    # pickle, subprocess, tempfile and the compression modules along (start-up, issue #28).
    import multiprocessing
    import queue
    import tempfile

    context = multiprocessing.get_context("spawn")
    chunks = context.Queue(maxsize=QUEUE_CHUNKS)
    keys_file = None
    if known is not None:  # a file, not the queue: a million keys pickled through a pipe would cost more
        fd, keys_file = tempfile.mkstemp(prefix="gate-source-keys-", suffix=".txt")
        os.close(fd)
        write_keys(known, keys_file)
        known = None  # the child reads them from the file; a million keys need not stay in this process too
    child = context.Process(target=_produce, args=([str(p) for p in paths], chunks, keys_file), daemon=True,
                            name="gate-filings-reader")
    try:
        child.start()
        while True:
            try:
                message = chunks.get(timeout=CHILD_POLL_SECONDS)
            except queue.Empty:
                if not child.is_alive():
                    raise FilingsInvalid(f"the filings reader stopped unexpectedly (exit status {child.exitcode})",
                                         code="filings_reader_failed") from None
                continue
            kind, payload = message
            if kind == "records":
                yield from payload
            elif kind == "error":
                error_type, text, code = payload
                raise (FilingsInvalid if error_type == "FilingsInvalid" else GateError)(text, code=code)
            else:
                return
    finally:
        if child.is_alive():
            child.terminate()
        if child.pid is not None:
            child.join()
        chunks.close()
        if keys_file is not None:
            os.unlink(keys_file)


def _produce(paths: list[str], chunks: Queue[tuple[str, Any]], keys_file: str | None = None) -> None:
    try:
        chunk: list[Validated] = []
        known = read_keys(keys_file) if keys_file is not None else None
        with fewer_collections():  # the known keys are frozen with the modules: no collection walks them
            for item in validated(paths, known, digests=False):
                chunk.append(item)
                if len(chunk) >= CHUNK_RECORDS:
                    _put(chunks, chunk)
                    chunk = []
        if chunk:
            _put(chunks, chunk)
        chunks.put(("end", None))
    except GateError as exc:
        chunks.put(("error", (type(exc).__name__, exc.message, exc.code)))
    except Exception as exc:  # noqa: BLE001 — reported to the importer with a code instead of a lost traceback
        chunks.put(("error", ("GateError", f"reading the filings failed: {type(exc).__name__}: {exc}",
                              "filings_reader_failed")))


def _put(chunks: Queue[tuple[str, Any]], chunk: list[Validated]) -> None:
    """Send a chunk; its records' canonical JSON and digests go with it only while the writer is behind.

    Computing and pickling them was ~40 % of the reader's work (70 against 42 µs per record with the pickling, 984
    against 352 bytes per record), and the writer computes them in ~13 µs (``Filing.digest`` caches them on first
    use). Validating is the slower half of an import, so on two cores the writer, waiting for records, has the
    time; once the writer is the slower one and chunks queue up, the reader computes them before it would block.
    The pace is set by the slower process, and this moves work to the other. Same values either way."""
    try:
        behind = chunks.qsize() >= QUEUE_CHUNKS // 2
    except NotImplementedError:  # macOS has no queue size: compute them here, as before
        behind = True
    if behind:
        for item in chunk:
            filing = item[2]
            if isinstance(filing, Filing):
                filing.digest()
    chunks.put(("records", chunk))


def estimate_records(paths: Sequence[str | pathlib.Path]) -> int | None:
    """Records in the files, for a progress bar: lines of JSON Lines, rows of CSV (rows of one filing merge, so
    an upper bound); None when a file's count is unknown without parsing it (JSON arrays, XLSX)."""
    from gate.filings.formats import detect_format

    total = 0
    for path in paths:
        try:
            kind = detect_format(pathlib.Path(path))
            if kind not in ("jsonl", "csv"):
                return None
            with open(path, "rb") as fh:
                lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
        except OSError:
            return None
        total += lines - (1 if kind == "csv" else 0)
    return max(total, 0)
