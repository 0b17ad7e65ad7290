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
from dataclasses import dataclass

from gate.extract.facts import PackageFacts
from gate.preinstall import sources
from gate.preinstall.layout import FoundApp
from gate.progress import Progress

READER_THREADS = 2  # partitions read side by side; the tools mostly wait on the disk


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


def run(targets: list[str], *, work: sources.WorkSpace, jobs: int | None = None,
        progress: ScanProgress | None = None) -> ScanResult:
    progress = progress or ScanProgress()
    jobs = jobs or os.cpu_count() or 1
    partitions: list[sources.PartitionResult] = []
    checked: list[tuple[FoundApp, PackageFacts]] = []
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
                progress.partition(result)
                # Largest first: a big APK started last would leave the other cores idle at the end.
                for app in sorted(result.apps, key=lambda a: -os.path.getsize(a.local)):
                    check = checkers.submit(read_facts, app.local)
                    pending[check] = app
                    waiting.add(check)
            else:
                checked.append((pending.pop(future), future.result()))
                progress.advance()


def _partition_order(partitions: list[sources.PartitionResult]) -> list[str]:
    from gate.preinstall.layout import PARTITIONS

    names = {p.name for p in partitions}
    return [n for n in PARTITIONS if n in names] + sorted(names - set(PARTITIONS))

