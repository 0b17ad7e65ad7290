"""Filing applications (代为备案) as staff see them: which app, which round, what the regulator answered.

Read-only and without personal data: contacts and ID numbers stay sealed (gate.pii); developers create and correct
applications through the API (docs/api.md), and `gate sync applications` follows them.
"""

from __future__ import annotations

import json

import flask
from sqlalchemy import select

from gate.platform_hooks.service import service
from gate.store.application_tables import FilingApplication
from gate.store.service_tables import ApiClient
from gate.web import kit
from gate.web.blueprint import blueprint
from gate.web.kit import requires
from gate.web.views_browse import LIMIT, Filter, Link, _arg, _when, table

T, A = FilingApplication.__table__, ApiClient.__table__
STATUS_NAMES = {"pending": ("待提交", "pending"), "submitted": ("审核中", "submitted"),
                "returned": ("退回补正", "returned"), "approved": ("已通过", "approved"), "rejected": ("未通过", "rejected")}


@blueprint.get("/filing-applications")
@requires("viewer")
def filing_applications():
    query = (select(T, A.c.name.label("client")).join(A, A.c.id == T.c.client_id)
             .order_by(T.c.updated_at.desc()).limit(LIMIT))
    if _arg("status"):
        query = query.where(T.c.status == _arg("status"))
    if _arg("package"):
        query = query.where(T.c.identifier.like(f"%{_arg('package')}%"))
    with service().engine.connect() as conn:
        found = conn.execute(query).all()
    rows = [[_when(r.updated_at), Link(r.identifier, flask.url_for("console.check_page", check_id=r.check_id)), r.service_name, r.unit_name,
             kit.t(*STATUS_NAMES.get(r.status, (r.status, r.status))), str(r.round),
             "; ".join(f"{x.get('code', '')}: {x.get('message', '')}" for x in json.loads(r.reasons or "[]"))
             or (r.last_error or ""), r.service_licence or "-", r.client]
            for r in found]
    return table(kit.t("备案申请", "Filing applications"),
                 [kit.t("更新时间", "Updated"), kit.t("包名", "Package"), kit.t("服务名称", "Service name"),
                  kit.t("主办单位", "Unit"), kit.t("状态", "Status"), kit.t("轮次", "Round"),
                  kit.t("原因 / 错误", "Reasons / error"), kit.t("备案号", "Filing number"),
                  kit.t("申请客户端", "Applicant")], rows,
                 [Filter("status", kit.t("状态", "Status"), tuple((k, kit.t(*v)) for k, v in STATUS_NAMES.items())),
                  Filter("package", kit.t("包名", "Package"))],
                 note=kit.t("联系人与证件号码加密保存，此处不显示。", "Contacts and ID numbers are stored sealed and never shown."))
