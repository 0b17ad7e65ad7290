"""Fixtures every test directory may use."""

from __future__ import annotations

import pathlib

import pytest

from fixtures import corpus


@pytest.fixture(scope="session")
def corpus_apk():
    """``corpus_apk(name)`` is the cached path of a real-world corpus APK (fixtures/corpus.py).

    A missing corpus fails the test with the command that fetches it: a test that needs real packages and quietly
    skips would count as coverage it is not. ``.ci/run`` fetches the corpus before the tests.
    """
    def get(name: str) -> pathlib.Path:
        try:
            return corpus.path(name)
        except corpus.CorpusMissing as exc:
            pytest.fail(str(exc), pytrace=False)
    return get
