"""Fixtures every test directory may use, and the rule for tests whose requirements are missing (tests/requirements.py):
skipped with one line on a developer's machine, failed under ``CI=true``."""

from __future__ import annotations

import collections

import pytest

from tests import requirements


def pytest_configure(config):
    config.addinivalue_line("markers", "requires(tools=(), files=(), how=None): what the test needs from the machine "
                                       "(tests/requirements.py: needs_tools, needs_files)")


@pytest.hookimpl(tryfirst=True)  # before any fixture of the test is built
def pytest_runtest_setup(item):
    for marker in item.iter_markers("requires"):
        requirements.check_marker(marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not call.excinfo.errisinstance(requirements.Missing):
        return
    message = str(call.excinfo.value.msg)
    item.config.stash.setdefault(_MISSING, collections.Counter())[message] += 1
    if requirements.complete_run_required():
        report.outcome = "failed"
        report.longrepr = f"{message} (CI=true: every tool and data set must be present; .ci/run installs them)"


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report):
    # A module that raises Missing at import time is skipped (or failed under CI) like a test.
    if report.skipped and requirements.complete_run_required() and isinstance(report.longrepr, tuple) \
            and str(report.longrepr[2]).startswith("Skipped: needs "):
        report.outcome = "failed"


def pytest_terminal_summary(terminalreporter, config):
    counts = config.stash.get(_MISSING, None)
    if not counts:
        return
    terminalreporter.section("missing on this machine (tests/requirements.py)")
    for message, n in sorted(counts.items()):
        terminalreporter.write_line(f"{n:4} test{'s' if n > 1 else ' '} {message}")


_MISSING = pytest.StashKey[collections.Counter]()


@pytest.fixture(scope="session")
def corpus_apk():
    """``corpus_apk(name)`` is the cached path of a real-world corpus APK (fixtures/corpus.py); without it the test is
    skipped with the fetch command (failed under CI, which fetches the corpus first)."""
    return requirements.corpus_apk
