"""Dump ``gate features --json`` for every fixture and corpus package into one file, to compare two revisions.

A change that is meant to keep facts byte-identical (start-up work, table formats, scanner rewrites) is checked by
running this before and after and comparing the two files with ``cmp``::

    python bench/facts_dump.py /tmp/before.jsonl
    ... change ...
    python bench/facts_dump.py /tmp/after.jsonl && cmp /tmp/before.jsonl /tmp/after.jsonl

The network scanner's two cores (``gate.extract.network.core``) are compared the same way, in one tree::

    python bench/facts_dump.py --core python /tmp/python.jsonl bench/work/large.apk
    python bench/facts_dump.py --core compiled /tmp/compiled.jsonl bench/work/large.apk

Packages: any APK named after OUT (the bench APK), ``fixtures/**/*.apk`` (built by the fixture generators) and
every ``*.apk`` in the real-app corpus
(``$GATE_CORPUS`` or ``~/.cache/filing-gate/corpus``). Each line is the exact line ``gate features --json`` prints,
run in one process so the dump takes seconds rather than a process start per package. Fixture paths are written
relative to the checkout, so two checkouts (``git archive main`` into a scratch directory, run with ``PYTHONPATH``
pointing there) compare directly. Fix ``PYTHONHASHSEED`` for both runs: some evidence lists (packer markers) follow
set order, which changes with the string-hash seed between any two processes.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def packages(extra: list[str]) -> list[pathlib.Path]:
    corpus = pathlib.Path(os.environ.get("GATE_CORPUS", pathlib.Path.home() / ".cache/filing-gate/corpus"))
    found = ([pathlib.Path(p).resolve() for p in extra] + sorted((ROOT / "fixtures").rglob("*.apk"))
             + sorted(corpus.glob("*.apk")))
    return [p for p in found if p.is_file()]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("apks", nargs="*", help="more packages, dumped first (the bench APK)")
    parser.add_argument("--core", choices=("compiled", "python"), help="the network scanner's core (default: as built)")
    args = parser.parse_args(argv)
    from gate.config import load_settings
    from gate.extract.pipeline import extract_features

    if args.core:  # only trees that have the switch (issue #28) know it
        from gate.extract.network import core

        core.select(args.core)
    out = args.out
    trust = load_settings().trust_roots
    paths = packages(args.apks)
    os.chdir(ROOT)
    with open(out, "w", encoding="utf-8") as dump:
        for path in paths:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            facts = extract_features(str(shown), trust=trust)
            dump.write(json.dumps(facts.as_dict(), ensure_ascii=False, sort_keys=False) + "\n")
    print(f"{len(paths)} packages -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
