"""Filing applications (代为备案): a developer files its app through the platform, which checks and submits it.

MIIT notice 105 (五)(六): the sponsor may file through its distribution platform; the platform checks the
applicant's identity and network resources and must not file what it knows to be wrong. So an application starts
from a package the gate has verified (a developer's own check), pre-fills what the package proves — platform,
identifier, 公钥, 签名MD5, the domains and public IPs it contacts — and takes from the developer only what a package
cannot say: the service name, the sponsoring unit, content approvals (前置审批) and contacts.

Before anything is stored or sent, the pre-submission checks (``precheck``), each a stable problem code:
  1. the package identity verifies (the check found a verified signer and no problem)      identity_unverified
  2. no filing in force already lists the identifier                                       already_filed
  3. every contacted domain and public IP is covered by a filing in the registry (a
     website filing, 网站备案, must exist before an app may list the domain)                domain_not_filed
  4. the service name resembles the package's label (the decision engine's similarity)    name_mismatch
  5. the applicant is the API client that made the check, and the unit it declared then   applicant_mismatch
  6. the form is complete (service name, unit, contacts with a phone or e-mail, ID numbers
     in the 18-character form)                                                             form_invalid
A failed check answers 422 ``application_precheck_failed`` with the problems; nothing is stored.

Then the body is built once per round, sealed (gate.pii) and stored with its Idempotency-Key in one transaction;
it is sent after the commit (``send_pending``), so a lost answer is retried with the same bytes under the same key.
``follow`` polls the regulator for submitted applications: ``returned`` (退回补正, with reasons; the developer
corrects and a new round is sent), ``approved`` (with the service licence; the filing itself reaches the registry
through the filings feed, like every other filing) or ``rejected``. Every step is an audit event without personal
data.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from gate.db.application_tables import FilingApplication
from gate.db.audit import record_event
from gate.db.tables import table_of, utcnow
from gate.errors import GateError
from gate.pii import Sealer

T = table_of(FilingApplication)
FOLLOWED = ("submitted",)
FINAL = ("approved", "rejected")
FORM_FIELDS = ("service_name", "unit_name", "unit_nature", "content_approvals", "contacts", "domains")
ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
MAX_CONTACTS = 5
MAX_TEXT = 200


class ApplicationError(GateError):
    code = "application_invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 problems: list[dict] | None = None) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status
        self.problems = problems or []


@dataclass(frozen=True)
class Prefill:
    """What the verified package says, for the form."""

    check_id: str
    package_sha256: str
    platform: str
    identifier: str | None
    public_key: str | None
    signature_md5: str | None
    label: str | None
    labels: tuple[str, ...]
    domains: tuple[str, ...]
    verified: bool
    declared_entity: str | None

    def as_dict(self) -> dict:
        return {"check_id": self.check_id, "platform": self.platform, "identifier": self.identifier,
                "public_key": self.public_key, "signature_md5": self.signature_md5, "label": self.label,
                "domains": list(self.domains), "verified": self.verified}


def prefill(conn: Connection, *, client_id: int, check_id: str) -> Prefill:
    """The form's package values from the client's own completed check (another client's is not found)."""
    from gate.coverage import check_coverage
    from gate.db.service_tables import ServiceCheck
    from gate.db.tables import Check
    from gate.extract.facts import PackageFacts
    from gate.services.decisions import platform_of

    SC, GC = table_of(ServiceCheck), table_of(Check)
    row = conn.execute(select(SC.c.gate_check_id, SC.c.metadata_json, GC.c.facts)
                       .join(GC, GC.c.id == SC.c.gate_check_id)
                       .where(SC.c.check_id == check_id, SC.c.client_id == client_id)).first()
    if row is None:
        raise ApplicationError(f"no completed check {check_id} of this client", code="check_not_found", status=404)
    facts = PackageFacts.from_dict(json.loads(row.facts))
    signer = facts.signature.signers[0] if facts.signature.signers else None
    # The domains the filing must list are those the decision engine would ask about: first-party contact hosts
    # (by registrable domain) and public IPs — what coverage finds uncovered against an empty filing.
    own = check_coverage(facts.network, [])
    domains = sorted({h.registrable_domain or h.host for h in own.uncovered_hosts} | {i.ip for i in own.uncovered_ips})
    metadata = json.loads(row.metadata_json or "{}")
    return Prefill(check_id=check_id, package_sha256=facts.sha256 or "",
                   platform=platform_of(facts), identifier=facts.package,
                   public_key=signer.public_key if signer else None, signature_md5=signer.cert_md5 if signer else None,
                   label=facts.label, labels=tuple(v for v in (facts.label, *facts.labels.values()) if v),
                   domains=tuple(domains), verified=bool(facts.signature.verified and not facts.problems and signer),
                   declared_entity=metadata.get("developer_entity"))


def _form(raw: dict) -> dict:
    """The developer's part of the form, shape-checked (problems come from ``precheck``)."""
    if not isinstance(raw, dict):
        raise ApplicationError("the application is a JSON object", code="application_malformed")
    form: dict[str, Any] = {k: raw.get(k) for k in FORM_FIELDS if raw.get(k) is not None}
    for name in ("service_name", "unit_name", "unit_nature"):
        if name in form and (not isinstance(form[name], str) or len(form[name]) > MAX_TEXT):
            raise ApplicationError(f"{name} is a text of at most {MAX_TEXT} characters", code="application_malformed")
    for name in ("content_approvals", "domains"):
        if name in form and (not isinstance(form[name], list) or not all(isinstance(x, str) and len(x) <= MAX_TEXT
                                                                           for x in form[name])):
            raise ApplicationError(f"{name} is a list of texts", code="application_malformed")
    contacts = form.get("contacts", [])
    if not isinstance(contacts, list) or len(contacts) > MAX_CONTACTS or not all(
            isinstance(c, dict) and all(isinstance(c.get(k, ""), str) and len(c.get(k, "")) <= MAX_TEXT
                                        for k in ("name", "phone", "email", "id_number", "role")) for c in contacts):
        raise ApplicationError(f"contacts is a list of at most {MAX_CONTACTS} objects with text name, phone, email, "
                               "id_number, role", code="application_malformed")
    # Keep only what the form needs (personal data minimal): no other member of a contact is stored or sent.
    form["contacts"] = [{k: c[k].strip() for k in ("name", "role", "phone", "email", "id_number") if c.get(k)}
                        for c in contacts]
    return form


def precheck(conn: Connection, pre: Prefill, form: dict, *, name_similarity_min: float) -> list[dict]:
    """The pre-submission checks (module docstring); an empty list means the application may be submitted."""
    from gate.db.filings import DatabaseRegistry
    from gate.decide import name_similarity

    problems: list[dict] = []

    def problem(code: str, message: str, **evidence) -> None:
        problems.append({"code": code, "message": message, **evidence})

    if not pre.verified or not pre.identifier:  # 1.
        problem("identity_unverified", "the package's signature does not verify: file only a verified package")
    elif any(f.active for f in DatabaseRegistry(conn).filings_for(pre.platform, pre.identifier)):  # 2.
        problem("already_filed", f"{pre.identifier} is already filed; change the filing instead")
    domains = form.get("domains", list(pre.domains))
    uncovered = _uncovered(conn, domains)  # 3.
    if uncovered:
        problem("domain_not_filed", "these domains/IPs are covered by no filing in the registry (file the website "
                "first): " + ", ".join(uncovered), domains=uncovered)
    service_name = form.get("service_name", "")
    if service_name and pre.labels and max(name_similarity(label, service_name)  # 4.
                                          for label in pre.labels) < name_similarity_min:
        problem("name_mismatch", f"the service name {service_name!r} does not resemble the app's label "
                f"{pre.label!r}")
    unit = form.get("unit_name", "")
    if pre.declared_entity and unit and _entity(pre.declared_entity) != _entity(unit):  # 5.
        problem("applicant_mismatch", f"the check was uploaded for {pre.declared_entity!r}, not {unit!r}")
    missing = [n for n in ("service_name", "unit_name") if not form.get(n)]  # 6.
    if missing or not form.get("contacts"):
        problem("form_invalid", "fill " + ", ".join(missing + ([] if form.get("contacts") else ["contacts"])))
    for index, contact in enumerate(form.get("contacts", [])):
        if not contact.get("name") or not (contact.get("phone") or contact.get("email")):
            problem("form_invalid", f"contacts[{index}] needs a name and a phone or e-mail")
        if contact.get("id_number") and not ID_NUMBER.fullmatch(contact["id_number"].upper()):
            problem("form_invalid", f"contacts[{index}].id_number is not an 18-character ID number")
    return problems


def _entity(text: str) -> str:
    from gate.decide import name_key  # a unit name as step 8 of a decision compares it

    return name_key(text)


def _uncovered(conn: Connection, names: list[str]) -> list[str]:
    """Domains/IPs that no filing in force of the registry lists (by gate.coverage's rules)."""
    from gate.coverage import canonical_ip, normalise_domain
    from gate.db.tables import Filing, FilingDomain, FilingVersion

    F, V, D = table_of(Filing), table_of(FilingVersion), table_of(FilingDomain)

    def covering(name: str) -> list[str]:  # the name and its parent domains (a filed parent covers it)
        ip = canonical_ip(name)
        if ip:
            return [ip]
        parts = name.split(".")
        return [".".join(parts[i:]) for i in range(max(1, len(parts) - 1))]

    wanted = sorted({canonical_ip(n) or normalise_domain(n) or n for n in names})
    candidates = sorted({c for n in wanted for c in covering(n)})
    if not candidates:
        return []
    filed = set(conn.execute(select(D.c.name).join(V, V.c.id == D.c.version_id)
                             .join(F, F.c.current_version_id == V.c.id)
                             .where(D.c.name.in_(candidates), F.c.status == "active",
                                    F.c.blacklisted.is_(False))).scalars())
    return [n for n in wanted if not filed.intersection(covering(n))]


def _body(pre: Prefill, form: dict, applicant: str) -> bytes:
    body = {"platform": pre.platform, "identifier": pre.identifier, "public_key": pre.public_key,
            "signature_md5": pre.signature_md5, "package_sha256": pre.package_sha256,
            "service_name": form["service_name"], "unit_name": form["unit_name"],
            "unit_nature": form.get("unit_nature"), "content_approvals": form.get("content_approvals", []),
            "domains": form.get("domains", list(pre.domains)), "contacts": form["contacts"], "applicant": applicant}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def create(engine: Engine, *, client, raw: dict, sealer: Sealer, name_similarity_min: float,
           actor: str | None = None) -> dict:
    """Check and store a new application (status ``pending``); ``send_pending`` submits it after the commit.

    ``client`` is the applicant (the API client whose check names the package); ``actor``, who filled in the form
    when it is not the client itself (a platform's staff filing on the developer's behalf), for the audit trail."""
    actor = actor or client.name
    check_id = raw.get("check_id") if isinstance(raw, dict) else None
    if not isinstance(check_id, str) or not check_id:
        raise ApplicationError("check_id names the developer's check of the package to file",
                               code="application_malformed")
    form = _form(raw)
    sealer.require()  # no key: refuse before anything is checked or stored
    application_id = "fa_" + secrets.token_hex(12)
    with engine.begin() as conn:
        pre = prefill(conn, client_id=client.id, check_id=check_id)
        problems = precheck(conn, pre, form, name_similarity_min=name_similarity_min)
        record_event(conn, actor=actor, action="application.precheck", subject=pre.identifier or check_id,
                     details={"check_id": check_id, "problems": [p["code"] for p in problems]})
    if problems:
        raise ApplicationError("the application fails the pre-submission checks", code="application_precheck_failed",
                               status=422, problems=problems)
    body = _body(pre, form, client.name)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(T.insert().values(
            application_id=application_id, client_id=client.id, check_id=check_id, status="pending",
            platform=pre.platform, identifier=pre.identifier, service_name=form["service_name"],
            unit_name=form["unit_name"], package_sha256=pre.package_sha256, round=1,
            idempotency_key=f"{application_id}-r1", body_sealed=sealer.seal(body, application_id), reasons="[]",
            created_at=now, updated_at=now))
        record_event(conn, actor=actor, action="application.created", subject=pre.identifier,
                     details={"application_id": application_id, "check_id": check_id})
    return load(engine, application_id, client_id=client.id)


def correct(engine: Engine, *, client, application_id: str, raw: dict, sealer: Sealer,
            name_similarity_min: float) -> dict:
    """A new round for a returned application: the changed form fields, checked again, sealed, to be sent."""
    form_change = _form(raw)
    with engine.begin() as conn:
        row = _row(conn, application_id, client.id)
        if row.status != "returned":
            raise ApplicationError(f"application {application_id} is {row.status}; only a returned application is "
                                   "corrected", code="application_not_returned", status=409)
        previous = json.loads(sealer.open(row.body_sealed, application_id))
        form = {k: previous.get(k) for k in FORM_FIELDS if previous.get(k) is not None}
        form.update({k: v for k, v in form_change.items() if k in raw})
        pre = prefill(conn, client_id=client.id, check_id=row.check_id)
        problems = precheck(conn, pre, form, name_similarity_min=name_similarity_min)
        if problems:
            raise ApplicationError("the correction fails the pre-submission checks",
                                   code="application_precheck_failed", status=422, problems=problems)
        round_number = row.round + 1
        body = _body(pre, form, client.name)
        conn.execute(update(T).where(T.c.application_id == application_id).values(
            status="pending", round=round_number, idempotency_key=f"{application_id}-r{round_number}",
            body_sealed=sealer.seal(body, application_id), service_name=form["service_name"],
            unit_name=form["unit_name"], last_error=None, updated_at=utcnow()))
        record_event(conn, actor=client.name, action="application.corrected", subject=row.identifier,
                     details={"application_id": application_id, "round": round_number,
                              "fields": sorted(k for k in form_change if k in raw)})
    return load(engine, application_id, client_id=client.id)


def send_pending(engine: Engine, regulator, sealer: Sealer, *, application_id: str | None = None) -> list[dict]:
    """Submit pending rounds (all, or one) with their stored bytes and key; an error leaves them pending."""
    from gate.sync.errors import RegulatorError

    query = select(T).where(T.c.status == "pending").order_by(T.c.created_at)
    if application_id is not None:
        query = query.where(T.c.application_id == application_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    outcomes = []
    for row in rows:
        body = sealer.open(row.body_sealed, row.application_id)
        try:  # never inside a transaction: the regulator may take its time
            answer = regulator.submit_application(body, row.idempotency_key,
                                                  regulator_id=row.regulator_id if row.round > 1 else None)
        except RegulatorError as exc:
            with engine.begin() as conn:
                conn.execute(update(T).where(T.c.application_id == row.application_id, T.c.status == "pending")
                             .values(last_error=f"{exc.code}: {exc.message}"[:2000], updated_at=utcnow()))
            outcomes.append({"application_id": row.application_id, "error": exc.code})
            continue
        with engine.begin() as conn:
            conn.execute(update(T).where(T.c.application_id == row.application_id, T.c.round == row.round).values(
                status="submitted", regulator_id=answer["application_id"], reasons="[]", last_error=None,
                updated_at=utcnow()))
            record_event(conn, actor="gate-applications", action="application.submitted", subject=row.identifier,
                         details={"application_id": row.application_id, "regulator_id": answer["application_id"],
                                  "round": row.round, "replayed": answer["replayed"]})
        outcomes.append({"application_id": row.application_id, "status": "submitted"})
    return outcomes


def follow(engine: Engine, regulator) -> list[dict]:
    """Poll the regulator for every submitted application and record what changed."""
    from gate.sync.errors import RegulatorError

    with engine.connect() as conn:
        rows = conn.execute(select(T.c.application_id, T.c.regulator_id, T.c.identifier, T.c.round)
                            .where(T.c.status.in_(FOLLOWED))).all()
    changes = []
    for row in rows:
        try:
            answer = regulator.application_status(row.regulator_id)
        except RegulatorError as exc:
            changes.append({"application_id": row.application_id, "error": exc.code})
            continue
        if answer["status"] == "submitted":
            continue
        licence = answer.get("service_licence") if answer["status"] == "approved" else None
        with engine.begin() as conn:
            done = conn.execute(update(T).where(T.c.application_id == row.application_id, T.c.round == row.round,
                                                T.c.status == "submitted").values(
                status=answer["status"], reasons=json.dumps(answer.get("reasons") or [], ensure_ascii=False),
                service_licence=licence, updated_at=utcnow())).rowcount
            if done:
                record_event(conn, actor="gate-applications", action=f"application.{answer['status']}",
                             subject=row.identifier, details={"application_id": row.application_id,
                                                              "round": row.round, "service_licence": licence})
        if done:
            changes.append({"application_id": row.application_id, "status": answer["status"],
                            "service_licence": licence})
    return changes


def _row(conn: Connection, application_id: str, client_id: int | None):
    query = select(T).where(T.c.application_id == application_id)
    if client_id is not None:
        query = query.where(T.c.client_id == client_id)
    row = conn.execute(query).first()
    if row is None:
        raise ApplicationError(f"no application {application_id}", code="application_not_found", status=404)
    return row


def load(engine: Engine, application_id: str, *, client_id: int | None) -> dict:
    """The application as the API shows it: no personal data (contacts stay sealed)."""
    with engine.connect() as conn:
        row = _row(conn, application_id, client_id)
    return {"application_id": row.application_id, "status": row.status, "round": row.round,
            "check_id": row.check_id, "platform": row.platform, "identifier": row.identifier,
            "service_name": row.service_name, "unit_name": row.unit_name, "regulator_id": row.regulator_id,
            "reasons": json.loads(row.reasons), "service_licence": row.service_licence, "last_error": row.last_error,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
