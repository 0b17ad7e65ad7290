"""``gate check PACKED --unpacked PLAIN`` as a developer's CI runs it: real signed packages, real processes.

The packed fixtures hide their endpoint in an encrypted payload (fixtures/packers.py); the unpacked build shows it.
Signer digests for the filings come from apksigner's record (fixtures/apks/oracle.json): the packer fixtures are
signed with the same committed key A as hello_zh.apk, key B as key_rsa2048_b.apk.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.integration.test_cli_check import APKS, ORACLE, ROOT, filing, gate

PACKERS = ROOT / "fixtures" / "packers"
KEY_A = ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]
KEY_B = ORACLE["key_rsa2048_b.apk"]["apksigner"]["signers"][0]
LICENCE = "京ICP备2024000009号-1A"


def filings(tmp_path, domains):
    path = tmp_path / "filings.jsonl"
    record = filing(LICENCE, "cn.filinggate.packed", KEY_A["cert_md5"], service_name="Packed Gate",
                    domains=domains)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return path


def check(tmp_path, *args, domains=("packed-backend.cn",), env=None):
    env = {"GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", **(env or {})}
    out = gate("check", *args, "--filings", filings(tmp_path, list(domains)), "--json", env_extra=env,
               cwd=tmp_path)
    return out.returncode, (json.loads(out.stdout) if out.stdout.strip() else None), out.stderr


def codes(decision):
    return [r["code"] for r in decision["reasons"]]


def test_packed_alone_is_reviewed_naming_the_packer_and_what_settles_it(tmp_path):
    status, decision, err = check(tmp_path, PACKERS / "packed_jiagu.apk")
    assert status == 3, err
    reason = next(r for r in decision["reasons"] if r["code"] == "code_hidden_by_packer")
    assert reason["severity"] == "review" and "360加固" in reason["message"]["zh"]
    assert "360" in reason["message"]["en"] and "unpacked build" in reason["message"]["en"]
    assert reason["evidence"]["packer_keys"] == ["jiagu"]
    assert {"source": "AndroidManifest.xml", "how": "application_class", "marker": "com.stub.StubApp"} \
        in reason["evidence"]["found"]
    # GATE_POLICY_PACKED: block, or info (said, never silent).
    assert check(tmp_path, PACKERS / "packed_legu.apk", env={"GATE_POLICY_PACKED": "block"})[0] == 4
    status, decision, _ = check(tmp_path, PACKERS / "packed_legu.apk", env={"GATE_POLICY_PACKED": "info"})
    assert status == 0 and "code_hidden_by_packer" in codes(decision)


def test_paired_unpacked_build_decides_the_network(tmp_path):
    status, decision, err = check(tmp_path, PACKERS / "packed_jiagu.apk", "--unpacked", PACKERS / "unpacked_plain.apk")
    assert status == 0, (err, decision)
    assert "code_hidden_by_packer" not in codes(decision)
    assert decision["package"]["unpacked"]["paired"] is True
    assert decision["package"]["signers"] == [KEY_A["cert_sha256"]]
    # The same pair against a filing that lists another domain: the unpacked build's endpoint is not filed.
    status, decision, err = check(tmp_path, PACKERS / "packed_jiagu.apk", "--unpacked",
                                  PACKERS / "unpacked_plain.apk", domains=("other-domain.cn",))
    assert status == 3, err
    reason = next(r for r in decision["reasons"] if r["code"] == "domain_not_filed")
    assert reason["evidence"]["uncovered_hosts"] == ["api.packed-backend.cn"]
    found = reason["evidence"]["found"][0]["evidence"]
    assert found and all(e["from"] == "unpacked" and e["source"].startswith("unpacked:") for e in found)


@pytest.mark.parametrize("unpacked, field, packed_value, unpacked_value", [
    ("unpacked_other_version.apk", "version_code", "7", "8"),
    ("unpacked_other_key.apk", "signers", KEY_A["cert_sha256"], KEY_B["cert_sha256"]),
    ("unpacked_other_package.apk", "package", "cn.filinggate.packed", "cn.filinggate.other"),
])
def test_a_mismatched_pair_blocks_naming_what_differs(tmp_path, unpacked, field, packed_value, unpacked_value):
    status, decision, err = check(tmp_path, PACKERS / "packed_jiagu.apk", "--unpacked", PACKERS / unpacked)
    assert status == 4, err
    assert codes(decision) == ["unpacked_mismatch"]
    reason = decision["reasons"][0]
    assert [d["field"] for d in reason["evidence"]["found"]] == [field]
    assert f"{field} {packed_value} (packed)" in reason["message"]["en"]
    assert f"{unpacked_value} (unpacked)" in reason["message"]["en"]
    assert decision["package"]["unpacked"]["paired"] is False


def test_a_lookalike_is_checked_as_any_app(tmp_path):
    status, decision, err = check(tmp_path, PACKERS / "lookalike_stub_application.apk")
    assert status == 0, (err, decision)
    assert "code_hidden_by_packer" not in codes(decision)


def test_usage_and_the_stored_check_keeps_both_digests(tmp_path):
    two = gate("check", PACKERS / "packed_jiagu.apk", APKS / "hello_zh.apk", "--unpacked",
               PACKERS / "unpacked_plain.apk", cwd=tmp_path)
    assert two.returncode == 2 and "--unpacked" in two.stderr
    env = {"GATE_DATABASE_URL": f"sqlite:///{tmp_path / 'gate.db'}"}
    assert gate("db", "upgrade", env_extra=env, cwd=tmp_path).returncode == 0
    assert gate("filings", "import", filings(tmp_path, ["packed-backend.cn"]), env_extra=env,
                cwd=tmp_path).returncode == 0
    out = gate("check", PACKERS / "packed_jiagu.apk", "--unpacked", PACKERS / "unpacked_plain.apk", "--json",
               env_extra=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    decision = json.loads(out.stdout)
    with sqlite3.connect(tmp_path / "gate.db") as db:
        row = db.execute("select package_sha256, unpacked_sha256, facts from gate_check where id = ?",
                         (decision["check_id"],)).fetchone()
    assert row[0] == decision["package"]["sha256"] and row[1] == decision["package"]["unpacked"]["sha256"]
    assert row[0] != row[1] and json.loads(row[2])["pairing"]["paired"] is True


def test_gate_features_shows_the_packer_and_its_evidence(tmp_path):
    out = gate("features", PACKERS / "packed_legu.apk", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "application class: com.tencent.StubShell.TxAppEntry" in out.stdout
    assert "packed (加固): 腾讯乐固 (Tencent Legu)" in out.stdout
    assert "native_library: libshella-3.0.0.0.so  (lib/armeabi-v7a/libshella-3.0.0.0.so)" in out.stdout
    facts = json.loads(gate("features", "--json", PACKERS / "packed_legu.apk", cwd=tmp_path).stdout)
    assert facts["protection"]["code_hidden"] is True and facts["native_libraries"] == [
        "lib/armeabi-v7a/libshella-3.0.0.0.so", "lib/armeabi-v7a/libshellx-3.0.0.0.so"]
