"""The ``unpacked`` part beside a packed (加固) package on every route, end to end with real processes: `gate serve`
(gunicorn) answering the store webhook, the developer API and the pre-check page, `gate worker` deciding the pairs
queued above the synchronous threshold. A mismatched pair blocks; a paired unpacked build's endpoints decide.

Packages are fixtures/packers' real signed APKs (key A, as hello_zh.apk: its MD5 from apksigner's record).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from tests.integration.http_support import ORACLE, ROOT, spool_files, start_gate_process, stop_process

PACKERS = ROOT / "fixtures" / "packers"
KEY_A = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]
LICENCE = "京ICP备2024000009号-1A"
FILING = {"service_licence": LICENCE, "main_licence": "京ICP备2024000009号", "service_type": "app",
          "service_name": "Packed Gate", "unit_name": "门禁示例科技有限公司", "unit_nature": "企业",
          "status": "active", "approved_at": "2024-03-01", "blacklisted": False,
          "platforms": [{"platform": "android", "identifier": "cn.filinggate.packed", "signature_md5": KEY_A["cert_md5"]}],
          "domains": ["packed-backend.cn"]}
# Between the two pairs' sizes: packed_dexprotector + unpacked_plain (17 KB) is decided in the response,
# packed_jiagu + unpacked_plain (21 KB) is queued; each package alone is below it.
THRESHOLD = 20000


def parts(packed, unpacked=None, metadata=None):
    fields = {"package": (packed, (PACKERS / packed).read_bytes(), "application/vnd.android.package-archive")}
    if unpacked is not None:
        fields["unpacked"] = (unpacked, (PACKERS / unpacked).read_bytes(), "application/vnd.android.package-archive")
    if metadata is not None:
        fields["metadata"] = (None, json.dumps(metadata))
    prepared = requests.Request("POST", "http://x/", files=fields).prepare()
    return prepared.body, prepared.headers["Content-Type"]


@pytest.fixture
def served(tmp_path):
    assert (PACKERS / "packed_dexprotector.apk").stat().st_size + (PACKERS / "unpacked_plain.apk").stat().st_size \
        < THRESHOLD < (PACKERS / "packed_jiagu.apk").stat().st_size + (PACKERS / "unpacked_plain.apk").stat().st_size
    env = {"GATE_SYNC_THRESHOLD_BYTES": str(THRESHOLD)}
    gate, proc = start_gate_process(tmp_path, f"sqlite:///{tmp_path / 'gate.db'}", filings=[FILING], env=env)
    gate.env = {**os.environ, "GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'gate.db'}",
                "GATE_SPOOL_DIR": gate.settings.spool_dir, **env}
    yield gate
    stop_process(proc)
    gate.engine.dispose()


def store_upload(gate, packed, unpacked=None):
    body, content_type = parts(packed, unpacked, metadata={"store_app_id": "P1"})
    return requests.post(f"{gate.url}/api/v1/hooks/store/upload", data=body,
                         headers=gate.signed("store", body, content_type), timeout=60)


def developer_upload(gate, packed, unpacked=None):
    body, content_type = parts(packed, unpacked)
    return requests.post(f"{gate.url}/api/v1/checks", data=body,
                         headers=gate.headers("developer", **{"Content-Type": content_type}), timeout=60)


def worker_once(gate):
    done = subprocess.run([sys.executable, "-m", "gate.cli", "worker", "--once"], env=gate.env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def status(gate, response, role):
    assert response.status_code == 202, response.text
    return requests.get(gate.url + response.json()["status_url"], headers=gate.headers(role), timeout=30).json()


def answer_sha(response, gate):
    """The unpacked build's SHA-256 as the API reports it for a check."""
    answer = requests.get(gate.url + response.json()["status_url"], headers=gate.headers("store"), timeout=30).json()
    return answer["package"]["unpacked"]["sha256"]


def codes(answer):
    return [r["code"] for r in answer["reasons"] if r["code"] != "filing_number_not_shown"]


def test_store_webhook_and_developer_api(served):
    gate = served
    # The packed package alone: decided in the response, reviewed, naming the packer.
    alone = store_upload(gate, "packed_jiagu.apk")
    assert alone.status_code == 200, alone.text
    assert codes(alone.json()) == ["code_hidden_by_packer"] and alone.json()["verdict"] == "review"
    # With its unpacked build, small enough to decide at once: paired, allowed.
    small = store_upload(gate, "packed_dexprotector.apk", "unpacked_plain.apk")
    assert small.status_code == 200, small.text
    assert small.json()["verdict"] == "allow" and small.json()["package"]["unpacked"]["paired"] is True
    # Above the threshold the pair is queued, both parts spooled; `gate worker` decides it.
    queued = store_upload(gate, "packed_jiagu.apk", "unpacked_plain.apk")
    assert queued.status_code == 202, queued.text
    assert len(spool_files(gate)) == 2  # the package and the unpacked build, owned by the job
    assert queued.json()["check_id"] != alone.json()["check_id"]  # the unpacked build is part of what was checked
    worker_once(gate)
    answer = status(gate, queued, "store")
    assert answer["verdict"] == "allow" and answer["package"]["unpacked"]["paired"] is True, answer
    assert answer["package"]["unpacked"]["sha256"] != answer["package"]["sha256"]
    # The developer API: a pair signed with another key blocks, naming the signers (queued, then decided).
    mismatched = developer_upload(gate, "packed_jiagu.apk", "unpacked_other_key.apk")
    worker_once(gate)
    answer = status(gate, mismatched, "developer")
    assert answer["verdict"] == "block" and codes(answer) == ["unpacked_mismatch"]
    assert "signers" in answer["reasons"][0]["message"]["en"]
    assert spool_files(gate) == []  # the worker deleted both spools of each job
    # The stored checks keep both digests.
    from sqlalchemy import text

    with gate.engine.connect() as conn:
        rows = conn.execute(text("SELECT package_sha256, unpacked_sha256 FROM gate_check "
                                 "WHERE unpacked_sha256 IS NOT NULL")).all()
    assert len(rows) == 3 and all(p != u for p, u in rows)
    # The console's check page shows both packages, the pairing, and the packer with its evidence.
    from gate.web.accounts import create_user
    from tests.integration.test_console_reviews import PASSWORD, signed_in

    create_user(gate.engine, username="rev", role="reviewer", password=PASSWORD)
    session, _ = signed_in(gate)
    page = session.get(f"{gate.url}/console/checks/{queued.json()['check_id']}?lang=en", timeout=30).text
    assert "360加固 (Qihoo 360 Jiagu)" in page and "com.stub.StubApp" in page and "libjiagu.so" in page
    assert answer_sha(queued, gate) in page and "unpacked_plain.apk" in page
    assert "pairing-state" in page and "unpacked:classes.dex" in page
    page = session.get(f"{gate.url}/console/checks/{mismatched.json()['check_id']}", timeout=30).text
    assert "unpacked_mismatch" in page and "unpacked_other_key.apk" in page


def test_paired_endpoints_decide_on_the_developer_api(served, tmp_path):
    gate = served
    # Another filing for the package lists another domain: the unpacked build's endpoint is then unfiled.
    from gate.db.filings import import_into_database

    changed = dict(FILING, domains=["other-domain.cn"])
    path = tmp_path / "changed.json"
    path.write_text(json.dumps([changed], ensure_ascii=False), encoding="utf-8")
    import_into_database(gate.engine, [path])
    r = developer_upload(gate, "packed_dexprotector.apk", "unpacked_plain.apk")
    assert r.status_code == 200, r.text
    reason = next(x for x in r.json()["reasons"] if x["code"] == "domain_not_filed")
    assert reason["evidence"]["uncovered_hosts"] == ["api.packed-backend.cn"]
    assert all(e["from"] == "unpacked" for e in reason["evidence"]["found"][0]["evidence"])


def test_precheck_page_shows_the_packer_its_evidence_and_the_pairing(served):
    gate = served
    body, content_type = parts("packed_legu.apk")
    page = requests.post(f"{gate.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type},
                         timeout=60)
    assert page.status_code == 200
    assert "腾讯乐固 (Tencent Legu)" in page.text and "com.tencent.StubShell.TxAppEntry" in page.text
    assert "application_class" in page.text and "code_hidden_by_packer" in page.text
    body, content_type = parts("packed_legu.apk", "unpacked_plain.apk")
    page = requests.post(f"{gate.url}/precheck", data=body, headers={"Content-Type": content_type}, timeout=60)
    assert page.status_code == 200
    assert 'class="pairing paired"' in page.text and "api.packed-backend.cn" in page.text
    assert "[未加固包]" in page.text and "code_hidden_by_packer" not in page.text
    body, content_type = parts("packed_legu.apk", "unpacked_other_package.apk")
    page = requests.post(f"{gate.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type},
                         timeout=60)
    assert 'class="pairing mismatch"' in page.text and "unpacked_mismatch" in page.text
    assert "cn.filinggate.other" in page.text
    assert spool_files(gate) == []


def test_the_spool_sweep_keeps_both_spools_of_a_live_job(tmp_path):
    import time

    from gate.db.service_tables import Job
    from gate.services.spool_sweep import sweep_orphans
    from tests.integration.http_support import prepare_database

    engine = prepare_database(f"sqlite:///{tmp_path / 'gate.db'}", tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    files = {n: spool / f"gate-upload-{n}.pkg" for n in ("packed", "unpacked", "orphan")}
    old = time.time() - 3600
    for path in files.values():
        path.write_bytes(b"x" * 10)
        os.utime(path, (old, old))
    with engine.begin() as conn:
        conn.execute(Job.__table__.insert(), {"kind": "check", "check_id": "chk_pair", "status": "queued",
                                              "attempts": 0, "payload": json.dumps({
                                                  "path": str(files["packed"]),
                                                  "unpacked": {"path": str(files["unpacked"]),
                                                               "filename": "plain.apk", "sha256": "0" * 64}})})
    result = sweep_orphans(engine, str(spool), age_seconds=600)
    assert result.deleted == 1 and sorted(p.name for p in spool.iterdir()) == [
        "gate-upload-packed.pkg", "gate-upload-unpacked.pkg"]
    engine.dispose()


def test_an_empty_unpacked_part_is_refused_and_nothing_is_kept(gate):
    body, content_type = parts("packed_jiagu.apk")
    boundary = content_type.split("boundary=", 1)[1].encode()
    empty = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="unpacked"; filename="plain.apk"\r\n'
             b"Content-Type: application/vnd.android.package-archive\r\n\r\n\r\n")
    body = body.replace(b"--" + boundary + b"--", empty + b"--" + boundary + b"--")
    r = requests.post(f"{gate.url}/api/v1/hooks/store/upload", data=body,
                      headers=gate.signed("store", body, content_type), timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unpacked_empty"
    assert spool_files(gate) == []


def test_a_job_whose_unpacked_spool_is_gone_fails_and_says_so(gate):
    from sqlalchemy import text

    from gate.services.worker import Worker

    body, content_type = parts("packed_jiagu.apk", "unpacked_plain.apk")
    r = requests.post(f"{gate.url}/api/v1/checks?async=1", data=body,
                      headers=gate.headers("developer", **{"Content-Type": content_type}), timeout=30)
    assert r.status_code == 202, r.text
    with gate.engine.connect() as conn:
        payload = json.loads(conn.execute(text("SELECT payload FROM job")).scalar_one())
    os.unlink(payload["unpacked"]["path"])
    Worker(gate.engine, gate.settings).run_once()
    answer = requests.get(gate.url + r.json()["status_url"], headers=gate.headers("developer"), timeout=30).json()
    assert answer["status"] == "failed" and "unpacked build is missing" in answer["error"]["message"]
    assert spool_files(gate) == []  # the package's spool went with the failed job
