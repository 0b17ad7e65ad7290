"""Abuse: rate limits per API client and per address (in memory and shared through Redis), /metrics not public,
and the alerts for callbacks and reports that could not be delivered."""

import ipaddress
import json
import random

import pytest
import requests
from sqlalchemy import insert, select, text

from tests import requirements
from tests.integration.http_support import HELLO, multipart, start_gate

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_an_api_client_over_its_budget_gets_429_json_with_retry_after(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, rate_limit_client="3/minute")
    try:
        answers = [requests.get(f"{g.url}/api/v1/badge/cn.filinggate.hello", headers=g.headers("store"))
                   for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        refused = answers[3]
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Another client has its own budget; health checks are never counted.
        assert requests.get(f"{g.url}/api/v1/badge/cn.filinggate.hello", headers=g.headers("admin")).status_code \
            == 200
        assert all(requests.get(f"{g.url}/healthz").status_code == 200 for _ in range(5))
        # Invented keys are anonymous callers (the address budget, tests/integration/test_abuse_anonymous.py):
        # they are refused as keys and charge no client's budget.
        sprayed = [requests.get(f"{g.url}/api/v1/badge/x.y", headers={"Authorization": f"Bearer {i}"}).status_code
                   for i in range(4)]
        assert sprayed == [401, 401, 401, 401]
    finally:
        server.shutdown()


def test_anonymous_uploads_are_limited_per_address_with_a_page_in_its_language(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, rate_limit_upload="2/minute")
    try:
        body, content_type = multipart(HELLO)
        posts = [requests.post(f"{g.url}/precheck", data=body, headers={"Content-Type": content_type})
                 for _ in range(2)]
        assert [p.status_code for p in posts] == [200, 200]
        refused = requests.post(f"{g.url}/precheck", data=body, headers={"Content-Type": content_type})
        assert refused.status_code == 429 and "text/html" in refused.headers["Content-Type"]
        assert "提交过于频繁" in refused.text and "rate_limited" in refused.text
        english = requests.post(f"{g.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type})
        assert english.status_code == 429 and "too many requests" in english.text
        # Reading the page is the (larger) address budget, not the upload budget.
        assert requests.get(f"{g.url}/").status_code == 200
    finally:
        server.shutdown()


def test_redis_counts_for_every_instance(tmp_path, sqlite_url):
    requirements.listening("127.0.0.1", 6379, what="Redis", how="apt-get install redis-server (.ci/run starts it)")
    redis = pytest.importorskip("redis").Redis.from_url(REDIS_URL)
    redis.ping()
    # A rate no other run uses, so no one else's counter is shared (counters are keyed by rate and address).
    limit = random.randint(5, 500)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, s1 = start_gate(tmp_path / "a", sqlite_url, rate_limit_storage=REDIS_URL,
                           rate_limit_address=f"{limit}/hour")
    second, s2 = start_gate(tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}", rate_limit_storage=REDIS_URL,
                            rate_limit_address=f"{limit}/hour")
    try:
        # Alternating between the instances does not double the budget: they count in one place.
        session = requests.Session()
        statuses = [session.get(f"{(first, second)[i % 2].url}/openapi.json").status_code for i in range(limit + 1)]
        assert statuses == [200] * limit + [429]
    finally:
        s1.shutdown()
        s2.shutdown()


def test_an_unreachable_counter_store_serves_requests_uncounted(tmp_path, sqlite_url):
    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    g, server = start_gate(tmp_path, sqlite_url, rate_limit_storage=closed, rate_limit_client="1/minute")
    try:
        answers = [requests.get(f"{g.url}/api/v1/badge/cn.filinggate.hello", headers=g.headers("store"))
                   for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
    finally:
        server.shutdown()


def test_metrics_are_not_public(tmp_path, sqlite_url):
    from gate.api.app import create_app
    from gate.config import Settings

    app = create_app(Settings(database_url=sqlite_url, log_format="text"))
    outside = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403 and outside.json["error"]["code"] == "metrics_forbidden"
    proxied = app.test_client().get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # a local proxy
    assert proxied.status_code == 403
    assert app.test_client().get("/metrics").status_code == 200  # a scraper on this host
    token_app = create_app(Settings(database_url=sqlite_url, log_format="text", metrics_token="s3cret"))
    client = token_app.test_client()
    assert client.get("/metrics").status_code == 403  # loopback too: with a token, only the token counts
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_a_callback_that_fails_every_attempt_is_audited_and_counted(tmp_path, database_url):
    from gate.db.service_tables import CallbackDelivery
    from gate.db.tables import AuditEvent
    from gate.services.callbacks import deliver_due
    from gate.services.fetch import FetchPolicy

    g, server = start_gate(tmp_path, database_url)
    try:
        closed = f"http://127.0.0.1:{_closed_port()}/hook"
        with g.engine.begin() as conn:
            client_id = conn.execute(text("SELECT id FROM api_client WHERE role = 'store'")).scalar_one()
            conn.execute(insert(CallbackDelivery.__table__).values(
                client_id=client_id, check_id="chk-alert", url=closed, body=json.dumps({"x": 1}),
                status="pending", attempts=0))
        policy = FetchPolicy(max_bytes=1 << 20, allow_http=True, allow_networks=(ipaddress.ip_network("127.0.0.0/8"),))
        deliver_due(g.engine, policy=policy, backoff_seconds=0, max_attempts=1, timeout=2)
        with g.engine.connect() as conn:
            status = conn.execute(select(CallbackDelivery.__table__.c.status)).scalar_one()
            audited = conn.execute(select(AuditEvent.__table__.c.action, AuditEvent.__table__.c.subject)
                                   .where(AuditEvent.__table__.c.action == "callback.failed")).all()
        assert status == "failed" and audited == [("callback.failed", "chk-alert")]
        scraped = requests.get(f"{g.url}/metrics").text
        assert 'gate_callbacks{status="failed"} 1.0' in scraped
        assert 'gate_reports{status="rejected"} 0.0' in scraped and "gate_report_overdue 0.0" in scraped
    finally:
        server.shutdown()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused
