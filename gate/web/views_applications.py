"""Filing applications (代为备案): the list staff follow, and the form a reviewer fills in to file on a developer's behalf.

The list is without personal data: contacts and ID numbers stay sealed (gate.pii). Developers create and correct
applications through the API (docs/api.md); a platform's reviewer may file for a developer from a check of the
developer's package (`/console/checks/<id>/apply`): the same pre-filled form, the same pre-submission checks and the
same sealed storage as the API, the check's API client as the applicant and the reviewer in the audit trail.
`gate sync applications` (and `gate scheduler`) submits and follows them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import flask
from sqlalchemy import select

from gate import names
from gate.api.service import service
from gate.db.application_tables import FilingApplication
from gate.db.service_tables import ApiClient
from gate.db.tables import table_of
from gate.errors import GateError
from gate.pii import Sealer
from gate.sync import applications
from gate.web import kit, paging
from gate.web.blueprint import blueprint
from gate.web.kit import requires
from gate.web.views_browse import Col, Filter, Link, _arg, _when, filtered, table
from gate.web.views_reviews import load_check

T, A = table_of(FilingApplication), table_of(ApiClient)
STATUS_NAMES = {"pending": ("待提交", "pending"), "submitted": ("审核中", "submitted"),
                "returned": ("退回补正", "returned"), "approved": ("已通过", "approved"), "rejected": ("未通过", "rejected")}


@blueprint.get("/filing-applications")
@requires("viewer")
def filing_applications():
    query = select(T, A.c.name.label("client")).join(A, A.c.id == T.c.client_id)
    if _arg("status"):
        query = query.where(T.c.status == _arg("status"))
    if _arg("package"):
        query = query.where(T.c.identifier.like(f"%{_arg('package')}%"))
    filters = [Filter("status", kit.t("状态", "Status"), tuple((k, kit.t(*v)) for k, v in STATUS_NAMES.items())),
               Filter("package", kit.t("包名", "Package"))]
    with service().engine.connect() as conn:
        page = paging.paginate(conn, query, sorts=[paging.Sort("updated", T.c.updated_at, descending_first=True),
                                                   paging.Sort("package", T.c.identifier)],
                               default="-updated", tie=T.c.application_id, filtered=filtered(filters))
    rows = [[_when(r.updated_at), Link(r.identifier, flask.url_for("console.check_page", check_id=r.check_id)),
             r.service_name, r.unit_name,
             kit.t(*STATUS_NAMES.get(r.status, (r.status, r.status))), str(r.round),
             "; ".join(f"{kit.reason_name(x.get('code')) if x.get('code') in names.REASONS else x.get('code', '')}: "
                       f"{x.get('message', '')}" for x in json.loads(r.reasons or "[]"))
             or (r.last_error or ""), r.service_licence or "-", r.client]
            for r in page.rows]
    return table(kit.t("备案申请", "Filing applications"),
                 [Col(kit.t("更新时间", "Updated"), "updated", True), Col(kit.t("包名", "Package"), "package"),
                  Col(kit.t("服务名称", "Service name")), Col(kit.t("主办单位", "Unit")), Col(kit.t("状态", "Status")),
                  Col(kit.t("轮次", "Round")), Col(kit.t("原因 / 错误", "Reasons / error")),
                  Col(kit.t("备案号", "Filing number")), Col(kit.t("申请客户端", "Applicant"))], rows, filters,
                 page=page,
                 note=kit.t("联系人与证件号码加密保存，此处不显示。", "Contacts and ID numbers are stored sealed and never shown."))


@dataclass(frozen=True)
class Applicant:
    """The API client whose check names the package: the applicant of record."""

    id: int
    name: str


def _apply_form(check_id: str, *, status: int = 200, form: dict | None = None, problems=(), error: str = ""):
    with service().engine.connect() as conn:
        context = load_check(conn, check_id[:40])
        prefill = applications.prefill(conn, client_id=context["row"].client_id, check_id=check_id[:40])
    return kit.render("console/apply.html", status, prefill=prefill, form=form or {}, problems=problems,
                      problem_text=kit.problem_text, error=error, **context)


@blueprint.get("/checks/<check_id>/apply")
@requires("reviewer")
def apply_form(check_id: str):
    return _apply_form(check_id)


@blueprint.post("/checks/<check_id>/apply")
@requires("reviewer")
def apply_submit(check_id: str):
    form = {k: flask.request.form.get(k, "").strip() for k in
            ("service_name", "unit_name", "unit_nature", "content_approvals", "contact_name", "contact_phone",
             "contact_email", "contact_id_number")}
    raw = {"check_id": check_id[:40], "service_name": form["service_name"], "unit_name": form["unit_name"],
           "unit_nature": form["unit_nature"] or None,
           "content_approvals": [a.strip() for a in re.split(r"[;；,，\n]+", form["content_approvals"]) if a.strip()],
           "contacts": [{"name": form["contact_name"], "phone": form["contact_phone"], "email": form["contact_email"],
                         "id_number": form["contact_id_number"], "role": "负责人"}]}
    with service().engine.connect() as conn:
        row = load_check(conn, check_id[:40])["row"]
    try:
        created = applications.create(service().engine, client=Applicant(row.client_id, row.client), raw=raw,
                                      sealer=Sealer(service().settings.pii_key),
                                      name_similarity_min=service().policy.name_similarity,
                                      actor=f"staff:{flask.g.staff.username}")
    except applications.ApplicationError as exc:
        form.pop("contact_id_number")  # personal data is never echoed back into a page
        return _apply_form(check_id, status=exc.status, form=form, problems=exc.problems,
                           error="" if exc.problems else kit.error_text(exc))
    except GateError as exc:  # e.g. no GATE_PII_KEY: the gate takes no personal data it cannot seal
        return _apply_form(check_id, status=getattr(exc, "status", None) or 400, form=form,
                           error=kit.error_text(exc))
    return flask.redirect(flask.url_for("console.filing_applications", package=created["identifier"]))
