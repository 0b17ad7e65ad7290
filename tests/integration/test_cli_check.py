"""``gate check`` and ``gate filings import`` as a developer's CI runs them: real packages, real processes.

Expected signer digests come from fixtures/apks/oracle.json (apksigner's answers), never from the gate.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[2]
APKS = ROOT / "fixtures" / "apks"
ORACLE = json.loads((APKS / "oracle.json").read_text())["apks"]
GATE = [sys.executable, "-m", "gate.cli"]


def gate(*args, env_extra=None, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    env.update(env_extra or {})
    return subprocess.run([*GATE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def filing(licence, package, md5, **over):
    rec = {"service_licence": licence, "service_type": "app", "service_name": "你好门禁",
           "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn", "example.com"],
           "platforms": [{"platform": "android", "identifier": package, "signature_md5": md5}]}
    rec.update(over)
    return rec


@pytest.fixture
def filings_file(tmp_path):
    hello = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]
    recs = [filing("京ICP备2024000001号-1A", "cn.filinggate.hello", hello),
            # cn.filinggate.tiny filed with another key than the fixtures carry
            filing("京ICP备2024000002号-1A", "cn.filinggate.tiny", "00112233445566778899aabbccddeeff")]
    path = tmp_path / "filings.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    return path


def test_check_against_a_filings_file_without_database(tmp_path, filings_file):
    # Policy off for domains: the network scan has its own tests; here keys are under test.
    env = {"GATE_POLICY_UNFILED_DOMAINS": "off", "GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    ok = gate("check", APKS / "hello_zh.apk", "--filings", filings_file, "--json", env_extra=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    decision = json.loads(ok.stdout)
    assert decision["verdict"] == "allow" and decision["filing"]["service_licence"] == "京ICP备2024000001号-1A"
    assert decision["package"]["signers"] == [ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_sha256"]]
    assert not (tmp_path / "never.db").exists()

    bad = gate("check", APKS / "hello_zh.apk", APKS / "key_rsa2048_b.apk", "--filings", filings_file,
               env_extra=env, cwd=tmp_path)
    assert bad.returncode == 4, bad.stderr
    md5 = ORACLE["key_rsa2048_b.apk"]["apksigner"]["signers"][0]["cert_md5"].upper()
    assert f"signed by MD5 {md5[:2]}:{md5[2:4]}" in bad.stdout and "lists MD5 00:11:22" in bad.stdout

    unfiled = gate("check", APKS / "unsigned.apk", "--filings", filings_file, "--json", env_extra=env, cwd=tmp_path)
    assert unfiled.returncode == 4
    assert json.loads(unfiled.stdout)["reasons"][0]["code"] == "package_unsigned"


def test_check_with_the_database_stores_each_check(tmp_path, filings_file):
    env = {"GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'gate.db'}", "GATE_POLICY_UNFILED_DOMAINS": "off"}
    refused = gate("check", APKS / "hello_zh.apk", env_extra=env, cwd=tmp_path)
    assert refused.returncode == 1 and "gate db upgrade" in refused.stderr
    assert gate("db", "upgrade", env_extra=env, cwd=tmp_path).returncode == 0
    imported = gate("filings", "import", filings_file, env_extra=env, cwd=tmp_path)
    assert imported.returncode == 0 and "2 new" in imported.stdout
    again = gate("filings", "import", filings_file, env_extra=env, cwd=tmp_path)
    assert "0 new, 0 changed, 2 unchanged" in again.stdout
    out = gate("check", APKS / "hello_zh.apk", "--json", env_extra=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["check_id"] == 1


def test_database_unreachable_is_exit_1(tmp_path):
    env = {"GATE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"}
    out = gate("check", APKS / "hello_zh.apk", env_extra=env, cwd=tmp_path)
    assert out.returncode == 1 and "database_unavailable" in out.stderr


def test_invalid_filings_file_imports_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("服务备案号,服务类型,服务名称,主办单位名称,状态,平台,包名/Bundle ID,签名MD5\n"
                    "京ICP备2024000001号-1A,APP,x,y,正常,安卓,cn.x.y,0011\n", encoding="gbk")
    env = {"GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'gate.db'}"}
    gate("db", "upgrade", env_extra=env, cwd=tmp_path)
    out = gate("filings", "import", path, env_extra=env, cwd=tmp_path)
    assert out.returncode == 2
    assert f"{path}:2: platforms[0].signature_md5: [fingerprint_length]" in out.stderr
    skipped = gate("filings", "import", "--skip-invalid", path, env_extra=env, cwd=tmp_path)
    assert skipped.returncode == 0 and f"skipped rows: {path}:2" in skipped.stdout


def test_usage_error_is_exit_2(tmp_path):
    out = gate("check", APKS / "hello_zh.apk", "--no-such-option", cwd=tmp_path)
    assert out.returncode == 2 and "No such option" in out.stderr


def test_a_filing_listing_the_public_key_as_pem_matches_the_extracted_modulus(tmp_path):
    # The filing form's 公钥 pasted as a PEM public key of the fixture keystore apksigner reported for hello_zh.apk.
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

    _, cert, _ = pkcs12.load_key_and_certificates((ROOT / "fixtures/keys/rsa2048.p12").read_bytes(), b"password")
    pem = cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    rec = filing("京ICP备2024000001号-1A", "cn.filinggate.hello", None)
    rec["platforms"] = [{"platform": "android", "identifier": "cn.filinggate.hello", "public_key": pem}]
    path = tmp_path / "filings.json"
    path.write_text(json.dumps([rec], ensure_ascii=False), encoding="utf-8")
    out = gate("check", APKS / "hello_zh.apk", "--filings", path, "--json",
               env_extra={"GATE_POLICY_UNFILED_DOMAINS": "off"}, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


HELLO_MD5 = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_md5"]
# hello_zh.apk's classes.dex holds https://api.hello-gate.cn/..., cdn. and stats. hosts and 203.0.113.7
# (fixtures/src/hello_zh); the filing below lists the domain, so only the cases that change it see uncovered hosts.
HELLO_FILED_DOMAINS = ["hello-gate.cn", "203.0.113.7"]


@pytest.mark.parametrize("apk,record,extra,code,exit_status", [
    ("hello_zh.apk", {"blacklisted": True}, (), "filing_blacklisted", 4),
    ("hello_zh.apk", {"domains": ["filinggate.cn"]}, (), "domain_not_filed", 3),
    ("hello_zh.apk", {"service_name": "完全不同的支付宝理财"}, (), "name_mismatch", 3),
    ("hello_zh.apk", {}, ("--developer-entity", "上海另一家公司有限公司"), "entity_mismatch", 3),
    # rotated_v3.apk is signed by key B with a verified v3 lineage A -> B; the filing still lists A.
    ("rotated_v3.apk", {"service_name": "Tiny Gate", "domains": ["filinggate.cn"], "platforms": [
        {"platform": "android", "identifier": "cn.filinggate.tiny",
         "signature_md5": ORACLE["rotated_v3.apk"]["apksigner"]["lineage"][0]["cert_md5"]}]}, (), "key_rotated", 0),
])
def test_every_reason_code_on_a_real_package(tmp_path, apk, record, extra, code, exit_status):
    package = ORACLE[apk]["aapt"]["package"]
    rec = filing("京ICP备2024000001号-1A", package, HELLO_MD5, domains=HELLO_FILED_DOMAINS)
    rec.update(record)
    path = tmp_path / "filings.json"
    path.write_text(json.dumps([rec], ensure_ascii=False), encoding="utf-8")
    result = gate("check", APKS / apk, "--filings", path, "--json", *extra, cwd=tmp_path)
    assert result.returncode == exit_status, result.stdout + result.stderr
    decision = json.loads(result.stdout)
    assert code in [r["code"] for r in decision["reasons"]], decision["reasons"]
    reason = next(r for r in decision["reasons"] if r["code"] == code)
    assert reason["message"]["zh"] and reason["message"]["en"]
    if code == "domain_not_filed":
        assert set(reason["evidence"]["uncovered_hosts"]) == {"api.hello-gate.cn", "cdn.hello-gate.cn",
                                                              "stats.hello-gate.cn"}
        # 203.0.113.7 is a documentation address (RFC 5737): no filing can list it, so it never counts
        assert reason["evidence"]["uncovered_ips"] == []
        found = {item["host"]: item for item in reason["evidence"]["found"]}
        assert found["api.hello-gate.cn"]["kind"] == "contact"
        assert {e["source"] for e in found["api.hello-gate.cn"]["evidence"]} == {"classes.dex"}


def test_v2_only_below_api_24_blocks_naming_the_versions_and_the_signer_from_24(tmp_path):
    # apksigner (default) fails it; apksigner --min-sdk-version 24 verifies it: both answers are in the output.
    name = "min_sdk_21_v2_only.apk"
    from_24 = ORACLE[name]["apksigner_min_sdk_24"]["signers"][0]
    filings = tmp_path / "filings.jsonl"
    filings.write_text(json.dumps(filing("京ICP备2024000002号-1A", "cn.filinggate.tiny", from_24["cert_md5"]),
                                  ensure_ascii=False), encoding="utf-8")
    env = {"GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    checked = gate("check", APKS / name, "--filings", filings, "--json", env_extra=env, cwd=tmp_path)
    assert checked.returncode == 4, checked.stderr
    decision = json.loads(checked.stdout)
    assert [r["code"] for r in decision["reasons"]] == ["signature_min_sdk_uncovered"]
    assert decision["package"]["signers"] == []
    assert "API 21–23" in decision["reasons"][0]["message"]["zh"]
    assert from_24["cert_sha256"] in decision["reasons"][0]["evidence"]["signer_sha256"]

    features = gate("features", "--json", APKS / name, env_extra=env, cwd=tmp_path)
    signature = json.loads(features.stdout)["signature"]
    assert (signature["verified"], signature["signers"]) == (False, [])
    assert signature["verified_from_sdk"]["unverified_sdks"] == [21, 23]
    assert [s["cert_sha256"] for s in signature["verified_from_sdk"]["signers"]] == [from_24["cert_sha256"]]
