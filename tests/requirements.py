"""What a test needs from the machine beyond the virtual environment, and one way to say that it is missing.

`make test` runs on whatever the machine has: a test that needs an Android tool, the real-app corpus, a service or a
test extra that is not there is skipped with one line naming what is missing and how to get it. Under ``CI=true``
the same skip is a failure (the hook in ``tests/conftest.py``): CI installs everything, so a missing piece there is
a broken run, never quiet lost coverage. ``.ci/run`` installs the tools and fetches the data first.

Use it in a test or fixture::

    from tests import requirements

    apksigner = requirements.tool("apksigner")               # its path, or the test is skipped (failed under CI)
    apk = requirements.corpus_apk("ApiDemos-debug.apk")      # the pinned corpus file
    binary = requirements.apple_signed()                     # the Apple-signed Mach-O
    url = requirements.postgres_url()                        # GATE_TEST_POSTGRES_URL
    apkid = requirements.module("apkid", how="pip install -e '.[test]'")

or, for a whole module or function, the marker (checked before the test's fixtures run)::

    pytestmark = requirements.needs_tools("apksigner", "zipalign")
    @requirements.needs_files("/usr/bin/chromium", how="apt-get install chromium")

A tool not listed in ``HOW`` needs its own ``how=``; add the common ones to ``HOW`` so every test says the same.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import socket

import pytest

# How to get each tool the tests use (Debian package names; .ci/run installs the same).
HOW: dict[str, str] = {
    "apksigner": "apt-get install apksigner",
    "aapt": "apt-get install aapt",
    "zipalign": "apt-get install zipalign",
    "smali": "apt-get install libsmali-java",
    "dexdump": "apt-get install dexdump",
    "keytool": "apt-get install default-jre-headless",
    "jarsigner": "apt-get install default-jdk-headless",
    "openssl": "apt-get install openssl",
    "img2simg": "apt-get install android-sdk-libsparse-utils",
    "simg2img": "apt-get install android-sdk-libsparse-utils",
    "mkfs.ext4": "apt-get install e2fsprogs",
    "debugfs": "apt-get install e2fsprogs",
    "mkfs.erofs": "apt-get install erofs-utils",
    "fsck.erofs": "apt-get install erofs-utils",
    "chromium": "apt-get install chromium",
    "npm": "apt-get install npm",
    "clang": "apt-get install clang lld",
    "gcc": "apt-get install gcc",
}
FRAMEWORK_RES = "/usr/share/android-framework-res/framework-res.apk"


class Missing(pytest.skip.Exception):
    """A test's requirement is not on this machine: a skip with one line, a failure under ``CI=true``."""


def complete_run_required() -> bool:
    """CI must run every test: there a missing requirement fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(what: str, how: str) -> Missing:
    return Missing(f"needs {what}: {how}", allow_module_level=True)


def tool(name: str, *, how: str | None = None) -> str:
    found = shutil.which(name)
    if found is None:
        raise missing(f"{name} (not on PATH)", how or HOW.get(name, f"install {name}"))
    return found


def file(path: str | os.PathLike, *, how: str) -> pathlib.Path:
    file_path = pathlib.Path(path)
    if not file_path.exists():
        raise missing(str(file_path), how)
    return file_path


def module(name: str, *, how: str = "pip install -e '.[test]'") -> None:
    if importlib.util.find_spec(name) is None:
        raise missing(f"the Python module {name}", how)


def corpus_apk(name: str) -> pathlib.Path:
    from fixtures import corpus

    try:
        return corpus.path(name)
    except corpus.CorpusMissing:
        raise missing(f"the corpus APK {name} in {corpus.cache_dir()}",
                      "python3 -m fixtures.corpus fetch (npm and Debian's android-framework-res)") from None


def apple_signed() -> pathlib.Path:
    from fixtures import apple_signed as signed
    from fixtures.corpus import CorpusMissing, cache_dir

    try:
        return signed.path()
    except CorpusMissing:
        raise missing(f"the Apple-signed Mach-O in {cache_dir()}", "python3 -m fixtures.apple_signed fetch") from None


def rpk_toolkit():
    """The official quick-app packager (npm @hap-toolkit/packager, pinned) and node, for building .rpk packages."""
    from fixtures import quickapp

    tool("node", how="apt-get install nodejs npm")
    marker = quickapp.TOOLKIT_DIR / "node_modules" / "@hap-toolkit" / "packager" / "package.json"
    if not marker.exists():
        raise missing(f"{quickapp.TOOLKIT_PACKAGE}@{quickapp.TOOLKIT_VERSION} in {quickapp.TOOLKIT_DIR}",
                      "python3 -m fixtures.quickapp toolkit (npm install into the cache, ~20 s)")
    return quickapp.TOOLKIT_DIR


def postgres_url() -> str:
    url = os.environ.get("GATE_TEST_POSTGRES_URL")
    if not url:
        raise missing("PostgreSQL (GATE_TEST_POSTGRES_URL unset)",
                      "export GATE_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test "
                      "(.ci/run sets it when the server runs)")
    return url


def listening(host: str, port: int, *, what: str, how: str) -> None:
    """A service on this machine (Redis, PostgreSQL) answers TCP connections."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        raise missing(f"{what} on {host}:{port}", how) from None


# --- markers: the requirement is checked in setup, before the test's fixtures build anything ------------------------

def needs_tools(*names: str, how: str | None = None) -> pytest.MarkDecorator:
    return pytest.mark.requires(tools=names, how=how)


def needs_files(*paths: str, how: str) -> pytest.MarkDecorator:
    return pytest.mark.requires(files=paths, how=how)


def check_marker(marker: pytest.Mark) -> None:
    how = marker.kwargs.get("how")
    for name in marker.kwargs.get("tools", ()):
        tool(name, how=how)
    for path in marker.kwargs.get("files", ()):
        file(path, how=how)
