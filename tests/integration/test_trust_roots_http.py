"""Trust roots an operator configures, through the real service: the store webhook allows a filed HAP signed under a
configured root and blocks the same HAP on an instance without it; /healthz and the console list the roots.
Root and identities: fixtures/keys/ohos_root.cert.pem and fixtures/harmony/expected.json (fixtures/harmony.py)."""

from __future__ import annotations

import pathlib

import pytest
import requests

from gate.config import load_settings
from tests.integration.console_support import PASSWORD, signed_in
from tests.integration.http_support import FILINGS, start_gate

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures"
HAP = FIXTURES / "harmony" / "hap_signed.hap"
ROOT = FIXTURES / "keys" / "ohos_root.cert.pem"


def harmony_filings():
    import json

    expected = json.loads((FIXTURES / "harmony" / "expected.json").read_text(encoding="utf-8"))
    return FILINGS + [{
        "service_licence": "京ICP备2024000001号-5A", "main_licence": "京ICP备2024000001号", "service_type": "app",
        "service_name": "Harmony Gate", "unit_name": "北京门禁科技有限公司", "unit_nature": "企业",
        "status": "active", "approved_at": "2024-03-01", "domains": ["filinggate.cn"],
        "platforms": [{"platform": "harmony", "identifier": expected["bundle_name"],
                       "signature_sha256": expected["signers"]["app"]["cert_sha256"]}]}]


@pytest.fixture(params=["configured", "none"])
def served(request, tmp_path, sqlite_url):
    environ = {"GATE_TRUST_ROOTS_HARMONY": str(ROOT)} if request.param == "configured" else {}
    gate, server = start_gate(tmp_path, sqlite_url, filings=harmony_filings(),
                              trust_roots=load_settings(environ).trust_roots)
    yield request.param, gate
    server.shutdown()
    gate.engine.dispose()


def test_a_filed_hap_is_allowed_only_under_a_configured_root(served):
    how, gate = served
    answer = gate.upload(HAP).json()
    codes = [r["code"] for r in answer["reasons"]]
    if how == "configured":
        assert answer["verdict"] == "allow", answer
        assert answer["filing"]["service_licence"] == "京ICP备2024000001号-5A"
    else:
        assert (answer["verdict"], codes[0]) == ("block", "signature_invalid"), answer


def test_healthz_and_the_console_list_the_roots(served):
    from gate.web.accounts import create_user

    how, gate = served
    roots = requests.get(f"{gate.url}/healthz", timeout=10).json()["trust_roots"]
    if how == "configured":
        assert [(r["platform"], r["source"]) for r in roots] == [("harmony", "ohos_root.cert.pem")]
        assert roots[0]["sha256"] == gate.settings.trust_roots.roots[0].sha256
    else:
        assert roots == []
    create_user(gate.engine, username="viewer1", role="viewer", password=PASSWORD)
    session, _ = signed_in(gate, "viewer1")
    page = session.get(f"{gate.url}/console/trust-roots")
    assert page.status_code == 200
    assert "Apple Root CA" in page.text
    assert (roots[0]["sha256"] in page.text) if roots else ("HarmonyOS signatures are never trusted" in page.text
                                                          or "鸿蒙应用的签名不会被信任" in page.text)


def test_gate_check_from_the_command_line_follows_the_setting(tmp_path):
    import json
    import os
    import subprocess
    import sys

    filings = tmp_path / "filings.json"
    filings.write_text(json.dumps(harmony_filings(), ensure_ascii=False), encoding="utf-8")

    def check(**extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_TRUST_ROOTS")}
        return subprocess.run([sys.executable, "-m", "gate.cli", "check", "--json", "--filings", str(filings),
                               str(HAP)], capture_output=True, text=True, timeout=120, env={**env, **extra})

    trusted = check(GATE_TRUST_ROOTS_HARMONY=str(ROOT))
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert json.loads(trusted.stdout)["verdict"] == "allow"
    untrusted = check()
    assert untrusted.returncode == 4 and json.loads(untrusted.stdout)["reasons"][0]["code"] == "signature_invalid"
    broken = check(GATE_TRUST_ROOTS_HARMONY=str(tmp_path / "missing.pem"))
    assert broken.returncode == 1 and "config_invalid" in broken.stderr and "GATE_TRUST_ROOTS_HARMONY" in broken.stderr
