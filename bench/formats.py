"""Extraction time per package format: ``extract_features`` on the format fixtures and on a real-size IPA.

    python bench/formats.py [--repeat 5]

The real-size IPA wraps CMake's 26 MB universal executable (fixtures/apple_signed.py; fetch it first) the way an
IPA wraps an app's main executable: lief reads both slices, the CMS signatures are verified to Apple Root CA and
every page hash (SHA-1 and SHA-256 CodeDirectories, 13,000 pages) is checked. The first line is the one-time cost
of importing lief in a fresh process. Best-of-N wall time per package; figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import pathlib
import plistlib
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGES = ["fixtures/apks/hello_zh.apk", "fixtures/sets/split_good.apks", "fixtures/bundles/bundle_signed.aab",
            "fixtures/ios/ios_signed.ipa", "fixtures/harmony/hap_signed.hap", "fixtures/harmony/app_pack.app",
            "fixtures/quickapp/rpk_signed.rpk", "fixtures/quickapp/rpks_signed.rpks"]


def real_size_ipa(directory: pathlib.Path) -> pathlib.Path:
    from fixtures import apple_signed

    ipa = directory / "cmake.ipa"
    with zipfile.ZipFile(ipa, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Payload/CMake.app/Info.plist", plistlib.dumps(
            {"CFBundleIdentifier": "org.cmake.cmake", "CFBundleExecutable": "cmake"}))
        archive.write(apple_signed.path(), "Payload/CMake.app/cmake")
    return ipa


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    importing = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import lief; "
                                "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
    print(f"import lief in a fresh process: {1000 * float(importing.stdout):.0f} ms")
    from gate.extract.pipeline import extract_features

    with tempfile.TemporaryDirectory() as scratch:
        packages = [ROOT / p for p in PACKAGES] + [real_size_ipa(pathlib.Path(scratch))]
        for package in packages:
            facts = extract_features(package)  # warm: imports, caches
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                extract_features(package)
                times.append(time.perf_counter() - start)
            print(f"{package.name}: {facts.format}, {package.stat().st_size} bytes, best {1000 * min(times):.1f} ms, "
                  f"median {1000 * sorted(times)[len(times) // 2]:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
