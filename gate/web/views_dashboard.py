"""The dashboard: decisions per day by verdict, top reasons, the review queue's size and age, sync and report state.
Every figure is one grouped query (the database aggregates; no per-check rows reach Python)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import flask
from sqlalchemy import func, select

from gate.platform_hooks.service import service
from gate.store.service_tables import CallbackDelivery, ServiceCheck
from gate.store.sync_tables import ReportOutbox, SyncCursor
from gate.store.tables import Check, as_utc, utcnow
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


def figures(conn, now: dt.datetime) -> dict:
    today = kit.beijing(now).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - dt.timedelta(days=DAYS - 1)  # midnight Beijing time, 13 days ago
    day = beijing_day(conn, GC.c.created_at)
    since_utc = since.astimezone(dt.timezone.utc)  # SQLite compares the stored naive-UTC text
    per_day = conn.execute(select(day, GC.c.verdict, func.count()).where(GC.c.created_at >= since_utc)
                           .group_by(day, GC.c.verdict)).all()
    labels = [(since + dt.timedelta(days=i)).date().isoformat() for i in range(DAYS)]
    series = {v: [0] * DAYS for v in ("allow", "review", "block")}
    for d, verdict, n in per_day:
        key = d if isinstance(d, str) else d.isoformat()
        if key in labels and verdict in series:
            series[verdict][labels.index(key)] += n
    reasons: Counter = Counter()
    for codes, n in conn.execute(select(GC.c.reason_codes, func.count()).where(GC.c.created_at >= since_utc)
                                 .group_by(GC.c.reason_codes)):
        for code in (codes or "").split():
            reasons[code] += n
    waiting = conn.execute(select(SC.c.created_at).where(SC.c.verdict == "review", SC.c.status == "done")
                           .order_by(SC.c.created_at).limit(5000)).scalars().all()
    ages = [(now - as_utc(t)).total_seconds() / 3600 for t in waiting]
    buckets = []
    low = 0
    for high, label in AGE_BUCKETS:
        buckets.append((kit.t(*label), sum(1 for a in ages if a >= low and (high is None or a < high))))
        low = high or low
    last_report = conn.execute(select(RO).order_by(RO.c.period_end.desc()).limit(1)).first()
    callbacks = dict(conn.execute(select(CB.c.status, func.count()).group_by(CB.c.status)).all())
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
