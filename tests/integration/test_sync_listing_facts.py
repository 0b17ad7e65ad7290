"""The facts a filings sync re-decides a store's listed app from must not come from someone else.

``gate sync filings`` re-decides each listed app of a changed filing from stored facts and sends the store a signed
delist notice when the new decision blocks. Facts uploaded by another API client (any developer key) or by the
anonymous pre-check page are not the store's app: a package claiming the store's package name — unsigned, or signed
by another key — must not make the gate tell the store to take a filed app down.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from gate.config import Settings
from gate.db.service_tables import CallbackDelivery
from gate.extract.facts import SignatureFacts, SignatureIssue
from gate.extract.pipeline import extract_features
from gate.services import checks
from gate.services.auth import create_client
from gate.services.decisions import CheckRequest, decide_and_record
from gate.sync.filings_sync import reevaluate_pending
from tests.integration.http_support import FILINGS, HELLO
from tests.integration.sync_support import change_filing, seed_listings

SETTINGS = Settings()


def _notices(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(CallbackDelivery.__table__.c.id)).all())


def test_another_clients_upload_does_not_decide_the_stores_listing(database_url, tmp_path):
    engine, _store = seed_listings(database_url, tmp_path, callback_url="https://store.example.cn/gate")
    developer = create_client(engine, name="someone", role="developer")
    genuine = extract_features(HELLO)  # same package name, but the signature is stripped: package_unsigned
    forged = dataclasses.replace(genuine, sha256="f" * 64, signature=SignatureFacts(
        verified=False, errors=(SignatureIssue("v1_no_manifest", "no META-INF/MANIFEST.MF"),)))
    with engine.begin() as conn:
        recorded = decide_and_record(conn, forged, CheckRequest(source="client:someone"),
                                     policy=SETTINGS.decision_policy())
        decision, gate_check_id = recorded.decision, recorded.gate_check_id
        conn.execute(checks.SC.insert(), {"check_id": "chk_" + "0" * 32, "client_id": developer.id,
                                          "package_sha256": "f" * 64, "size": 1, "filename": "x.apk",
                                          "status": "done", "gate_check_id": gate_check_id,
                                          "verdict": decision.verdict})
    assert decision.verdict == "block"
    change_filing(engine, tmp_path, domains=["hello-gate.cn", "203.0.113.7", "cdn.hello-gate.cn"])
    outcome = reevaluate_pending(engine, SETTINGS)
    assert outcome["apps"] == 1 and outcome["blocked"] == 0 and _notices(engine) == 0, outcome


def test_anonymous_precheck_does_not_decide_the_stores_listing(database_url, tmp_path):
    engine, _store = seed_listings(database_url, tmp_path, callback_url="https://store.example.cn/gate")
    checks.check_unregistered(engine, path=str(HELLO), filename="hello.apk", policy=SETTINGS.decision_policy(),
                              actor="precheck-page")
    # The filing now lists another certificate: the page's package (the old key) would be key_mismatch.
    platform = {**FILINGS[0]["platforms"][0], "signature_md5": "00" * 16}
    change_filing(engine, tmp_path, platforms=[platform])
    outcome = reevaluate_pending(engine, SETTINGS)
    assert outcome["apps"] == 1 and outcome["blocked"] == 0 and _notices(engine) == 0, outcome
