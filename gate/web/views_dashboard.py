"""The dashboard: decisions per day by verdict, top reasons, the review queue's size and age, sync and report state.
Every figure is one grouped query (the database aggregates; no per-check rows reach Python)."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import Counter

import flask
from sqlalchemy import func, literal, select

from gate.api.service import service
from gate.db.service_tables import CallbackDelivery, ServiceCheck
from gate.db.sync_tables import ReportOutbox, SyncCursor
from gate.db.tables import Check, as_utc, utcnow
from gate.web import charts, kit
from gate.web.blueprint import blueprint
from gate.web.kit import requires

GC, SC, CB, RO, CU = (Check.__table__, ServiceCheck.__table__, CallbackDelivery.__table__, ReportOutbox.__table__,
                      SyncCursor.__table__)
DAYS = 14
AGE_BUCKETS = ((1, ("不到 1 小时", "< 1 h")), (8, ("1–8 小时", "1–8 h")), (24, ("8–24 小时", "8–24 h")),
               (72, ("1–3 天", "1–3 d")), (None, ("超过 3 天", "> 3 d")))


def beijing_day(conn, column):
    """The Beijing calendar day of a stored UTC time, computed by the database (so it can group by it)."""
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")  # SQLite stores naive UTC; China has no daylight saving


# Counts of completed Beijing days, per engine: a decision is stored with the time it was made and checks are never
# deleted or moved, so a day that has ended never changes. Only today is counted live (at most one day of rows);
# without this the dashboard grouped 1.4 M rows on every load at 100,000 checks a day (docs/benchmarks.md).
_DAYS_DONE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DAYS_LOCK = threading.Lock()


def _count(conn, start: dt.datetime, end: dt.datetime | None, *, one_day: str | None = None
           ) -> dict[str, tuple[Counter, Counter]]:
    """{Beijing day: (verdict counts, reason counts)} of the decisions stored in [start, end); ``one_day`` names
    the only day the range covers (then no per-row day is computed)."""
    day = literal(one_day) if one_day else beijing_day(conn, GC.c.created_at)
    where = [GC.c.created_at >= start.astimezone(dt.UTC)]  # UTC: SQLite compares the stored text
    if end is not None:
        where.append(GC.c.created_at < end.astimezone(dt.UTC))
    found: dict[str, tuple[Counter, Counter]] = {}
    groups = (GC.c.verdict, GC.c.reason_codes) if one_day else (day, GC.c.verdict, GC.c.reason_codes)
    for d, verdict, codes, n in conn.execute(select(day, GC.c.verdict, GC.c.reason_codes, func.count())
                                             .where(*where).group_by(*groups)):
        key = d if isinstance(d, str) else d.isoformat()
        verdicts, reasons = found.setdefault(key, (Counter(), Counter()))
        verdicts[verdict] += n
        for code in (codes or "").split():
            reasons[code] += n
    return found


def per_day(conn, since: dt.datetime, today: dt.datetime, labels: list[str]) -> dict[str, tuple[Counter, Counter]]:
    done = [x for x in labels if x < today.date().isoformat()]
    with _DAYS_LOCK:
        cache = _DAYS_DONE.setdefault(conn.engine, {})
        missing = [x for x in done if x not in cache]
    if missing:
        counted = _count(conn, since, today)
        with _DAYS_LOCK:
            for label in done:
                cache[label] = counted.get(label, (Counter(), Counter()))
            for stale in [x for x in cache if x < labels[0]]:
                del cache[stale]
    result = {label: cache[label] for label in done}
    result.update(_count(conn, today, None, one_day=today.date().isoformat()))
    return result


def figures(conn, now: dt.datetime) -> dict:
    today = kit.beijing(now).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - dt.timedelta(days=DAYS - 1)  # midnight Beijing time, 13 days ago
    labels = [(since + dt.timedelta(days=i)).date().isoformat() for i in range(DAYS)]
    series = {v: [0] * DAYS for v in ("allow", "review", "block")}
    reasons: Counter = Counter()
    for key, (verdicts, codes) in per_day(conn, since, today, labels).items():
        if key in labels:
            for verdict, n in verdicts.items():
                if verdict in series:
                    series[verdict][labels.index(key)] += n
        reasons.update(codes)
    waiting = conn.execute(select(SC.c.created_at).where(SC.c.verdict == "review", SC.c.status == "done")
                           .order_by(SC.c.created_at).limit(5000)).scalars().all()
    ages = [(now - as_utc(t)).total_seconds() / 3600 for t in waiting]
    buckets = []
    low = 0
    for high, label in AGE_BUCKETS:
        buckets.append((kit.t(*label), sum(1 for a in ages if a >= low and (high is None or a < high))))
        low = high or low
    last_report = conn.execute(select(RO).order_by(RO.c.period_end.desc()).limit(1)).first()
    # Only what the tile shows: counting every delivered callback reads the whole table (1 s at 6 M deliveries).
    callbacks = dict(conn.execute(select(CB.c.status, func.count()).where(CB.c.status.in_(("pending", "failed")))
                                  .group_by(CB.c.status)).all())
    cursors = conn.execute(select(CU.c.name, CU.c.updated_at).order_by(CU.c.name)).all()
    return {"labels": [x[5:] for x in labels], "series": series, "reasons": reasons.most_common(8),
            "queue": len(ages), "oldest": max(ages, default=0.0), "buckets": buckets, "last_report": last_report,
            "callbacks": callbacks, "cursors": cursors, "checks_total": sum(sum(v) for v in series.values())}


@blueprint.get("/")
@requires("viewer")
def dashboard():
    with service().engine.connect() as conn:
        f = figures(conn, utcnow())
    per_day = charts.stacked_bars(f["labels"], f["series"], title=kit.t("每日判定", "Decisions per day"))
    top = charts.horizontal_bars(f["reasons"], title=kit.t("主要原因", "Top reasons"))
    ages = charts.horizontal_bars(f["buckets"], title=kit.t("复核等待时间", "Review queue age"), color="#d9a400")
    return kit.render("console/dashboard.html", f=f, per_day=per_day, top=top, ages=ages)


@blueprint.get("")
def dashboard_slashless():
    return flask.redirect(flask.url_for("console.dashboard"))
