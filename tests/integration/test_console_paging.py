"""Keyset paging, sorting, counts and empty filters of the console's lists, on SQLite and PostgreSQL.

The expected order comes from the generator (tests/integration/console_support.fill_queue: known ids, one
minute apart), the links are followed by their rel="next" / rel="prev" as a tool would.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.integration.console_support import fill_queue, served_with_reviewer, signed_in
from tests.integration.http_support import HELLO


@pytest.fixture
def served(tmp_path, database_url):
    yield from served_with_reviewer(tmp_path, database_url)


def ids_on(html: str) -> list[str]:
    return re.findall(r'<tr data-check="(chk_[^"]+)"', html)


def rel(html: str, name: str) -> str | None:
    found = re.search(rf'<a rel="{name}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(session, base: str, start: str, direction: str = "next") -> list[list[str]]:
    pages, url = [], start
    while url:
        html = session.get(base + url).text
        pages.append(ids_on(html))
        url = rel(html, direction)
        assert len(pages) < 50, "the links go round in circles"
    return pages


def test_the_queue_pages_every_item_forward_and_back(served):
    ids = fill_queue(served, 123)
    session, _ = signed_in(served, "rev")
    pages = walk(session, served.url, "/console/reviews?size=50")
    seen = [i for p in pages for i in p if i.startswith("chk_fill")]
    assert seen == ids  # oldest first, none lost, none twice
    assert [len(p) for p in pages][:2] == [50, 50]
    html = session.get(f"{served.url}/console/reviews?size=50").text
    assert '<span class="count" title="共 124 条">124</span>' in html  # the 123 copies and the original
    assert rel(html, "prev") is None

    # From the last page back to the first, by rel="prev".
    last = session.get(f"{served.url}/console/reviews?size=50&page=last").text
    assert rel(last, "next") is None and len(ids_on(last)) == 50
    assert ids_on(last)[-2] == ids[-1]
    assert not ids_on(last)[-1].startswith("chk_fill")  # the real upload, made just now, is the newest
    back = walk(session, served.url, "/console/reviews?size=50&page=last", "prev")
    assert [i for p in reversed(back) for i in p if i.startswith("chk_fill")] == ids

    # Newest first: the same items, reversed.
    newest = walk(session, served.url, "/console/reviews?size=40&sort=-created")
    assert [i for p in newest for i in p if i.startswith("chk_fill")] == ids[::-1]


def test_paging_is_stable_while_items_arrive(served):
    ids = fill_queue(served, 60)
    session, _ = signed_in(served, "rev")
    first = session.get(f"{served.url}/console/reviews?size=25").text
    # Older items arrive between two page loads (an offset would now repeat rows); the cursor does not move.
    fill_queue(served, 5, prefix="chk_late", start=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    rest = walk(session, served.url, rel(first, "next"))
    seen = [i for i in ids_on(first) + [i for p in rest for i in p] if i.startswith("chk_fill")]
    assert seen == ids


def test_filters_that_match_nothing_say_so_and_counts_are_bounded(served, monkeypatch):
    from gate.web import paging

    fill_queue(served, 30)
    session, _ = signed_in(served, "rev")
    html = session.get(f"{served.url}/console/reviews?reason=unfiled").text
    assert "没有符合筛选条件的记录" in html and "清除筛选" in html
    html = session.get(f"{served.url}/console/checks?package=no.such.package&lang=en").text
    assert "Nothing matches these filters." in html
    monkeypatch.setattr(paging, "COUNT_BOUND", 20)
    html = session.get(f"{served.url}/console/checks?verdict=review&lang=zh").text
    assert '<span class="count" title="超过 20 条">20+</span>' in html
    # Sortable headers say which order is in force.
    html = session.get(f"{served.url}/console/checks?sort=package").text
    assert 'aria-sort="ascending"' in html


def test_every_list_pages(served):
    """The other lists follow the same links: checks newest first across pages."""
    ids = fill_queue(served, 45)
    session, _ = signed_in(served, "rev")
    html_pages = []
    url = "/console/checks?size=20&verdict=review"
    while url:
        html = session.get(served.url + url).text
        html_pages.append(re.findall(r'/console/checks/(chk_fill_\d+)"', html))
        url = rel(html, "next")
    assert [i for p in html_pages for i in p] == ids[::-1]
    assert len(html_pages) == 3


def test_package_and_reason_are_kept_on_the_check_and_filter_exactly(served):
    """service_check carries its decision's package and reason codes (what the lists sort and filter on, migration
    0750): a real upload sets them; sorting by package orders by that column; a whole name matches exactly, a name
    ending in * is a prefix; a reason matches whole codes only. Expected rows are the hand-made ones below."""
    from sqlalchemy import insert, select

    from gate.db.service_tables import ServiceCheck

    SC = ServiceCheck.__table__
    r = served.upload(HELLO, metadata={"developer_entity": "另一家科技有限公司"})
    with served.engine.begin() as conn:
        real = conn.execute(select(SC).where(SC.c.check_id == r.json()["check_id"])).mappings().one()
        # What the store was answered (hello_zh.apk's package is cn.filinggate.hello, its manifest says so).
        assert (real.package, real.reason_codes) == ("cn.filinggate.hello",
                                                     " ".join(x["code"] for x in r.json()["reasons"]))
        assert "entity_mismatch" in real.reason_codes.split()
        at = dt.datetime(2026, 2, 1, 1, 0, tzinfo=dt.UTC)
        made = {"chk_pk_1": ("cn.beta.app", "domain_not_filed"), "chk_pk_2": ("cn.alpha", "domain_not_filed_ip"),
                "chk_pk_3": ("cn.beta", "name_mismatch domain_not_filed"), "chk_pk_4": ("cn.gamma", "x_domain_not_filed")}
        conn.execute(insert(SC), [{**real, "check_id": cid, "package": pkg, "reason_codes": codes,
                                   "created_at": at + dt.timedelta(minutes=i)}
                                  for i, (cid, (pkg, codes)) in enumerate(made.items())])
    session, _ = signed_in(served, "rev")

    def listed(path: str) -> list[str]:
        return [i for i in re.findall(r'/console/checks/(chk_[^"]+)"', session.get(served.url + path).text)
                if i.startswith("chk_pk_")]

    assert listed("/console/checks?sort=package") == ["chk_pk_2", "chk_pk_3", "chk_pk_1", "chk_pk_4"]
    assert listed("/console/checks?sort=-package") == ["chk_pk_4", "chk_pk_1", "chk_pk_3", "chk_pk_2"]
    assert listed("/console/checks?package=cn.beta") == ["chk_pk_3"]  # a whole name: exactly
    assert listed("/console/checks?package=cn.beta*") == ["chk_pk_3", "chk_pk_1"]  # a prefix, newest first
    assert listed("/console/checks?package=cn.b%25") == []  # % is a character, not a wildcard
    assert listed("/console/checks?reason=domain_not_filed") == ["chk_pk_3", "chk_pk_1"]  # whole codes only
    assert listed("/console/checks?reason=domain_not_filed_ip") == ["chk_pk_2"]
    assert listed("/console/checks?reason=domain%25") == []  # not a code: nothing, not an error
    # The queue: the same columns, its own order.
    assert listed("/console/reviews?reason=domain_not_filed&sort=package") == ["chk_pk_3", "chk_pk_1"]
