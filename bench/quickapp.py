"""Quick-app extraction at the packager's size limit: ``extract_features`` on a .rpk the official packager signs.

    python bench/quickapp.py [--repeat 5] [--megabytes 8]

Builds (once, in a temporary directory) a package whose JS bundles total ``--megabytes`` of minified-looking code
with URLs in it, signed by @hap-toolkit/packager (fixtures/quickapp.py; ``python3 -m fixtures.quickapp toolkit``
first). The packager warns above 20 MB for all packages of an app and 2 MB per sub-package. Best-of-N wall time of
``extract_features`` (verification: three section digests, per-file digests, META-INF/CERT; the network scan of
every bundle); figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bundle(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = [f"var a{i}=function(e,t){{return e+t*{i}}};" for i in range(200)]
    out, total = [], 0
    while total < size:
        piece = rng.choice(words) if rng.random() > 0.01 else \
            f'fetch.fetch({{url:"https://api{rng.randrange(40)}.quick.filinggate.cn/v{rng.randrange(9)}/x"}});'
        out.append(piece)
        total += len(piece)
    return "".join(out).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=8)
    args = parser.parse_args()
    from fixtures import quickapp
    from gate.extract.pipeline import extract_features

    quickapp.ensure_toolkit()
    files = quickapp.source_files()
    pages = 8
    for page in range(pages):
        files[f"pages/P{page}/p{page}.js"] = bundle(int(args.megabytes * 1024 * 1024 / pages), page)
    key, cert = quickapp.test_key("a")
    with tempfile.TemporaryDirectory() as scratch:
        path = pathlib.Path(scratch) / "large.rpk"
        started = time.perf_counter()
        path.write_bytes(quickapp.build_signed(files, key, cert))
        print(f"packager build + sign: {time.perf_counter() - started:.2f} s, {path.stat().st_size / 1e6:.1f} MB")
        best = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            facts = extract_features(path)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        assert facts.signature.verified, facts.signature.errors
        print(f"extract_features: best of {args.repeat} {1000 * best:.0f} ms, {len(facts.network.hosts)} hosts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
