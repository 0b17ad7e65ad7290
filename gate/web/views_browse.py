"""Browse and search: checks, filings (with their version history), listings, regulator reports, callbacks and
delist notices. Each list is one indexed query with a row limit; every page renders through console/table.html."""

from __future__ import annotations

import json
from dataclasses import dataclass

import flask
from sqlalchemy import func, or_, select

from gate.platform_hooks.service import service
from gate.store.filings import DatabaseRegistry
from gate.store.service_tables import ApiClient, CallbackDelivery, Listing, ServiceCheck
from gate.store.sync_tables import ReportOutbox
from gate.store.tables import Check, Filing, FilingIdentity, FilingVersion
from gate.web import kit
from gate.web.blueprint import blueprint
from gate.web.kit import requires

A, SC, GC, CB = ApiClient.__table__, ServiceCheck.__table__, Check.__table__, CallbackDelivery.__table__
F, V, I, L, RO = (Filing.__table__, FilingVersion.__table__, FilingIdentity.__table__, Listing.__table__,
                  ReportOutbox.__table__)
LIMIT = 200


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    choices: tuple = ()  # ((value, label), ...) -> a select; empty -> a text box


def _arg(name: str) -> str:
    return flask.request.args.get(name, "").strip()[:128]


def _when(value):
    return kit.when(value)  # Beijing time in a <time> element (gate.web.kit)


def table(title: str, columns: list[str], rows: list[list], filters: list[Filter] = (), note: str = ""):
    return kit.render("console/table.html", title=title, columns=columns, rows=rows, filters=filters,
                      args=flask.request.args, note=note, limit=LIMIT)


def _verdicts():
    return tuple((v, kit.t(*kit.VERDICT_NAMES[v])) for v in ("allow", "review", "block"))


@blueprint.get("/checks")
@requires("viewer")
def checks():
    query = (select(SC.c.check_id, SC.c.created_at, SC.c.verdict, SC.c.status, SC.c.filename, A.c.name, GC.c.package,
                    GC.c.reason_codes)
             .join(A, A.c.id == SC.c.client_id).outerjoin(GC, GC.c.id == SC.c.gate_check_id)
             .order_by(SC.c.created_at.desc()).limit(LIMIT))
    if _arg("verdict"):
        query = query.where(SC.c.verdict == _arg("verdict"))
    if _arg("package"):
        query = query.where(GC.c.package.like(f"%{_arg('package')}%"))
    if _arg("reason"):
        query = query.where(GC.c.reason_codes.like(f"%{_arg('reason')}%"))
    with service().engine.connect() as conn:
        found = conn.execute(query).all()
    rows = [[_when(r.created_at), Link(r.package or r.filename, flask.url_for("console.check_page",
                                                                              check_id=r.check_id)),
             kit.t(*kit.VERDICT_NAMES.get(r.verdict, (r.status, r.status))), r.reason_codes or "", r.name]
            for r in found]
    return table(kit.t("检查记录", "Checks"),
                 [kit.t("时间", "When"), kit.t("包名", "Package"), kit.t("判定", "Verdict"), kit.t("原因", "Reasons"),
                  kit.t("客户端", "Client")], rows,
                 [Filter("verdict", kit.t("判定", "Verdict"), _verdicts()), Filter("package", kit.t("包名", "Package")),
                  Filter("reason", kit.t("原因代码", "Reason code"))])


@blueprint.get("/filings")
@requires("viewer")
def filings():
    q = _arg("q")
    query = (select(F.c.service_licence, F.c.status, F.c.blacklisted, F.c.version, F.c.updated_at, V.c.service_name,
                    V.c.unit_name).join(V, V.c.id == F.c.current_version_id)
             .order_by(F.c.updated_at.desc()).limit(LIMIT))
    if q:
        like = f"%{q}%"
        by_identifier = select(I.c.version_id).where(I.c.identifier.like(like))
        query = query.where(or_(F.c.service_licence.like(like), V.c.unit_name.like(like),
                                V.c.service_name.like(like), F.c.current_version_id.in_(by_identifier)))
    with service().engine.connect() as conn:
        found = conn.execute(query).all()
    rows = [[Link(r.service_licence, flask.url_for("console.filing_page", licence=r.service_licence)),
             r.service_name, r.unit_name, r.status + (kit.t(" · 违法违规名单", " · blacklisted") if r.blacklisted else ""),
             r.version, _when(r.updated_at)] for r in found]
    return table(kit.t("备案", "Filings"),
                 [kit.t("服务备案号", "Filing number"), kit.t("服务名称", "Service name"), kit.t("主办单位", "Unit"),
                  kit.t("状态", "Status"), kit.t("版本数", "Versions"), kit.t("更新", "Updated")], rows,
                 [Filter("q", kit.t("备案号、包名或单位名称", "Number, package or unit name"))])


@blueprint.get("/filings/<path:licence>")
@requires("viewer")
def filing_page(licence: str):
    with service().engine.connect() as conn:
        history = DatabaseRegistry(conn).history(licence[:64])
    if not history:
        from gate.platform_hooks.checks import CheckNotFound

        raise CheckNotFound(kit.t(f"没有备案 {licence}", f"no filing {licence}"), code="filing_not_found")
    return kit.render("console/filing.html", history=list(reversed(history)), licence=licence)


@blueprint.get("/listings")
@requires("viewer")
def listings():
    query = (select(L.c.package, L.c.version_code, L.c.status, L.c.listed_since, L.c.last_event_at, A.c.name)
             .join(A, A.c.id == L.c.client_id).order_by(L.c.client_id, L.c.package).limit(LIMIT))
    if _arg("package"):
        query = query.where(L.c.package.like(f"%{_arg('package')}%"))
    if _arg("status"):
        query = query.where(L.c.status == _arg("status"))
    with service().engine.connect() as conn:
        found = conn.execute(query).all()
        total = conn.execute(select(L.c.status, func.count()).group_by(L.c.status)).all()
    rows = [[r.name, r.package, r.version_code if r.version_code is not None else "-", r.status,
             _when(r.listed_since), _when(r.last_event_at)] for r in found]
    note = " · ".join(f"{s}: {n}" for s, n in total)
    return table(kit.t("上架清单", "Listings"),
                 [kit.t("商店", "Store"), kit.t("包名", "Package"), kit.t("版本号", "Version code"),
                  kit.t("状态", "State"), kit.t("上架时间", "Listed since"), kit.t("最近事件", "Last event")], rows,
                 [Filter("package", kit.t("包名", "Package")),
                  Filter("status", kit.t("状态", "State"), (("listed", kit.t("在架", "listed")),
                                                             ("delisted", kit.t("已下架", "delisted"))))], note)


@blueprint.get("/reports")
@requires("viewer")
def reports():
    with service().engine.connect() as conn:
        found = conn.execute(select(RO).order_by(RO.c.period_end.desc()).limit(LIMIT)).all()
    rows = [[r.id, _when(r.period_start) + " – " + _when(r.period_end), r.status, r.attempts,
             _when(r.last_attempt_at), r.last_error or "-", r.receipt_id or "-",
             r.accepted_items if r.accepted_items is not None else "-",
             f"{r.events_count} / {r.inventory_count} / {r.unfiled_count}"] for r in found]
    return table(kit.t("报送（分发应用报送）", "Regulator reports"),
                 ["#", kit.t("报送期间", "Period"), kit.t("状态", "State"), kit.t("发送次数", "Attempts"),
                  kit.t("最近发送", "Last attempt"), kit.t("最近错误", "Last error"), kit.t("回执", "Receipt"),
                  kit.t("接收条数", "Accepted"), kit.t("事件/在架/未备案", "Events / inventory / unfiled")], rows)


def _event(body: str) -> str:
    try:
        return json.loads(body).get("event", "check.completed")
    except ValueError:
        return "-"


@blueprint.get("/callbacks")
@requires("viewer")
def callbacks():
    query = (select(CB.c.id, CB.c.check_id, CB.c.status, CB.c.attempts, CB.c.last_status, CB.c.last_error,
                    CB.c.created_at, CB.c.delivered_at, CB.c.url, CB.c.body, A.c.name)
             .join(A, A.c.id == CB.c.client_id).order_by(CB.c.id.desc()).limit(LIMIT))
    if _arg("status"):
        query = query.where(CB.c.status == _arg("status"))
    with service().engine.connect() as conn:
        found = conn.execute(query).all()
    rows = []
    for r in found:
        subject = (Link(r.check_id, flask.url_for("console.check_page", check_id=r.check_id))
                   if r.check_id.startswith("chk_") else r.check_id)
        rows.append([_when(r.created_at), _event(r.body), subject, r.name, r.status, r.attempts,
                     r.last_status or r.last_error or "-", _when(r.delivered_at)])
    return table(kit.t("回调与下架通知", "Callbacks and delist notices"),
                 [kit.t("时间", "When"), kit.t("事件", "Event"), kit.t("检查/通知", "Check / notice"),
                  kit.t("客户端", "Client"), kit.t("状态", "State"), kit.t("次数", "Attempts"),
                  kit.t("最近结果", "Last result"), kit.t("送达", "Delivered")], rows,
                 [Filter("status", kit.t("状态", "State"), (("pending", kit.t("待发送", "pending")),
                                                            ("delivered", kit.t("已送达", "delivered")),
                                                            ("failed", kit.t("失败", "failed"))))])
