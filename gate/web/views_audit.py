"""The audit trail a person can read: every stored event (gate.db.audit), filterable by actor, object, event and
Beijing-time day, newest first with keyset paging; and the few newest events of one object for its page's history
section. Reading only: the trail is append-only and the console never edits it."""

from __future__ import annotations

import datetime as dt

import flask
from markupsafe import Markup
from sqlalchemy import select

from gate import names
from gate.api.service import service
from gate.beijing_time import BEIJING
from gate.db.tables import AuditEvent, table_of
from gate.web import kit, paging
from gate.web.blueprint import blueprint
from gate.web.kit import requires
from gate.web.views_browse import Col, Filter, Link, _arg, _when, filtered, table

AE = table_of(AuditEvent)


def _day(name: str, *, end: bool) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` filter as the start (or the end) of that Beijing day, in UTC."""
    try:
        day = dt.date.fromisoformat(_arg(name))
    except ValueError:
        return None
    start = dt.datetime.combine(day, dt.time(0, 0), BEIJING)
    return (start + dt.timedelta(days=1) if end else start).astimezone(dt.UTC)


def subject_link(subject: str | None):
    """An audit subject as a link to its object's page where it names one."""
    if not subject:
        return "-"
    if subject.startswith("chk_"):
        return Link(subject, flask.url_for("console.check_page", check_id=subject))
    if "ICP" in subject:  # a filing number (京ICP备…号-1A)
        return Link(subject, flask.url_for("console.filing_page", licence=subject))
    return Link(subject, flask.url_for("console.audit", subject=subject))


def actors_named(conn, name: str) -> list[str]:
    """The stored actors a person means by ``name``: itself (``staff:ann`` typed whole), the user ``staff:ann`` or
    the client ``client:ann`` — only those with at least one event. One index seek each; usually one survives, and
    then the page is one backward walk of ``ix_audit_event_actor_id`` (``actor``, ``id``), where a three-way OR
    had PostgreSQL read and sort all of a busy reviewer's events for every page (534 ms at 6.9 M events)."""
    forms = dict.fromkeys([name, f"staff:{name}", f"client:{name}"])
    return [form for form in forms
            if conn.execute(select(AE.c.id).where(AE.c.actor == form).limit(1)).first() is not None]


def audit_query(conn):
    query = select(AE.c.id, AE.c.at, AE.c.actor, AE.c.action, AE.c.subject, AE.c.details)
    if _arg("actor"):
        query = query.where(AE.c.actor.in_(actors_named(conn, _arg("actor"))))
    if _arg("subject"):
        query = query.where(AE.c.subject == _arg("subject"))
    if _arg("action"):
        query = query.where(AE.c.action == _arg("action"))
    since, until = _day("from", end=False), _day("to", end=True)
    if since:
        query = query.where(AE.c.at >= since)
    if until:
        query = query.where(AE.c.at < until)
    return query


def action_name(action: str) -> str:
    return names.name(names.AUDIT_ACTIONS, action, kit.lang())


@blueprint.get("/audit")
@requires("viewer")
def audit():
    filters = [Filter("actor", kit.t("操作者（用户名或客户端名）", "Actor (user or client name)")),
               Filter("subject", kit.t("对象（检查号、包名、备案号…）", "Object (check id, package, filing number …)")),
               Filter("action", kit.t("事件", "Event"), tuple((k, kit.t(*v)) for k, v in names.AUDIT_ACTIONS.items())),
               Filter("from", kit.t("起始日期（北京时间）", "From (Beijing date)")),
               Filter("to", kit.t("截止日期（含）", "To (inclusive)"))]
    with service().engine.connect() as conn:
        page = paging.paginate(conn, audit_query(conn), sorts=[paging.Sort("at", AE.c.id, descending_first=True)],
                               default="-at", tie=AE.c.id, filtered=filtered(filters))
    # Details are the stored event's own data (keys and values as recorded): shown as code, not as prose.
    rows = [[_when(r.at), r.actor, action_name(r.action), subject_link(r.subject),
             Markup('<code class="code">%s</code>') % kit.details_text(r.details)] for r in page.rows]
    return table(kit.t("审计日志", "Audit trail"),
                 [Col(kit.t("时间", "When"), "at", True), Col(kit.t("操作者", "Actor")), Col(kit.t("事件", "Event")),
                  Col(kit.t("对象", "Object")), Col(kit.t("详情", "Details"))], rows, filters,
                 note=kit.t("审计日志只追加、不可修改；每项变更与其审计事件在同一事务中写入。",
                            "The trail is append-only; every change is written in the same transaction as its event."),
                 page=page)
