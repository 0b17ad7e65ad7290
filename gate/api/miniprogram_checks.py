"""Mini-program platforms (小程序平台): ``POST /api/v1/miniprogram-checks`` decides on a declaration (gate.miniprogram).

Callers: a store client (a platform distributing mini programs) or a developer (checking before submitting). The
answer is the decision with ``check_id``, like a package upload's: the same declaration from the same client is the
same check (idempotent), answerable at ``GET /api/v1/checks/<check_id>``, audited, and listed in the console.
"""

from __future__ import annotations

import flask

from gate.api.access import client_for
from gate.api.body import read_json
from gate.api.service import service
from gate.miniprogram import declaration_facts, declared_subject
from gate.services import checks, metrics
from gate.services.decisions import CheckRequest

blueprint = flask.Blueprint("miniprogram", __name__)
MAX_DECLARATION_BYTES = 256 * 1024  # five lists of at most 200 domains each fit many times over


@blueprint.post("/api/v1/miniprogram-checks")
def miniprogram_check():
    client = client_for("store", "developer")
    facts = declaration_facts(read_json(flask.request, limit=MAX_DECLARATION_BYTES))
    gate = service()
    request = CheckRequest(developer_entity=declared_subject(facts) or None, source=f"client:{client.name}")
    check_id = checks.derive_check_id(client.id, facts.sha256, request)
    outcome = checks.decide_and_store(gate.engine, facts, check_id=check_id, client_id=client.id, size=0,
                                      sha256=facts.sha256, filename=facts.path, request=request, policy=gate.policy)
    metrics.observe_decision(outcome.decision)
    return flask.jsonify(outcome.as_dict())
