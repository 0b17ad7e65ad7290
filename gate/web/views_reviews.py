"""The review workflow: the queue of `review` checks, a check's page (facts beside the filing, differences marked),
and approve/reject (gate.reviews does the deciding, recording and callback)."""

from __future__ import annotations

import datetime as dt
import json

import flask
from sqlalchemy import func, select

from gate.coverage import check_coverage
from gate.decide import fingerprint_text, key_matches, lineage_ancestors, name_similarity
from gate.platform_hooks.checks import SC, CheckNotFound
from gate.platform_hooks.service import service
from gate.reviews import record_review, reviews_of_check
from gate.store.checks import facts_from_dict
from gate.store.filings import DatabaseRegistry
from gate.store.service_tables import ApiClient, CallbackDelivery
from gate.store.tables import Check, as_utc, utcnow
from gate.web import kit, paging
from gate.web.blueprint import blueprint
from gate.web.kit import requires

A = ApiClient.__table__
GC = Check.__table__
CB = CallbackDelivery.__table__


def stores(conn) -> list:
    return conn.execute(select(A.c.id, A.c.name).order_by(A.c.name)).all()


QUEUE_SORTS = [paging.Sort("created", SC.c.created_at), paging.Sort("package", func.coalesce(GC.c.package, ""))]


def queue_query(*, client_id: int | None = None, reason: str | None = None, older_than_hours: int | None = None):
    """Checks waiting for a person (ix_service_check_verdict_created); paging.paginate orders and pages it."""
    query = (select(SC.c.check_id, SC.c.created_at, SC.c.filename, SC.c.client_id, A.c.name.label("client"),
                    GC.c.package, GC.c.reason_codes)
             .join(A, A.c.id == SC.c.client_id).join(GC, GC.c.id == SC.c.gate_check_id)
             .where(SC.c.verdict == "review", SC.c.status == "done"))
    if client_id:
        query = query.where(SC.c.client_id == client_id)
    if reason:
        query = query.where(GC.c.reason_codes.like(f"%{reason}%"))
    if older_than_hours:
        query = query.where(SC.c.created_at <= utcnow() - dt.timedelta(hours=older_than_hours))
    return query


def _int_arg(name: str) -> int | None:
    value = flask.request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@blueprint.get("/reviews")
@requires("viewer")
def review_queue():
    reason = flask.request.args.get("reason", "").strip()[:64] or None
    query = queue_query(client_id=_int_arg("store"), reason=reason, older_than_hours=_int_arg("age"))
    with service().engine.connect() as conn:
        page = paging.paginate(conn, query, sorts=QUEUE_SORTS, default="created", tie=SC.c.check_id,
                               filtered=bool(reason or _int_arg("store") or _int_arg("age")))
        clients = stores(conn)
    now = utcnow()
    ages = [(now - as_utc(r.created_at)).total_seconds() / 3600 for r in page.rows]
    return kit.render("console/reviews.html", rows=list(zip(page.rows, ages)), clients=clients,
                      args=flask.request.args, page=page)


def comparison(facts, filing, platform: str, developer_entity: str | None, reason_codes: set[str]) -> dict:
    """What the check page shows side by side, each row marked same/different (no I/O)."""
    filed = filing.identities_for(platform, facts.package) if filing is not None and facts.package else ()
    signers = []
    for s in facts.signature.signers:
        direct = next((f for f in filed if key_matches(s, f)), None)
        ancestors = lineage_ancestors(s, facts.signature.lineage)
        via = next((a for a in ancestors for f in filed if key_matches(a, f)), None)
        signers.append({"cert": s, "md5": fingerprint_text(s.cert_md5), "sha256": fingerprint_text(s.cert_sha256),
                        "match": "direct" if direct else "lineage" if via else "none",
                        "via": fingerprint_text(via.cert_sha256) if via else None})
    hosts, uncovered = [], set()
    if filing is not None:
        cov = check_coverage(facts.network, list(filing.domains))
        uncovered = {h.host for h in cov.uncovered_hosts} | {i.ip for i in cov.uncovered_ips}
    for h in facts.network.hosts:
        hosts.append({"name": h.host, "sources": h.sources, "third_party": h.third_party,
                      "covered": filing is not None and h.host not in uncovered})
    for i in facts.network.ips:
        hosts.append({"name": i.ip, "sources": i.sources, "third_party": None,
                      "covered": filing is not None and i.ip not in uncovered})
    labels = [x for x in (facts.label, *facts.labels.values()) if x]
    similarity = max((name_similarity(x, filing.service_name) for x in labels), default=0.0) if filing else 0.0
    return {"filed": filed, "signers": signers, "hosts": hosts,
            "identifier_same": bool(filed), "similarity": round(similarity, 2),
            # The engine's own comparison (gate.decide step 8), not a second opinion.
            "entity_same": filing is not None and developer_entity is not None
            and "entity_mismatch" not in reason_codes}


def load_check(conn, check_id: str) -> dict:
    row = conn.execute(select(SC, A.c.name.label("client"), A.c.role.label("client_role"))
                       .join(A, A.c.id == SC.c.client_id).where(SC.c.check_id == check_id)).first()
    if row is None or row.gate_check_id is None:
        raise CheckNotFound(kit.t(f"没有检查记录 {check_id}", f"no check {check_id}"))
    stored = conn.execute(select(GC).where(GC.c.id == row.gate_check_id)).first()
    facts = facts_from_dict(json.loads(stored.facts))
    decision = json.loads(stored.decision)
    registry = DatabaseRegistry(conn)
    filing = registry.version(stored.filing_version_id) if stored.filing_version_id else None
    if filing is None and facts.package:  # no filing was used (e.g. unfiled): show today's, if any
        current = registry.filings_for(stored.platform, facts.package)
        filing = current[0] if current else None
    metadata = json.loads(row.metadata_json or "{}")
    return {"row": row, "stored": stored, "facts": facts, "decision": decision, "filing": filing,
            "metadata": metadata, "reviews": reviews_of_check(conn, check_id),
            "callbacks": conn.execute(select(CB).where(CB.c.check_id == check_id).order_by(CB.c.id)).all(),
            "compare": comparison(facts, filing, stored.platform, metadata.get("developer_entity"),
                                  {r["code"] for r in decision.get("reasons", [])})}


@blueprint.get("/checks/<check_id>")
@requires("viewer")
def check_page(check_id: str):
    with service().engine.connect() as conn:
        context = load_check(conn, check_id[:40])
    return kit.render("console/check.html", **context, done=flask.request.args.get("done"))


@blueprint.post("/checks/<check_id>/review")
@requires("reviewer")
def review_submit(check_id: str):
    outcome = {"approve": "approved", "reject": "rejected"}.get(flask.request.form.get("outcome", ""), "")
    comment = flask.request.form.get("comment", "")
    if not comment.strip():
        with service().engine.connect() as conn:
            context = load_check(conn, check_id[:40])
        error = kit.t("请填写复核意见。", "A comment is required.")
        return kit.render("console/check.html", 400, **context, done=None, review_error=error)
    record_review(service().engine, check_id=check_id[:40], outcome=outcome, comment=comment,
                  reviewer=flask.g.staff.username, policy=service().policy)
    return flask.redirect(flask.url_for("console.check_page", check_id=check_id, done=outcome))
