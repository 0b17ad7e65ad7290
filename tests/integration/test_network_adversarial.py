"""An entry of a few MB made of one repeated anchor, posted anonymously to /precheck: answered within a stated time.

The scanner searches anchors from the end of the last token judged and stops at the package's scanning budget
(``MAX_SCAN_ANCHORS``, docs/network.md "Scanning cost"), recording ``network_scan_budget`` among the package's
problems, which the decision reports (fail closed: a package not completely scanned is never allowed).
``bench/scan_adversarial.py`` measures the cost per MB (docs/benchmarks.md).
"""

from __future__ import annotations

import time
import zipfile

import pytest
import requests

from tests.integration.http_support import HELLO, multipart

ENTRY_MB = 4
# Stated in docs/network.md: on the project's loaded 2-core machine the worst unit takes under 3 s in the scanner;
# the whole request (upload, every other reader, the page) is given ten times that.
ANSWER_WITHIN_SECONDS = 30


def package_with(tmp_path, unit: bytes, prefix: bytes = b""):
    """hello_zh.apk's entries plus ``assets/adversarial.txt`` (stored, so no inflate-ratio limit refuses it first)."""
    size = ENTRY_MB << 20
    out = tmp_path / "adversarial.apk"
    with zipfile.ZipFile(HELLO) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if not info.filename.startswith("META-INF/"):
                target.writestr(info, source.read(info))
        target.writestr(zipfile.ZipInfo("assets/adversarial.txt"), prefix + (unit * (size // len(unit) + 1))[:size],
                        compress_type=zipfile.ZIP_STORED)
    return out


@pytest.mark.parametrize("unit, stops", [(b"1.1.1.1 ", True), (b"10.0.0.1:80 ", True), (b":", False),
                                         (b"://", False), (b".cn", False)])
def test_precheck_answers_an_adversarial_entry_in_time(gate, tmp_path, unit, stops):
    body, content_type = multipart(package_with(tmp_path, unit))
    started = time.monotonic()
    page = requests.post(f"{gate.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type},
                         timeout=ANSWER_WITHIN_SECONDS * 2)
    elapsed = time.monotonic() - started
    assert page.status_code == 200
    assert elapsed < ANSWER_WITHIN_SECONDS, elapsed
    assert ("network_scan_budget" in page.text) == stops


def test_the_budget_problem_is_in_the_facts(tmp_path):
    from gate.extract.pipeline import extract_features

    facts = extract_features(package_with(tmp_path, b"10.0.0.1:80 ", b"https://api.found-first.cn/v1\n"))
    problem = next(p for p in facts.problems if p.code == "network_scan_budget")
    assert "assets/adversarial.txt" in problem.message and "扫描预算" in problem.message
    # What was found before the stop is kept.
    assert "api.found-first.cn" in [h.host for h in facts.network.hosts]
    assert "10.0.0.1" in [i.ip for i in facts.network.ips]
