"""Claiming, bulk approve/reject and CSV export of the review queue, on SQLite and PostgreSQL. Verdicts are read
back from the machine API; expected CSV cells from the generator (known ids, a planted formula)."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from sqlalchemy import update

from tests.integration.console_support import PASSWORD, fill_queue, signed_in
from tests.integration.http_support import start_gate


@pytest.fixture
def served(tmp_path, database_url):
    from gate.web.accounts import create_user

    gate, server = start_gate(tmp_path, database_url)
    for name in ("li", "wang"):
        create_user(gate.engine, username=name, role="reviewer", password=PASSWORD)
    yield gate
    server.shutdown()
    gate.engine.dispose()


def verdict(gate, check_id):
    return requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("store")).json()["verdict"]


def test_a_claim_is_seen_by_others_blocks_their_review_and_expires(served):
    from gate.db.console_tables import ReviewClaim

    ids = fill_queue(served, 3)
    li, li_token = signed_in(served, "li")
    wang, wang_token = signed_in(served, "wang")
    assert li.post(f"{served.url}/console/checks/{ids[0]}/claim", data={"csrf_token": li_token},
                   allow_redirects=False).status_code == 302
    queue = wang.get(f"{served.url}/console/reviews").text
    row = queue.split(f'data-check="{ids[0]}"')[1].split("</tr>")[0]
    assert "li" in row.split('class="claim"')[1] and "disabled" in row
    assert "li 正在处理这条检查" in wang.get(f"{served.url}/console/checks/{ids[0]}").text
    r = wang.post(f"{served.url}/console/checks/{ids[0]}/review",
                  data={"csrf_token": wang_token, "outcome": "approve", "comment": "ok"})
    assert r.status_code == 409 and "另一位复核员已认领" in r.text and verdict(served, ids[0]) == "review"
    assert wang.post(f"{served.url}/console/checks/{ids[0]}/claim", data={"csrf_token": wang_token}).status_code == 409

    with served.engine.begin() as conn:  # the claim times out: anybody's to take
        conn.execute(update(ReviewClaim.__table__).values(expires_at=ReviewClaim.__table__.c.claimed_at))
    assert wang.post(f"{served.url}/console/checks/{ids[0]}/claim", data={"csrf_token": wang_token},
                     allow_redirects=False).status_code == 302
    r = wang.post(f"{served.url}/console/checks/{ids[0]}/review",
                  data={"csrf_token": wang_token, "outcome": "approve", "comment": "营业执照已核实"},
                  allow_redirects=False)
    assert r.status_code == 302 and verdict(served, ids[0]) == "allow"


def test_bulk_reject_settles_each_and_skips_what_others_claimed(served):
    ids = fill_queue(served, 22)
    li, li_token = signed_in(served, "li")
    wang, wang_token = signed_in(served, "wang")
    wang.post(f"{served.url}/console/checks/{ids[0]}/claim", data={"csrf_token": wang_token})
    chosen = ids[:21]
    r = li.post(f"{served.url}/console/reviews/bulk", data={"csrf_token": li_token, "outcome": "reject",
                                                            "comment": "批量：开发者主体不符", "check_id": chosen})
    assert r.status_code == 200 and "已拒绝 20 条" in r.text and "1 条未处理" in r.text
    assert [verdict(served, i) for i in chosen] == ["review"] + ["block"] * 20
    assert verdict(served, ids[21]) == "review"
    assert li.post(f"{served.url}/console/reviews/bulk", data={"csrf_token": li_token, "outcome": "reject",
                                                               "comment": " ", "check_id": ids[21:]}).status_code == 400


def test_csv_export_of_the_filtered_queue_is_formula_neutral(served):
    from gate.db.service_tables import ServiceCheck

    ids = fill_queue(served, 5)
    SC = ServiceCheck.__table__
    with served.engine.begin() as conn:
        conn.execute(update(SC).where(SC.c.check_id == ids[1]).values(filename='=HYPERLINK("http://x","y")'))
    li, _ = signed_in(served, "li")
    r = li.get(f"{served.url}/console/reviews?format=csv&lang=zh")
    assert r.headers["Content-Type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["等待（小时）", "收到时间", "检查"]
    by_id = {row[2]: row for row in rows[1:]}
    assert set(ids) <= set(by_id)
    assert by_id[ids[1]][4] == "'=HYPERLINK(\"http://x\",\"y\")"  # shown as text, never run
    assert by_id[ids[0]][1] == "2026-01-05T09:00:00+08:00"  # 01:00 UTC, the generator's first time
    checks = li.get(f"{served.url}/console/checks?format=csv&verdict=review").content.decode("utf-8-sig")
    assert sum(1 for line in checks.splitlines()[1:] if line) == 6
