"""Review 2: the facts a filings sync re-decides a store's listed app from must not come from someone else.

``gate sync filings`` re-decides each listed app of a changed filing from stored facts and sends the store a signed
delist notice when the new decision blocks. Facts uploaded by another API client (any developer key) or by the
anonymous pre-check page are not the store's app: a package claiming the store's package name — unsigned, or signed
by another key — must not make the gate tell the store to take a filed app down.
"""

from __future__ import annotations

import copy
import dataclasses
import json

from sqlalchemy import select

from gate.config import Settings
from gate.extract.facts import SignatureFacts
from gate.extract.pipeline import extract_features
from gate.services import checks
from gate.services.auth import create_client
from gate.db.filings import import_into_database
from gate.db.service_tables import CallbackDelivery
from gate.sync.filings_sync import reevaluate_pending
from tests.integration.http_support import FILINGS, HELLO
from tests.integration.sync_support import seed_listings

SETTINGS = Settings()


def _change_filing(engine, tmp_path, **changes):
    """Import a new version of the HELLO filing and queue its re-evaluation, as a feed page would."""
    from gate.db.sync_tables import FilingReevaluation
    from gate.db.tables import Filing

    record = {**copy.deepcopy(FILINGS[0]), **changes}
    path = tmp_path / "changed.json"
    path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    import_into_database(engine, [path])
    F, R = Filing.__table__, FilingReevaluation.__table__
    with engine.begin() as conn:
        version = conn.execute(select(F.c.current_version_id).where(
            F.c.service_licence == record["service_licence"])).scalar_one()
        conn.execute(R.insert(), {"service_licence": record["service_licence"], "version_id": version,
                                  "status": "pending"})


def _notices(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(CallbackDelivery.__table__.c.id)).all())


def test_another_clients_upload_does_not_decide_the_stores_listing(database_url, tmp_path):
    engine, _store = seed_listings(database_url, tmp_path, callback_url="https://store.example.cn/gate")
    developer = create_client(engine, name="someone", role="developer")
    genuine = extract_features(HELLO)  # same package name, but the signature is stripped: package_unsigned
    forged = dataclasses.replace(genuine, sha256="f" * 64, signature=SignatureFacts(
        verified=False, errors=("v1_no_manifest: no META-INF/MANIFEST.MF",)))
    with engine.begin() as conn:
        decision, gate_check_id = checks._decide_and_record(conn, forged, metadata={}, policy=SETTINGS.decision_policy(),
                                                            actor="client:someone")
        conn.execute(checks.SC.insert(), {"check_id": "chk_" + "0" * 32, "client_id": developer.id,
                                          "package_sha256": "f" * 64, "size": 1, "filename": "x.apk",
                                          "status": "done", "gate_check_id": gate_check_id,
                                          "verdict": decision.verdict})
    assert decision.verdict == "block"
    _change_filing(engine, tmp_path, domains=["hello-gate.cn", "203.0.113.7", "cdn.hello-gate.cn"])
    outcome = reevaluate_pending(engine, SETTINGS)
    assert outcome["apps"] == 1 and outcome["blocked"] == 0 and _notices(engine) == 0, outcome


def test_anonymous_precheck_does_not_decide_the_stores_listing(database_url, tmp_path):
    engine, _store = seed_listings(database_url, tmp_path, callback_url="https://store.example.cn/gate")
    checks.check_unregistered(engine, path=str(HELLO), filename="hello.apk", policy=SETTINGS.decision_policy(),
                              actor="precheck-page")
    # The filing now lists another certificate: the page's package (the old key) would be key_mismatch.
    platform = {**FILINGS[0]["platforms"][0], "signature_md5": "00" * 16}
    _change_filing(engine, tmp_path, platforms=[platform])
    outcome = reevaluate_pending(engine, SETTINGS)
    assert outcome["apps"] == 1 and outcome["blocked"] == 0 and _notices(engine) == 0, outcome
