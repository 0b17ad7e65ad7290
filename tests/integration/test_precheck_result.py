"""The developer pre-check's result: first on the page, kept at a permanent URL that only the uploading browser can
open until it expires, with the domains and IPs to add to the filing. Expected values: the filing this test
imports (it lists the IP but not the domain the package contacts) and apksigner's MD5 (oracle.json)."""

from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import update

from tests.integration.http_support import FILINGS, HELLO, HELLO_MD5, multipart, start_gate


@pytest.fixture
def served(tmp_path, database_url):
    from gate.db.filings import import_into_database

    gate, server = start_gate(tmp_path, database_url)
    narrowed = [{**FILINGS[0], "domains": ["203.0.113.7"]}]  # a new version without hello-gate.cn
    path = tmp_path / "narrowed.json"
    path.write_text(json.dumps(narrowed, ensure_ascii=False), encoding="utf-8")
    import_into_database(gate.engine, [path])
    yield gate
    server.shutdown()
    gate.engine.dispose()


def test_the_result_comes_first_and_is_kept_for_its_uploader_only(served):
    from gate.db.console_tables import PrecheckResult

    browser = requests.Session()
    body, content_type = multipart(HELLO)
    page = browser.post(f"{served.url}/precheck", data=body, headers={"Content-Type": content_type}).text
    # The verdict and what to do come before the upload form; the file name is shown.
    assert page.index('id="result"') < page.index('id="upload"')
    assert "<b>hello_zh.apk</b>" in page and "下一步怎么做" in page and "域名未备案" in page
    to_file = re.search(r'<textarea class="copy" readonly id="to-file"[^>]*>([^<]*)</textarea>', page).group(1)
    assert to_file.split("\n") == ["hello-gate.cn"]  # the filed IP is not repeated
    link = re.search(r'<a id="permalink" href="([^"]+)"', page).group(1)
    assert re.search(r'<time datetime="[^"]+\+08:00">', page.split('class="permalink"')[1])

    again = browser.get(f"{served.url}{link}")
    assert again.status_code == 200 and HELLO_MD5 in again.text and "<b>hello_zh.apk</b>" in again.text
    assert requests.get(f"{served.url}{link}").status_code == 404  # another browser: no such result for it
    stranger = requests.Session()
    stranger.post(f"{served.url}/precheck", data=body, headers={"Content-Type": content_type})
    assert stranger.get(f"{served.url}{link}").status_code == 404  # its own cookie opens only its own results
    assert "不是在这个浏览器中上传的" in stranger.get(f"{served.url}{link}").text

    P = PrecheckResult.__table__
    with served.engine.begin() as conn:
        conn.execute(update(P).values(expires_at=P.c.created_at))
    assert browser.get(f"{served.url}{link}").status_code == 404  # expired
