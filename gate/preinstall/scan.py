"""Check every app of an image on every core while the next partition is still being read.

Partitions are read by a few threads (the work happens in ``debugfs``/``fsck.erofs`` processes); each APK found is
handed at once to a process pool that reads it (``extract_features``: container, manifest, signatures, network).
The decisions are made afterwards in this process, with one filings lookup for all packages. Progress goes to
stderr: a bar on a terminal, plain lines otherwise (logs of a release job).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass

from gate.preinstall import sources
from gate.preinstall.layout import FoundApp

READER_THREADS = 2  # partitions read side by side; the tools mostly wait on the disk


@dataclass
class ScanResult:
    partitions: list[sources.PartitionResult]
    checked: list[tuple[FoundApp, object]]  # (app, PackageFacts) in device-path order


def read_facts(local: str):
    from gate.extract.pipeline import extract_features

    return extract_features(local)


class Progress:
    """``checking APKs`` with a bar on a terminal, or a line per tenth (and per partition) otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.found = self.done = 0
        self.reading = True
        self._last_line = -1
        self._start = time.monotonic()

    def note(self, message: str) -> None:
        self._clear()
        print(message, file=self.stream, flush=True)
        self._draw()

    def partition(self, result: sources.PartitionResult) -> None:
        self.found += len(result.apps)
        errors = f", {len(result.errors)} unreadable" if result.errors else ""
        self.note(f"partition {result.name or '-'} ({result.format}, {result.source}): "
                  f"{len(result.apps)} APKs{errors}")

    def checked(self) -> None:
        self.done += 1
        if self.tty:
            self._draw()
        else:
            tenth = self.done * 10 // max(self.found, 1)
            if tenth != self._last_line or self.done == self.found and not self.reading:
                self._last_line = tenth
                print(f"checking APKs: {self.done}/{self.found}{'+' if self.reading else ''}", file=self.stream,
                      flush=True)

    def finish(self) -> None:
        self._clear()
        print(f"checking APKs: {self.done} checked in {time.monotonic() - self._start:.1f} s", file=self.stream,
              flush=True)

    def _draw(self) -> None:
        if not self.tty:
            return
        width = 30
        filled = width * self.done // max(self.found, 1)
        more = " (reading partitions)" if self.reading else ""
        self.stream.write(f"\rchecking APKs [{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.found}{more}")
        self.stream.flush()

    def _clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")


def run(targets: list[str], *, work: sources.WorkSpace, jobs: int | None = None,
        progress: Progress | None = None) -> ScanResult:
    progress = progress or Progress()
    jobs = jobs or os.cpu_count() or 1
    partitions: list[sources.PartitionResult] = []
    checked: list[tuple[FoundApp, object]] = []
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as checkers, \
            concurrent.futures.ThreadPoolExecutor(max_workers=READER_THREADS,
                                                  thread_name_prefix="gate-image") as readers:
        try:
            _drain(sources.plan(targets, work, progress.note), readers, checkers, partitions, checked, progress)
        except BaseException:  # Ctrl-C or a bug: do not wait for hundreds of queued checks
            for pool in (readers, checkers):
                pool.shutdown(wait=False, cancel_futures=True)
            raise
    progress.finish()
    order = {name: i for i, name in enumerate(_partition_order(partitions))}
    partitions.sort(key=lambda p: order[p.name])
    checked.sort(key=lambda pair: pair[0].device_path)
    return ScanResult(partitions, checked)


def _drain(jobs, readers, checkers, partitions, checked, progress) -> None:
    """Run the partition jobs; hand every APK found to the checkers at once; collect both."""
    pending: dict[concurrent.futures.Future, FoundApp] = {}
    reading = {readers.submit(job) for job in jobs}
    waiting: set[concurrent.futures.Future] = set(reading)
    while waiting:
        done, waiting = concurrent.futures.wait(waiting, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            if future in reading:
                reading.discard(future)
                result = future.result()
                partitions.append(result)
                progress.reading = bool(reading)
                progress.partition(result)
                # Largest first: a big APK started last would leave the other cores idle at the end.
                for app in sorted(result.apps, key=lambda a: -os.path.getsize(a.local)):
                    check = checkers.submit(read_facts, app.local)
                    pending[check] = app
                    waiting.add(check)
            else:
                checked.append((pending.pop(future), future.result()))
                progress.checked()


def _partition_order(partitions: list[sources.PartitionResult]) -> list[str]:
    from gate.preinstall.layout import PARTITIONS

    names = {p.name for p in partitions}
    return [n for n in PARTITIONS if n in names] + sorted(names - set(PARTITIONS))

