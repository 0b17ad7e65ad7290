"""Whole `gate` processes, start-up included: this tree against an earlier revision, 20 interleaved runs each.

    python bench/startup.py ~/.cache/filing-gate/corpus/app-uiautomator.apk --revision main --runs 20

What a developer's CI job or a shell user pays per command: ``python -c pass`` (the interpreter alone), the
imports of the libraries ``gate features`` needs and nothing else (``LIBRARIES``, the floor with these libraries),
``gate --help``, ``gate --version``, ``gate features --json APK``, ``gate check --json --filings EMPTY APK`` (an empty
filings file). Each process runs what the ``gate`` console script runs (``gate.cli.run``, or ``gate.cli.main`` in a
revision without it) with the tree under test first on ``sys.path`` (the revision's
``gate/`` unpacked with ``git archive``, given this tree's built C extensions where their source is unchanged and
its own compiled otherwise),
bytecode compiled beforehand for both (this VM sets PYTHONDONTWRITEBYTECODE; an installed gate has its bytecode).
The commands and trees alternate run by run, so all see the same load. Prints min and median wall time and CPU (user
+ system of the child, ``getrusage``) per command and tree, like hyperfine's ``-N -r 20``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# What the `gate` console script runs in each tree: gate.cli.run where the tree has it (main, then gc.freeze before
# the interpreter's shutdown), else gate.cli.main.
ENTRY = ("import sys; sys.path.insert(0, sys.argv.pop(1)); import gate.cli as cli; run = getattr(cli, 'run', None); "
         "sys.exit(run() if run else cli.main(sys.argv[1:]))")


# The libraries (and their standard-library imports) a `gate features` process on an APK cannot do without: the
# command line, the signature checks' key loading and verification, certificate and CMS parsing, inflating (the
# package holding the public-suffix list is not imported: its list is found on sys.path). A process importing only
# these is the floor any `gate features` built on these libraries pays before the gate's own modules and the
# reading of the package.
LIBRARIES = ("import click, dataclasses, json, hashlib, mmap, struct, threading, bisect, unicodedata, ipaddress, "
             "isal.isal_zlib, cryptography.exceptions, cryptography.hazmat.primitives.serialization, "
             "cryptography.hazmat.primitives.asymmetric.rsa, cryptography.hazmat.primitives.asymmetric.ec, "
             "cryptography.hazmat.primitives.asymmetric.dsa, cryptography.hazmat.primitives.asymmetric.padding, "
             "asn1crypto.x509, asn1crypto.keys, asn1crypto.cms")


def timed(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                   check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _share_built_extensions(earlier: pathlib.Path) -> None:
    """Give the revision its C extensions: this tree's build where the source is the same, else its own source
    compiled with setup.py's flags. ``git archive`` holds no build, and without one the revision would run the
    scanner's pure-Python fallback and look slower than it is."""
    for built in (ROOT / "gate").rglob("*.so"):
        relative = built.relative_to(ROOT)
        source = (ROOT / relative).parent / (relative.name.split(".")[0] + ".c")
        theirs = earlier / source.relative_to(ROOT)
        if source.is_file() and theirs.is_file() and source.read_bytes() == theirs.read_bytes():
            shutil.copy2(built, earlier / relative)
        elif theirs.is_file():
            compiler = (sysconfig.get_config_var("CC") or "cc").split()
            subprocess.run([*compiler, "-O2", "-std=c11", "-shared", "-fPIC", "-I", sysconfig.get_paths()["include"],
                            str(theirs), "-o", str(earlier / relative)], check=True)
            print(f"note: {relative} built from the revision's own source (it differs from this tree's)")


def unpack_revision(revision: str, into: pathlib.Path) -> None:
    """The revision's ``gate/`` in ``into``, with its C extensions, bytecode compiled there and in this tree."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "gate"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    _share_built_extensions(into)
    for tree in (into, ROOT):
        compileall.compile_dir(str(tree / "gate"), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", type=pathlib.Path)
    parser.add_argument("--revision", default="main")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        earlier = pathlib.Path(tmp)
        unpack_revision(args.revision, earlier)
        no_filings = pathlib.Path(tmp) / "filings.json"  # gate check --filings against an empty filings file
        no_filings.write_text("[]", encoding="utf-8")
        commands = {"--help": ["--help"], "--version": ["--version"],
                    f"features {args.apk.name}": ["features", "--json", str(args.apk.resolve())],
                    f"check --filings {args.apk.name}": ["check", "--json", "--filings", str(no_filings),
                                                         str(args.apk.resolve())]}
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {("python -c pass", ""): [],
                                                                  ("the libraries' imports", ""): []}
        trees = {args.revision: earlier, "this tree": ROOT}
        for command in commands:
            for name in trees:
                runs[(command, name)] = []
        for _ in range(args.runs):
            runs[("python -c pass", "")].append(timed([sys.executable, "-c", "pass"]))
            runs[("the libraries' imports", "")].append(timed([sys.executable, "-c", LIBRARIES]))
            for command, argv in commands.items():
                for name, tree in trees.items():
                    runs[(command, name)].append(timed([sys.executable, "-c", ENTRY, str(tree), *argv]))
    load = os.getloadavg()
    print(f"{args.runs} interleaved runs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for (command, name), pairs in runs.items():
        walls, cpus = [w * 1000 for w, _ in pairs], [c * 1000 for _, c in pairs]
        print(f"{command:>32} {name:>10}: wall min {min(walls):6.1f} ms median {statistics.median(walls):6.1f} ms;"
              f" CPU min {min(cpus):6.1f} ms median {statistics.median(cpus):6.1f} ms")


if __name__ == "__main__":
    main()
