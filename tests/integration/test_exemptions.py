"""Exemptions end to end: `gate exemptions add|list|revoke`, then preinstall checks (an image scan and the HTTP
list) of a platform component that no filing names. Expected certificate digests come from apksigner (oracle.json).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import requests

from tests.integration.http_support import APKS, HELLO_PACKAGE, HELLO_SHA256, ORACLE, prepare_database

TINY = "key_ec256.apk"  # cn.filinggate.tiny, signed with an EC key; no filing names it
TINY_PACKAGE = ORACLE[TINY]["aapt"]["package"]
TINY_SHA256 = ORACLE[TINY]["apksigner"]["signers"][0]["cert_sha256"]


def _cli(args, url):
    env = {**os.environ, "GATE_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "gate.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _add(url, *, package=TINY_PACKAGE, sha=TINY_SHA256, expires="30d"):
    r = _cli(["exemptions", "add", "--package", package, "--cert-sha256", sha, "--category", "platform_component",
              "--reason", "系统组件，仅本地设置界面", "--approved-by", "王敏", "--expires", expires, "--json"], url)
    return r


def _scan(tmp_path, url, name):
    image = tmp_path / name
    (image / "system" / "priv-app" / "Tiny").mkdir(parents=True)
    shutil.copy(APKS / TINY, image / "system" / "priv-app" / "Tiny" / "Tiny.apk")
    out = tmp_path / f"{name}-out"
    r = _cli(["preinstall", "scan", str(image), "--out", str(out)], url)
    report = json.loads((out / "preinstall-report.json").read_text(encoding="utf-8"))
    return r.returncode, [(i["verdict"], [x["code"] for x in i["reasons"]]) for i in report["items"]]


def test_cli_register_and_image_scan(database_url, tmp_path):
    prepare_database(database_url, tmp_path).dispose()
    assert _scan(tmp_path, database_url, "before") == (4, [("block", ["unfiled"])])

    added = _add(database_url)
    assert added.returncode == 0, added.stderr
    record = json.loads(added.stdout)
    assert (record["package"], record["cert_sha256"], record["scope"]) == (TINY_PACKAGE, TINY_SHA256, "preinstall")
    assert _scan(tmp_path, database_url, "exempted") == (0, [("allow", ["exempted"])])

    listed = _cli(["exemptions", "list", "--search", "tiny", "--json"], database_url)
    assert [json.loads(x)["state"] for x in listed.stdout.splitlines()] == ["active"]

    revoked = _cli(["exemptions", "revoke", str(record["id"]), "--by", "李华", "--reason", "组件已联网"], database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert _scan(tmp_path, database_url, "revoked") == (4, [("block", ["unfiled"])])
    listed = _cli(["exemptions", "list", "--state", "revoked", "--json"], database_url)
    assert [json.loads(x)["id"] for x in listed.stdout.splitlines()] == [record["id"]]

    # Every change is audited.
    from sqlalchemy import select

    from gate.db.engine import open_database
    from gate.db.tables import AuditEvent

    engine = open_database(database_url)
    with engine.connect() as conn:
        actions = conn.execute(select(AuditEvent.__table__.c.action)
                               .where(AuditEvent.__table__.c.action.like("exemption.%"))).scalars().all()
    engine.dispose()
    assert sorted(actions) == ["exemption.add", "exemption.revoke"]


def test_cli_refusals(sqlite_url, tmp_path):
    prepare_database(sqlite_url, tmp_path).dispose()
    for args in (dict(sha="12" * 31), dict(package="not a package"), dict(expires="2001-01-01"),
                 dict(expires="tomorrow")):
        r = _add(sqlite_url, **args)
        assert r.returncode == 2 and "exemption_invalid" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = _cli(["exemptions", "revoke", "999", "--by", "x"], sqlite_url)
    assert r.returncode == 2 and "exemption_not_found" in r.stderr
    assert _cli(["exemptions", "list"], sqlite_url).stdout == ""


def test_http_list_check_uses_exemptions_but_never_past_a_key_mismatch(gate):
    url = f"{gate.url}/api/v1/preinstall/checks"
    items = [{"package": TINY_PACKAGE, "cert_sha256": TINY_SHA256},
             {"package": TINY_PACKAGE, "cert_md5": ORACLE[TINY]["apksigner"]["signers"][0]["cert_md5"]},
             {"package": HELLO_PACKAGE, "cert_sha256": "ab" * 32}]
    # An exemption for the filed hello app's other key must not cover a key mismatch.
    assert _add(gate.settings.database_url).returncode == 0
    assert _add(gate.settings.database_url, package=HELLO_PACKAGE, sha="ab" * 32).returncode == 0
    r = requests.post(url, json={"items": items}, headers=gate.headers("oem"))
    assert r.status_code == 200, r.text
    got = [(i["verdict"], [x["code"] for x in i["reasons"]]) for i in r.json()["items"]]
    # The MD5-only item names no SHA-256: no exemption can be shown to be for it.
    assert got == [("allow", ["exempted"]), ("block", ["unfiled"]), ("block", ["key_mismatch"])]
    assert HELLO_SHA256 != "ab" * 32
