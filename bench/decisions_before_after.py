"""The same facts and decisions before and after a change: `gate check --json` on every fixture and corpus package.

Runs one tree's gate (``--tree``: a checkout of the code to compare, put first on PYTHONPATH) against a fresh SQLite
database holding the demo filings (``gate demo``), twice per package set (no declared entity, then a declared
entity and category, so steps 8 and 10 run), and writes what it answered and what it stored (every gate_check row:
facts, decision, platform, entity, category, policy) as JSON Lines. Two such files compared byte for byte say the
change kept every decision::

    python bench/decisions_before_after.py --tree /tmp/main-checkout --out /tmp/before.jsonl
    python bench/decisions_before_after.py --tree . --out /tmp/after.jsonl
    cmp /tmp/before.jsonl /tmp/after.jsonl

Used for issue #24 (one decision entry point): docs/architecture.md says what it compared.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUFFIXES = {".apk", ".apks", ".apkm", ".xapk", ".aab", ".ipa", ".hap", ".app", ".rpk", ".rpks"}
CORPUS = pathlib.Path.home() / ".cache" / "filing-gate" / "corpus"
STORED = ("path", "package_sha256", "package", "platform", "verdict", "reason_codes", "facts", "facts_sha256",
          "filing_version_id", "policy", "decision", "developer_entity", "category", "unpacked_sha256")


def packages() -> list[str]:
    found = [p for base in (ROOT / "fixtures", CORPUS) if base.is_dir() for p in base.rglob("*")
             if p.is_file() and p.suffix in SUFFIXES]
    return sorted(str(p) for p in found)


def gate(tree: pathlib.Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    code = "import sys; from gate.cli import main; sys.exit(main(sys.argv[1:]))"
    # Run in the tree: `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH.
    return subprocess.run([sys.executable, "-c", code, *args], env={**env, "PYTHONPATH": str(tree)},
                          cwd=tree, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=pathlib.Path, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    paths = packages()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GATE_DATABASE_URL": f"sqlite:///{tmp}/gate.db"}
        for step in (("db", "upgrade"), ("demo",)):
            done = gate(args.tree, env, *step)
            if done.returncode:
                sys.exit(f"gate {' '.join(step)} failed: {done.stderr}")
        probe = subprocess.run([sys.executable, "-c", "import gate; print(gate.__file__)"], cwd=args.tree,
                               env={**env, "PYTHONPATH": str(args.tree)}, capture_output=True, text=True)
        print(f"gate from {probe.stdout.strip()}")  # the tree that answers, not an installed copy
        lines = []
        for declared in ((), ("--developer-entity", "某某科技有限公司", "--category", "新闻")):
            done = gate(args.tree, env, "check", "--json", *declared, *paths)  # one answer per line, in order
            if done.returncode not in (0, 3, 4):
                sys.exit(f"gate check failed ({done.returncode}): {done.stderr}")
            lines += [json.dumps({"declared": list(declared), "answer": json.loads(line)}, ensure_ascii=False,
                                 sort_keys=True) for line in done.stdout.splitlines()]
        with sqlite3.connect(f"{tmp}/gate.db") as db:
            for row in db.execute(f"SELECT {', '.join(STORED)} FROM gate_check ORDER BY id"):
                lines.append(json.dumps(dict(zip(STORED, row)), ensure_ascii=False))
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(paths)} packages, {len(lines)} lines -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
