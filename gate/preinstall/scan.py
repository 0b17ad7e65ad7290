"""Check every app of an image on every core while the next partition is still being read.

Partitions are read by a few threads (the work happens in ``debugfs``/``fsck.erofs`` processes), smallest first, so
the cores have APKs to check as early as possible; each APK found waits in one queue, largest first, from which a
process pool takes the next as a worker frees up (``extract_features``: container, manifest, signatures,
network), so the scan never ends on a large APK started last. The pool's forkserver is started before anything is
read and imports the extraction's modules once, while the first partition is being read; each worker is a fork of
it. An APK's copy is deleted once it is checked, so the work directory is nearly empty when the checks end. The
decisions are made afterwards in this process, with one filings lookup for all packages. Progress goes to stderr:
a bar on a terminal, plain lines otherwise (logs of a release job).
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import multiprocessing
import os
from dataclasses import dataclass

from gate.extract.facts import PackageFacts
from gate.preinstall import sources
from gate.preinstall.layout import FoundApp
from gate.progress import Progress

READER_THREADS = 2  # partitions read side by side; the tools mostly wait on the disk
# Imported once by the forkserver, so no check worker imports them again. A name missing here is only imported by
# each worker on its first APK (tests/unit/test_preinstall_scan.py checks the list covers an APK's extraction).
CHECKER_MODULES = ("__main__", "gate.preinstall.scan", "gate.extract.pipeline", "gate.extract.formats",
                   "gate.extract.arsc", "gate.extract.manifest", "gate.extract.filing_number",
                   "gate.extract.network", "gate.extract.protection", "gate.extract.signing",
                   "concurrent.futures.thread")
QUEUED_PER_WORKER = 2  # checks handed to the pool ahead of the free workers; the rest wait, largest first


@dataclass
class ScanResult:
    partitions: list[sources.PartitionResult]
    checked: list[tuple[FoundApp, PackageFacts]]  # (app, PackageFacts) in device-path order


def read_facts(local: str):
    from gate.extract.pipeline import extract_features

    return extract_features(local)


class ScanProgress(Progress):
    """``checking APKs``: the total grows as each partition is read, and each partition gets a line of its own."""

    def __init__(self, stream=None) -> None:
        super().__init__("checking APKs", total=0, unit="APKs", stream=stream)

    def partition(self, result: sources.PartitionResult) -> None:
        self.set_total((self.total or 0) + len(result.apps))
        errors = f", {len(result.errors)} unreadable" if result.errors else ""
        self.note(f"partition {result.name or '-'} ({result.format}, {result.source}): "
                  f"{len(result.apps)} APKs{errors}")


def start_checkers():
    """The forkserver the check workers are forked from, started now: it imports CHECKER_MODULES while this
    process goes on (loading filings, reading the partition table). Returns the context to make the pool with."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(CHECKER_MODULES))
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return context


def run(targets: list[str], *, work: sources.WorkSpace, jobs: int | None = None,
        progress: ScanProgress | None = None) -> ScanResult:
    progress = progress or ScanProgress()
    jobs = jobs or os.cpu_count() or 1
    partitions: list[sources.PartitionResult] = []
    checked: list[tuple[FoundApp, PackageFacts]] = []
    context = start_checkers()
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as checkers, \
            concurrent.futures.ThreadPoolExecutor(max_workers=READER_THREADS,
                                                  thread_name_prefix="gate-image") as readers:
        try:
            _drain(sources.plan(targets, work, progress.note), readers, checkers, jobs, partitions, checked,
                   progress, work)
        except BaseException:  # Ctrl-C or a bug: do not wait for hundreds of queued checks
            for pool in (readers, checkers):
                pool.shutdown(wait=False, cancel_futures=True)
            raise
    progress.finish()
    order = {name: i for i, name in enumerate(_partition_order(partitions))}
    partitions.sort(key=lambda p: order[p.name])
    checked.sort(key=lambda pair: pair[0].device_path)
    return ScanResult(partitions, checked)


def _drain(jobs, readers, checkers, workers: int, partitions, checked, progress, work) -> None:
    """Run the partition jobs; queue every APK found, largest first, and keep the checkers supplied; collect
    both."""
    queued: list[tuple[int, int, FoundApp]] = []  # (-size, order found, app): a heap, largest first
    found = itertools.count()
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
                progress.partition(result)
                for app in result.apps:
                    heapq.heappush(queued, (-os.path.getsize(app.local), next(found), app))
            else:
                app = pending.pop(future)
                checked.append((app, future.result()))
                work.discard(app.local)  # checked: its copy is no longer needed
                progress.advance()
        # A big APK started last would leave the other cores idle at the end: the largest waiting goes next.
        while queued and len(pending) < workers * QUEUED_PER_WORKER:
            app = heapq.heappop(queued)[2]
            check = checkers.submit(read_facts, app.local)
            pending[check] = app
            waiting.add(check)


def _partition_order(partitions: list[sources.PartitionResult]) -> list[str]:
    from gate.preinstall.layout import PARTITIONS

    names = {p.name for p in partitions}
    return [n for n in PARTITIONS if n in names] + sorted(names - set(PARTITIONS))

