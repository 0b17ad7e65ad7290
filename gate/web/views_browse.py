"""Browse and search: checks, filings (with their version history), listings, regulator reports, callbacks and
delist notices. Each list is one indexed query with a row limit; every page renders through console/table.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import flask
from sqlalchemy import func, or_, select

from gate import names
from gate.api.service import service
from gate.db.audit import history as audit_history
from gate.db.filings import DatabaseRegistry
from gate.db.service_tables import ApiClient, CallbackDelivery, Listing, ServiceCheck
from gate.db.sync_tables import ReportOutbox
from gate.db.tables import Check, Filing, FilingIdentity, FilingVersion, table_of
from gate.web import export, kit, paging
from gate.web.blueprint import blueprint
from gate.web.check_filters import package_match, reason_match, whole_package
from gate.web.kit import requires

A, SC, GC, CB = table_of(ApiClient), table_of(ServiceCheck), table_of(Check), table_of(CallbackDelivery)
F, V, FI, L, RO = (table_of(Filing), table_of(FilingVersion), table_of(FilingIdentity), table_of(Listing),
                   table_of(ReportOutbox))


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    choices: tuple = ()  # ((value, label), ...) -> a select; empty -> a text box


@dataclass(frozen=True)
class Col:
    """A column header; ``sort`` names a gate.web.paging.Sort key when the column sorts."""

    label: str
    sort: str | None = None
    desc_first: bool = False


def _arg(name: str) -> str:
    return flask.request.args.get(name, "").strip()[:128]


def _when(value):
    return kit.when(value)  # Beijing time in a <time> element (gate.web.kit)


def filtered(filters) -> bool:
    return any(_arg(f.name) for f in filters)


def table(title: str, columns: list, rows: list[list], filters: Sequence[Filter] = (), note: str = "",
          page: paging.Page | None = None):
    if page is not None and export.wanted():
        endpoint = flask.request.endpoint
        if endpoint is None:  # an export is asked of a routed console page only; its name names the file
            raise RuntimeError("a CSV export is for a console page")
        return export.csv_response(endpoint.split(".")[-1],
                                   [c.label if isinstance(c, Col) else str(c) for c in columns], rows, page.next_url)
    return kit.render("console/table.html", title=title, columns=columns, rows=rows, filters=filters,
                      args=flask.request.args, note=note, page=page)


def _verdicts():
    return tuple((v, kit.t(*kit.VERDICT_NAMES[v])) for v in ("allow", "review", "block"))


def _stores(conn, role: str | None = None):
    query = select(A.c.id, A.c.name).order_by(A.c.name)
    return tuple((str(r.id), r.name) for r in conn.execute(query if role is None else query.where(A.c.role == role)))


def _int(name: str) -> int | None:
    value = _arg(name)
    return int(value) if value.isdigit() and len(value) < 10 else None


# Each sort is one service_check column (or the expression of its index): ix_service_check_created,
# ix_service_check_package_order (the package kept on service_check, migration 0750) and
# ix_service_check_verdict_order. A check not decided yet has package '' and sorts first.
CHECK_SORTS = [paging.Sort("created", SC.c.created_at, descending_first=True),
               paging.Sort("package", SC.c.package),
               paging.Sort("verdict", func.coalesce(SC.c.verdict, SC.c.status))]


@blueprint.get("/checks")
@requires("viewer")
def checks():
    query = (select(SC.c.check_id, SC.c.created_at, SC.c.verdict, SC.c.status, SC.c.filename, SC.c.client_id,
                    A.c.name, SC.c.package, SC.c.reason_codes)
             .outerjoin(A, A.c.id == SC.c.client_id))  # every check has its client; outer: the count drops it
    if _arg("verdict"):
        query = query.where(SC.c.verdict == _arg("verdict"))
    count_order = ()
    if _arg("package"):
        query = query.where(package_match(SC.c.package, _arg("package")))
        if whole_package(_arg("package")):
            count_order = (SC.c.package, SC.c.check_id)  # ix_service_check_package_order: count one package's entries
    if _arg("reason"):
        query = query.where(reason_match(service().engine.dialect.name, SC.c.reason_codes, _arg("reason")))
    if _int("store"):
        query = query.where(SC.c.client_id == _int("store"))
    if _arg("sha256"):
        query = query.where(SC.c.package_sha256 == _arg("sha256").lower())
    with service().engine.connect() as conn:
        stores = _stores(conn)
        filters = [Filter("verdict", kit.t("判定", "Verdict"), _verdicts()),
                   Filter("package", kit.t("包名", "Package")),
                   Filter("reason", kit.t("原因", "Reason"), kit.reason_choices()),
                   Filter("store", kit.t("客户端", "Client"), stores)]
        page = paging.paginate(conn, query, sorts=CHECK_SORTS, default="-created", tie=SC.c.check_id,
                               filtered=filtered(filters + [Filter("sha256", "")]), count_order=count_order)
    rows = [[_when(r.created_at), Link(r.package or r.filename, flask.url_for("console.check_page",
                                                                              check_id=r.check_id)),
             kit.verdict_name(r.verdict or r.status), kit.reason_names(r.reason_codes),
             Link(r.name, flask.url_for("console.checks", store=r.client_id))]
            for r in page.rows]
    return table(kit.t("检查记录", "Checks"),
                 [Col(kit.t("时间", "When"), "created", True), Col(kit.t("包名", "Package"), "package"),
                  Col(kit.t("判定", "Verdict"), "verdict"), Col(kit.t("原因", "Reasons")),
                  Col(kit.t("客户端", "Client"))], rows, filters, page=page)


FILING_SORTS = [paging.Sort("updated", F.c.updated_at, descending_first=True),
                paging.Sort("licence", F.c.service_licence), paging.Sort("name", V.c.service_name)]


@blueprint.get("/filings")
@requires("viewer")
def filings():
    q = _arg("q")
    query = (select(F.c.service_licence, F.c.status, F.c.blacklisted, F.c.version, F.c.updated_at, V.c.service_name,
                    V.c.unit_name).join(V, V.c.id == F.c.current_version_id))
    if q:
        like = f"%{q}%"
        by_identifier = select(FI.c.version_id).where(FI.c.identifier.like(like))
        query = query.where(or_(F.c.service_licence.like(like), V.c.unit_name.like(like),
                                V.c.service_name.like(like), F.c.current_version_id.in_(by_identifier)))
    filters = [Filter("q", kit.t("备案号、包名或单位名称", "Number, package or unit name"))]
    with service().engine.connect() as conn:
        page = paging.paginate(conn, query, sorts=FILING_SORTS, default="-updated", tie=F.c.id,
                               filtered=filtered(filters))
    rows = [[Link(r.service_licence, flask.url_for("console.filing_page", licence=r.service_licence)),
             r.service_name, r.unit_name,
             kit.filing_status_name(r.status) + (kit.t(" · 违法违规名单", " · blacklisted") if r.blacklisted else ""),
             r.version, _when(r.updated_at)] for r in page.rows]
    return table(kit.t("备案", "Filings"),
                 [Col(kit.t("服务备案号", "Filing number"), "licence"), Col(kit.t("服务名称", "Service name"), "name"),
                  Col(kit.t("主办单位", "Unit")), Col(kit.t("状态", "Status")), Col(kit.t("版本数", "Versions")),
                  Col(kit.t("更新", "Updated"), "updated", True)], rows, filters, page=page)


@blueprint.get("/filings/<path:licence>")
@requires("viewer")
def filing_page(licence: str):

    with service().engine.connect() as conn:
        history = DatabaseRegistry(conn).history(licence[:64])
        identifiers = [p.identifier for p in history[-1].platforms] if history else []
        events = audit_history(conn, licence[:64], *identifiers)
    if not history:
        from gate.services.checks import CheckNotFound

        raise CheckNotFound(kit.t(f"没有备案 {licence}", f"no filing {licence}"), code="filing_not_found")
    return kit.render("console/filing.html", history=list(reversed(history)), licence=licence, events=events)


LISTING_SORTS = [paging.Sort("package", L.c.package), paging.Sort("event", L.c.last_event_at, descending_first=True)]
LISTING_STATES = {"listed": ("在架", "listed"), "delisted": ("已下架", "delisted")}


@blueprint.get("/listings")
@requires("viewer")
def listings():
    query = (select(L.c.package, L.c.version_code, L.c.status, L.c.listed_since, L.c.last_event_at, L.c.client_id,
                    A.c.name).join(A, A.c.id == L.c.client_id))
    if _arg("package"):
        query = query.where(L.c.package.like(f"%{_arg('package')}%"))
    if _arg("status"):
        query = query.where(L.c.status == _arg("status"))
    if _int("store"):
        query = query.where(L.c.client_id == _int("store"))
    with service().engine.connect() as conn:
        filters = [Filter("package", kit.t("包名", "Package")),
                   Filter("status", kit.t("状态", "State"), tuple((k, kit.t(*v)) for k, v in LISTING_STATES.items())),
                   Filter("store", kit.t("商店", "Store"), _stores(conn, "store"))]
        # (package, client) is the table's key: the tie-breaker is the client within one package.
        page = paging.paginate(conn, query, sorts=LISTING_SORTS, default="package", tie=L.c.client_id,
                               filtered=filtered(filters))
        total = conn.execute(select(L.c.status, func.count()).group_by(L.c.status)).all()
    rows = [[Link(r.name, flask.url_for("console.listings", store=r.client_id)),
             Link(r.package, flask.url_for("console.checks", package=r.package, store=r.client_id)),
             r.version_code if r.version_code is not None else "-",
             kit.t(*LISTING_STATES.get(r.status, (r.status, r.status))), _when(r.listed_since),
             _when(r.last_event_at)] for r in page.rows]
    note = " · ".join(f"{kit.t(*LISTING_STATES.get(s, (s, s)))}: {n}" for s, n in total)
    return table(kit.t("上架清单", "Listings"),
                 [Col(kit.t("商店", "Store")), Col(kit.t("包名", "Package"), "package"),
                  Col(kit.t("版本号", "Version code")), Col(kit.t("状态", "State")),
                  Col(kit.t("上架时间", "Listed since")), Col(kit.t("最近事件", "Last event"), "event", True)],
                 rows, filters, note, page=page)


REPORT_STATES = {"pending": ("待发送", "pending"), "delivered": ("已送达", "delivered"),
                 "rejected": ("被拒收", "rejected")}


@blueprint.get("/reports")
@requires("viewer")
def reports():
    query = select(RO)
    if _arg("status"):
        query = query.where(RO.c.status == _arg("status"))
    filters = [Filter("status", kit.t("状态", "State"), tuple((k, kit.t(*v)) for k, v in REPORT_STATES.items()))]
    with service().engine.connect() as conn:
        page = paging.paginate(conn, query, sorts=[paging.Sort("period", RO.c.period_end, descending_first=True)],
                               default="-period", tie=RO.c.id, filtered=filtered(filters))
    rows = [[r.id, _when(r.period_start) + " – " + _when(r.period_end),
             kit.t(*REPORT_STATES.get(r.status, (r.status, r.status))), r.attempts,
             _when(r.last_attempt_at), r.last_error or "-", r.receipt_id or "-",
             r.accepted_items if r.accepted_items is not None else "-",
             f"{r.events_count} / {r.inventory_count} / {r.unfiled_count}"] for r in page.rows]
    return table(kit.t("报送（分发应用报送）", "Regulator reports"),
                 [Col("#"), Col(kit.t("报送期间", "Period"), "period", True), Col(kit.t("状态", "State")),
                  Col(kit.t("发送次数", "Attempts")), Col(kit.t("最近发送", "Last attempt")),
                  Col(kit.t("最近错误", "Last error")), Col(kit.t("回执", "Receipt")),
                  Col(kit.t("接收条数", "Accepted")), Col(kit.t("事件/在架/未备案", "Events / inventory / unfiled"))],
                 rows, filters, page=page)


def _event(body: str) -> str:
    try:
        return json.loads(body).get("event", "check.completed")
    except ValueError:
        return "-"


CALLBACK_STATES, EVENT_NAMES = names.CALLBACK_STATES, names.EVENTS


@blueprint.get("/callbacks")
@requires("viewer")
def callbacks():
    query = (select(CB.c.id, CB.c.check_id, CB.c.status, CB.c.attempts, CB.c.last_status, CB.c.last_error,
                    CB.c.created_at, CB.c.delivered_at, CB.c.url, CB.c.body, CB.c.client_id, A.c.name)
             .join(A, A.c.id == CB.c.client_id))
    if _arg("status"):
        query = query.where(CB.c.status == _arg("status"))
    if _int("store"):
        query = query.where(CB.c.client_id == _int("store"))
    with service().engine.connect() as conn:
        filters = [Filter("status", kit.t("状态", "State"),
                          tuple((k, kit.t(*v)) for k, v in CALLBACK_STATES.items())),
                   Filter("store", kit.t("客户端", "Client"), _stores(conn))]
        page = paging.paginate(conn, query, sorts=[paging.Sort("id", CB.c.id, descending_first=True)],
                               default="-id", tie=CB.c.id, filtered=filtered(filters))
    rows = []
    for r in page.rows:
        subject = (Link(r.check_id, flask.url_for("console.check_page", check_id=r.check_id))
                   if r.check_id.startswith("chk_") else r.check_id)
        event = _event(r.body)
        rows.append([_when(r.created_at), kit.t(*EVENT_NAMES.get(event, (event, event))), subject,
                     Link(r.name, flask.url_for("console.callbacks", store=r.client_id)),
                     kit.t(*CALLBACK_STATES.get(r.status, (r.status, r.status))), r.attempts,
                     r.last_status or r.last_error or "-", _when(r.delivered_at)])
    return table(kit.t("回调与下架通知", "Callbacks and delist notices"),
                 [Col(kit.t("时间", "When"), "id", True), Col(kit.t("事件", "Event")),
                  Col(kit.t("检查/通知", "Check / notice")), Col(kit.t("客户端", "Client")), Col(kit.t("状态", "State")),
                  Col(kit.t("次数", "Attempts")), Col(kit.t("最近结果", "Last result")), Col(kit.t("送达", "Delivered"))],
                 rows, filters, page=page)
