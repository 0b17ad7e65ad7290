"""Filings sync end to end: the sandbox feed cancels a listed app's filing; `gate sync filings` applies it, stores a
new decision, and the store's callback (a loopback HTTP server here) receives the signed delist notice."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from gate.db.tables import AuditEvent, Check
from gate.services.signatures import HEADER, verify
from tests.integration.http_support import FILINGS, HELLO
from tests.integration.sync_support import (
    HELLO_LICENCE,
    HELLO_PACKAGE,
    UNFILED_PACKAGE,
    gate,
    gate_env,
    seed_listings,
    start_sandbox,
    stop_process,
)
from tests.loopback_store import StoreEndpoint


@pytest.fixture
def store():
    with StoreEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def sandbox():
    started = start_sandbox()
    yield started
    stop_process(started.proc)


def test_cancelled_filing_reaches_the_store_as_a_signed_delist_notice(database_url, tmp_path, sandbox,
                                                                       store):
    engine, client = seed_listings(database_url, tmp_path, callback_url=store.url)
    env = gate_env(database_url, sandbox, GATE_FETCH_ALLOW_HTTP="1", GATE_FETCH_ALLOW_NETWORKS="127.0.0.0/8")
    checked = gate("check", str(HELLO), env=env)  # the stored facts the re-decision starts from
    assert checked.returncode == 0, checked.stderr
    # The feed first repeats the filing as imported (no change), then cancels it.
    cancelled = copy.deepcopy(FILINGS[0])
    cancelled["status"] = "cancelled"
    sandbox.append_feed([FILINGS[0], cancelled])
    done = gate("sync", "filings", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["unchanged"], result["changed"], result["rejected"]) == (1, 1, 0)
    assert result["reevaluation"] == {"filings": 1, "apps": 1, "blocked": 1, "notices": 1}
    assert len(store.received) == 1
    headers, body = store.received[0]
    verify(headers[HEADER], body, client.webhook_secret)  # raises unless signed with the store's webhook secret
    assert headers["X-Gate-Event"] == "listing.delist_required"
    notice = json.loads(body)
    assert (notice["event"], notice["package"], notice["service_licence"], notice["filing_status"]) == (
        "listing.delist_required", HELLO_PACKAGE, HELLO_LICENCE, "cancelled")
    assert "filing_cancelled" in notice["reason_codes"] and notice["decision"]["verdict"] == "block"
    with engine.connect() as conn:
        stored = conn.execute(select(Check.__table__.c.verdict).where(
            Check.__table__.c.id == notice["check_id"])).scalar_one()
        actions = set(conn.execute(select(AuditEvent.__table__.c.action)).scalars())
    assert stored == "block" and {"filings.sync", "listing.delist_notice"} <= actions
    # Idempotent: the cursor is stored, nothing new arrives, nothing is sent again.
    again = json.loads(gate("sync", "filings", env=env).stdout)
    assert again["records"] == 0 and again["reevaluation"]["filings"] == 0
    assert len(store.received) == 1


def test_feed_record_the_gate_refuses_is_skipped_and_audited(database_url, tmp_path, sandbox):
    engine, _ = seed_listings(database_url, tmp_path)
    bad = {**copy.deepcopy(FILINGS[0]), "service_licence": "not a licence"}
    sandbox.append_feed([bad])
    done = gate("sync", "filings", env=gate_env(database_url, sandbox))
    assert done.returncode == 1, done.stderr  # loud: the operator must see that the feed held a record it refused
    assert json.loads(done.stdout)["rejected"] == 1
    [line] = [x for x in done.stderr.splitlines() if x.startswith("rejected feed record")]
    assert line.startswith("rejected feed record not a licence: service_licence: [") and "{" not in line
    with engine.connect() as conn:
        actions = list(conn.execute(select(AuditEvent.__table__.c.action)).scalars())
    assert "filings.sync_rejected" in actions


def test_new_blacklisted_filing_of_a_listed_app_sends_a_delist_notice(database_url, tmp_path, sandbox, store):
    # The store lists com.example.unfiled, which no filing names yet; the feed then brings a new filing for it that
    # is already blacklisted (违法违规). It is new, not changed: it must still reach the store.
    seed_listings(database_url, tmp_path, callback_url=store.url)
    env = gate_env(database_url, sandbox, GATE_FETCH_ALLOW_HTTP="1", GATE_FETCH_ALLOW_NETWORKS="127.0.0.0/8")
    blacklisted = {**copy.deepcopy(FILINGS[0]), "service_licence": "京ICP备2024000009号-1A",
                   "main_licence": "京ICP备2024000009号", "blacklisted": True,
                   "platforms": [{"platform": "android", "identifier": UNFILED_PACKAGE,
                                  "signature_md5": "00112233445566778899aabbccddeeff"}]}
    active_new = {**copy.deepcopy(FILINGS[0]), "service_licence": "京ICP备2024000010号-1A",
                  "main_licence": "京ICP备2024000010号",
                  "platforms": [{"platform": "android", "identifier": "com.example.other",
                                 "signature_md5": "00112233445566778899aabbccddeeff"}]}
    sandbox.append_feed([blacklisted, active_new])
    done = gate("sync", "filings", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["created"] == 2
    assert result["reevaluation"]["filings"] == 1  # only the one out of force is owed a re-evaluation
    assert len(store.received) == 1
    notice = json.loads(store.received[0][1])
    assert (notice["event"], notice["package"]) == ("listing.delist_required", UNFILED_PACKAGE)


def test_a_cancelled_mini_program_filing_delists_the_listed_mini_program(database_url, tmp_path, sandbox, store):
    """Listings name their platform: a mini program listed by its AppID is re-decided from its stored declaration
    when its filing is cancelled, and the store is told to delist it (platform miniprogram)."""
    from gate.decide import Policy
    from gate.miniprogram import declaration_facts
    from gate.services import checks
    from gate.services.auth import create_client
    from gate.services.decisions import CheckRequest
    from gate.services.listings import parse_events, record_events
    from tests.integration.http_support import prepare_database
    from tests.integration.sync_support import ago

    appid = "wx0123456789abcdef"
    filing = {"service_licence": "京ICP备2024000001号-7X", "main_licence": "京ICP备2024000001号",
              "service_type": "mini_program", "service_name": "门禁小程序", "unit_name": "北京门禁科技有限公司",
              "unit_nature": "企业", "status": "active", "approved_at": "2024-05-01", "domains": ["filinggate.cn"],
              "platforms": [{"platform": "miniprogram", "identifier": appid}]}
    engine = prepare_database(database_url, tmp_path, FILINGS + [filing])
    client = create_client(engine, name="mp-platform", role="store", callback_url=store.url)
    record_events(engine, client.id, parse_events({"events": [
        {"platform": "miniprogram", "package": appid, "action": "listed", "at": ago(days=1)}]}))
    facts = declaration_facts({"appid": appid, "name": "门禁小程序", "request_domain": ["api.filinggate.cn"]})
    request = CheckRequest(source="test")
    stored = checks.decide_and_store(engine, facts, check_id=checks.derive_check_id(client.id, facts.sha256, request),
                                     client_id=client.id, size=0, sha256=facts.sha256, filename=facts.path,
                                     request=request, policy=Policy())
    assert stored.decision["verdict"] == "allow"
    sandbox.append_feed([{**filing, "status": "cancelled"}])
    env = gate_env(database_url, sandbox, GATE_FETCH_ALLOW_HTTP="1", GATE_FETCH_ALLOW_NETWORKS="127.0.0.0/8")
    done = gate("sync", "filings", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reevaluation"] == {"filings": 1, "apps": 1, "blocked": 1, "notices": 1}
    (headers, body), = store.received
    verify(headers[HEADER], body, client.webhook_secret)
    notice = json.loads(body)
    assert (notice["package"], notice["platform"], notice["reason_codes"]) == (appid, "miniprogram",
                                                                               ["filing_cancelled"])
    engine.dispose()
