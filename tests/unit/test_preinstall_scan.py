"""How the preinstall scan spends its cores: the order APKs are checked in, the copies it deletes as it goes, and
the modules its check workers inherit from the forkserver instead of importing each."""

from __future__ import annotations

import concurrent.futures
import io
import json
import pathlib
import subprocess
import sys

from gate.preinstall import scan, sources
from gate.preinstall.layout import FoundApp

ROOT = pathlib.Path(__file__).resolve().parents[2]
APKS = ROOT / "fixtures" / "apks"


def done(value) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(value)
    return future


class Readers:
    """Reads each partition the moment it is submitted: every partition is read before the first check."""

    def submit(self, job):
        return done(job())


class Checkers:
    """Records the APKs in the order they are handed over."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def submit(self, function, path):
        self.given.append(path)
        return done("facts")


def test_every_apk_found_is_checked_largest_first_across_partitions(tmp_path):
    sizes = {"system": [300, 5, 70], "product": [900, 40], "odm": [1, 600]}
    results = []
    for name, lengths in sizes.items():
        apps = []
        for i, length in enumerate(lengths):
            path = tmp_path / f"{name}{i}.apk"
            path.write_bytes(bytes(length))
            apps.append(FoundApp(str(path), f"/{name}/app/{i}.apk", name))
        results.append(sources.PartitionResult(name, "super.img", "ext4", apps))
    checkers, checked, partitions = Checkers(), [], []
    with sources.WorkSpace(str(tmp_path)) as work:
        scan._drain([lambda r=r: r for r in results], Readers(), checkers, 1, partitions, checked,
                    scan.ScanProgress(stream=io.StringIO()), work)
    order = [pathlib.Path(p).stat().st_size for p in checkers.given]
    assert order == sorted((n for lengths in sizes.values() for n in lengths), reverse=True)
    assert len(checked) == 7 and sorted(p.name for p in partitions) == sorted(sizes)
    # The APKs were outside the work directory (an unpacked tree): the scan never deletes them.
    assert all(pathlib.Path(p).exists() for p in checkers.given)


def test_workspace_deletes_only_its_own_copies(tmp_path, monkeypatch):
    mine = tmp_path / "user.apk"
    mine.write_bytes(b"PK")
    monkeypatch.chdir(tmp_path)
    with sources.WorkSpace(".") as work:  # --work-dir given as a relative path
        copy = work.new("app.apk", directory=False)
        pathlib.Path(copy).write_bytes(b"PK")
        work.discard(copy)
        assert not pathlib.Path(copy).exists()
        for outside in (str(mine), f"{work.root}/../user.apk", f"{work.root}-other/user.apk"):
            work.discard(outside)
        work.discard(copy)  # already gone: nothing to do
        kept = pathlib.Path(work.new("kept.apk", directory=False))
        kept.write_bytes(b"PK")
        work.discard(str(kept.resolve()))  # the same file named by its absolute path
        assert not kept.exists()
    assert mine.exists()


def test_checker_modules_cover_an_apks_extraction():
    # In a fresh interpreter, as in a check worker forked from the forkserver: after CHECKER_MODULES, extracting
    # APKs (several signature schemes, native code, a plain one) imports no further module of the gate.
    script = f"""
import importlib, json, sys
from gate.preinstall.scan import CHECKER_MODULES
for name in CHECKER_MODULES:
    if name != "__main__":
        importlib.import_module(name)
before = set(sys.modules)
from gate.preinstall.scan import read_facts
for apk in {[str(APKS / n) for n in ("hello_zh.apk", "v1_v2_v3.apk", "multidex_native.apk", "legacy_v1.apk",
                                     "not_a_zip.apk")]!r}:
    try:
        read_facts(apk)
    except Exception:
        pass
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("gate"))))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []
