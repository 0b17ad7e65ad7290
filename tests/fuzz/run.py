"""Coverage-guided fuzzing of one target with atheris (libFuzzer), seeded with the fixtures.

    .venv/bin/python -m tests.fuzz.run TARGET [--seconds N] [--corpus DIR] [--jobs N]
    .venv/bin/python -m tests.fuzz.run --list

Limits that must hold for every input: ``--timeout`` seconds per input (a hang is a finding) and ``--rss-mb`` of
memory (a blow-up is a finding). A finding leaves the input in ``crash-*``/``timeout-*``/``oom-*`` files in the
working directory; reproduce with ``python -m tests.fuzz.run TARGET --reproduce FILE``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

DEFAULT_TIMEOUT = 20
DEFAULT_RSS_MB = 2048
MAX_INPUT = 4 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", nargs="?")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--runs", type=int, default=-1, help="stop after this many inputs (-1: only --seconds)")
    ap.add_argument("--corpus", type=pathlib.Path, default=None, help="keep the growing corpus here")
    ap.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT)
    ap.add_argument("--rss-mb", type=int, default=DEFAULT_RSS_MB)
    ap.add_argument("--reproduce", type=pathlib.Path, default=None)
    args = ap.parse_args(argv)

    import atheris

    with atheris.instrument_imports(include=["gate"]):
        from tests.fuzz import targets as registry
        _preload()
    if args.list or not args.target:
        print("\n".join(sorted(registry.TARGETS)))
        return 0
    fn = registry.TARGETS[args.target]
    if args.reproduce:
        fn(args.reproduce.read_bytes())
        print("no finding")
        return 0
    corpus = args.corpus or pathlib.Path(tempfile.mkdtemp(prefix=f"gate-fuzz-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(registry.seeds(args.target)):
        if len(seed) <= MAX_INPUT:
            (corpus / f"seed-{i:04d}").write_bytes(seed)
    libfuzzer_args = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-timeout={args.timeout}",
                      f"-rss_limit_mb={args.rss_mb}", f"-max_len={MAX_INPUT}", f"-runs={args.runs}",
                      "-print_final_stats=1"]
    atheris.Setup(libfuzzer_args, lambda data: fn(bytes(data)))
    atheris.Fuzz()
    return 0


def _preload() -> None:
    """Import every reader inside the instrumentation context (the targets import lazily)."""
    import gate.extract.arsc  # noqa: F401
    import gate.extract.axml  # noqa: F401
    import gate.extract.container  # noqa: F401
    import gate.extract.ios.cms  # noqa: F401
    import gate.extract.ios.codesign  # noqa: F401
    import gate.extract.ios.macho  # noqa: F401
    import gate.extract.network  # noqa: F401
    import gate.extract.pipeline  # noqa: F401
    import gate.extract.signing.certs  # noqa: F401
    import gate.filings.stream  # noqa: F401


if __name__ == "__main__":
    sys.exit(main())
