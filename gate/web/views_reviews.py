"""The review workflow: the queue of `review` checks, a check's page (facts beside the filing, differences marked),
and approve/reject (gate.services.reviews does the deciding, recording and callback)."""

from __future__ import annotations

import datetime as dt
import json

import flask
from sqlalchemy import select, text

from gate.api.service import service
from gate.db.audit import history, record_event
from gate.db.filings import DatabaseRegistry
from gate.db.service_tables import REVIEW_PENDING, ApiClient, CallbackDelivery
from gate.db.tables import Check, as_utc, table_of, utcnow
from gate.decide import fingerprint_text, key_matches, lineage_ancestors, name_similarity
from gate.errors import GateError
from gate.extract.facts import PackageFacts
from gate.hosts import host_rows
from gate.services.checks import SC, CheckNotFound
from gate.services.reviews import record_review, reviews_of_check
from gate.web import claims, export, kit, paging
from gate.web.blueprint import blueprint
from gate.web.check_filters import reason_in_text
from gate.web.kit import requires

A = table_of(ApiClient)
GC = table_of(Check)
CB = table_of(CallbackDelivery)


def stores(conn) -> list:
    return conn.execute(select(A.c.id, A.c.name).order_by(A.c.name)).all()


# The queue's order and filters are service_check's own columns (migration 0750); the predicate is written with
# literals so that PostgreSQL uses the partial index ix_service_check_review_queue (tens of thousands of rows
# instead of 6 M), which also covers the filters, so the bounded counts read that index alone.
QUEUE_SORTS = [paging.Sort("created", SC.c.created_at), paging.Sort("package", SC.c.package)]
PENDING = text(REVIEW_PENDING.replace("verdict", "service_check.verdict").replace("status", "service_check.status"))


def queue_query(*, client_id: int | None = None, reason: str | None = None, older_than_hours: int | None = None):
    """Checks waiting for a person; paging.paginate orders and pages it."""
    query = (select(SC.c.check_id, SC.c.created_at, SC.c.filename, SC.c.client_id, A.c.name.label("client"),
                    SC.c.package, SC.c.reason_codes)
             .outerjoin(A, A.c.id == SC.c.client_id).where(PENDING))  # outer: the count drops it
    if client_id:
        query = query.where(SC.c.client_id == client_id)
    if reason:
        query = query.where(reason_in_text(SC.c.reason_codes, reason))
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
        held = claims.live_claims(conn, [r.check_id for r in page.rows])
    now = utcnow()
    ages = [(now - as_utc(r.created_at)).total_seconds() / 3600 for r in page.rows]
    if export.wanted():
        return export.csv_response("reviews", [kit.t("等待（小时）", "Waiting (hours)"), kit.t("收到时间", "Received"),
                                               kit.t("检查", "Check"), kit.t("包名", "Package"),
                                               kit.t("文件名", "File name"), kit.t("原因", "Reasons"),
                                               kit.t("来源", "From"), kit.t("认领人", "Claimed by")],
                                   [[f"{a:.1f}", kit.beijing_iso(r.created_at), r.check_id, r.package or "",
                                     r.filename, kit.reason_names(r.reason_codes), r.client,
                                     held.get(r.check_id, ("",))[0]] for r, a in zip(page.rows, ages)],
                                   page.next_url)
    return kit.render("console/reviews.html", rows=list(zip(page.rows, ages)), clients=clients,
                      args=flask.request.args, page=page, held=held, bulk=flask.g.get("bulk_result"))


BULK_MAX = 100


@blueprint.post("/reviews/bulk")
@requires("reviewer")
def review_bulk():
    """Approve or reject the ticked checks with one comment; each is settled on its own (a block stays a block,
    another reviewer's claim is respected) and the page says which were not."""
    form = flask.request.form
    outcome = {"approve": "approved", "reject": "rejected"}.get(form.get("outcome", ""), "")
    comment = form.get("comment", "").strip()
    ids = list(dict.fromkeys(i[:40] for i in form.getlist("check_id")))[:BULK_MAX]
    if not outcome or not comment or not ids:
        flask.g.bulk_result = {"error": kit.t("请勾选检查、填写复核意见并选择批准或拒绝。",
                                              "Tick checks, write a comment and choose approve or reject.")}
        return review_queue()[0], 400
    me = flask.g.staff.username
    done, refused = [], []
    for check_id in ids:
        try:
            with service().engine.connect() as conn:
                claims.ensure_not_claimed_by_other(conn, check_id, me)
            record_review(service().engine, check_id=check_id, outcome=outcome, comment=comment, reviewer=me,
                          policy=service().policy)
            claims.release(service().engine, check_id, me, audit=False)
            done.append(check_id)
        except GateError as exc:
            refused.append((check_id, kit.error_text(exc)))
    with service().engine.begin() as conn:
        record_event(conn, actor=f"staff:{me}", action=f"bulk.{outcome}", subject=None,
                     details={"count": len(done), "refused": len(refused), "comment": comment[:200],
                              "check_ids": done[:BULK_MAX]})
    flask.g.bulk_result = {"outcome": outcome, "done": done, "refused": refused}
    return review_queue()


@blueprint.post("/checks/<check_id>/claim")
@requires("reviewer")
def review_claim(check_id: str):
    if flask.request.form.get("release") == "1":
        claims.release(service().engine, check_id[:40], flask.g.staff.username)
    else:
        claims.claim(service().engine, check_id[:40], flask.g.staff.username)
    return flask.redirect(flask.url_for("console.check_page", check_id=check_id))


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
    hosts = host_rows(facts.network, list(filing.domains) if filing is not None else None)
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
    facts = PackageFacts.from_dict(json.loads(stored.facts))
    decision = json.loads(stored.decision)
    registry = DatabaseRegistry(conn)
    filing = registry.version(stored.filing_version_id) if stored.filing_version_id else None
    if filing is None and facts.package:  # no filing was used (e.g. unfiled): show today's, if any
        current = registry.filings_for(stored.platform, facts.package)
        filing = current[0] if current else None
    metadata = json.loads(row.metadata_json or "{}")
    callbacks = conn.execute(select(CB).where(CB.c.check_id == check_id).order_by(CB.c.id)).all()
    reviewed = [cb for cb in callbacks if '"check.reviewed"' in cb.body]
    return {"reviewed_callback": reviewed[-1] if reviewed else None,"row": row, "stored": stored, "facts": facts, "decision": decision, "filing": filing,
            "metadata": metadata, "reviews": reviews_of_check(conn, check_id),
            "callbacks": callbacks,
            "compare": comparison(facts, filing, stored.platform, metadata.get("developer_entity"),
                                  {r["code"] for r in decision.get("reasons", [])})}


@blueprint.get("/checks/<check_id>")
@requires("viewer")
def check_page(check_id: str):
    with service().engine.connect() as conn:
        context = load_check(conn, check_id[:40])
        events = history(conn, context["row"].check_id, context["facts"].package)
        claim = claims.live_claims(conn, [context["row"].check_id]).get(context["row"].check_id)
    return kit.render("console/check.html", **context, events=events, claim=claim,
                      done=flask.request.args.get("done"))


@blueprint.post("/checks/<check_id>/review")
@requires("reviewer")
def review_submit(check_id: str):
    outcome = {"approve": "approved", "reject": "rejected"}.get(flask.request.form.get("outcome", ""), "")
    comment = flask.request.form.get("comment", "")
    if not comment.strip():
        with service().engine.connect() as conn:
            context = load_check(conn, check_id[:40])
            context["events"] = history(conn, context["row"].check_id, context["facts"].package)
            context["claim"] = claims.live_claims(conn, [context["row"].check_id]).get(context["row"].check_id)
        error = kit.t("请填写复核意见。", "A comment is required.")
        return kit.render("console/check.html", 400, **context, done=None, review_error=error)
    with service().engine.connect() as conn:
        claims.ensure_not_claimed_by_other(conn, check_id[:40], flask.g.staff.username)
        state = conn.execute(select(SC.c.verdict, SC.c.status).where(SC.c.check_id == check_id[:40])).first()
        settled = bool(reviews_of_check(conn, check_id[:40]))
    if state is not None and state.verdict != "review" and not settled:
        # The engine decided it (a block such as key_mismatch, or an allow): nobody "handled it meanwhile".
        from gate.services.reviews import ReviewRefused

        raise ReviewRefused(kit.t(f"这条检查的结论是“{kit.verdict_name(state.verdict)}”，由规则直接决定，不需要人工复核。",
                                  f"This check's verdict is {state.verdict}, decided by the rules: it needs no "
                                  "review."), code="review_not_needed")
    record_review(service().engine, check_id=check_id[:40], outcome=outcome, comment=comment,
                  reviewer=flask.g.staff.username, policy=service().policy)
    claims.release(service().engine, check_id[:40], flask.g.staff.username, audit=False)
    return flask.redirect(flask.url_for("console.check_page", check_id=check_id, done=outcome))
