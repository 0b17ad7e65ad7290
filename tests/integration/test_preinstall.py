"""Preinstall checks for device makers: the HTTP list check (JSON and CSV) and `gate preinstall scan` over an
unpacked image laid out like Android's partitions."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import requests

from tests.integration.http_support import (
    APKS,
    HELLO_LICENCE,
    HELLO_MD5,
    HELLO_PACKAGE,
    HELLO_SHA256,
    LEGACY_PACKAGE,
    ORACLE,
    prepare_database,
)

ITEMS = [
    {"package": HELLO_PACKAGE, "cert_sha256": HELLO_SHA256, "cert_md5": HELLO_MD5, "version_code": 7},
    {"package": HELLO_PACKAGE, "cert_md5": ":".join(HELLO_MD5[i:i + 2] for i in range(0, 32, 2)).upper()},
    {"package": HELLO_PACKAGE, "cert_md5": "00" * 16},
    {"package": LEGACY_PACKAGE, "cert_md5": ORACLE["legacy_v1.apk"]["apksigner"]["signers"][0]["cert_md5"]},
    {"package": "com.unfiled.app", "cert_sha256": "ab" * 32},
    {"package": "com.bad.digest", "cert_sha256": "xyz"},
    # The filing records only the MD5 (签名MD5): a SHA-256 alone cannot be shown to be that certificate.
    {"package": HELLO_PACKAGE, "cert_sha256": HELLO_SHA256},
]
EXPECTED = [("allow", None), ("allow", None), ("block", "key_mismatch"), ("block", "filing_cancelled"),
            ("block", "unfiled"), ("block", "item_invalid"), ("block", "key_mismatch")]


def _verdicts(result):
    return [(i["verdict"], _first_weighing(i["reasons"])) for i in result["items"]]


def _first_weighing(reasons):
    """The first reason that is not only information (filing_number_not_shown is info by default)."""
    return next((r["code"] for r in reasons if r["severity"] != "info"), None)


def test_json_list(gate):
    r = requests.post(f"{gate.url}/api/v1/preinstall/checks", json={"items": ITEMS}, headers=gate.headers("oem"))
    assert r.status_code == 200, r.text
    assert _verdicts(r.json()) == EXPECTED
    assert r.json()["summary"] == {"total": 7, "allow": 2, "review": 0, "block": 5}
    assert r.json()["items"][0]["filing"]["service_licence"] == HELLO_LICENCE


def test_csv_list(gate):
    lines = ["package,cert_sha256,cert_md5,version_code"] + [
        f"{i['package']},{i.get('cert_sha256', '')},{i.get('cert_md5', '')},{i.get('version_code', '')}"
        for i in ITEMS]
    r = requests.post(f"{gate.url}/api/v1/preinstall/checks", data="\n".join(lines).encode(),
                      headers=gate.headers("oem", **{"Content-Type": "text/csv"}))
    assert r.status_code == 200, r.text
    assert _verdicts(r.json()) == EXPECTED


def test_bad_lists(gate):
    url = f"{gate.url}/api/v1/preinstall/checks"
    r = requests.post(url, data=b"[{", headers=gate.headers("oem", **{"Content-Type": "application/json"}))
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_invalid"
    r = requests.post(url, data=b"a,b\n1,2", headers=gate.headers("oem", **{"Content-Type": "text/csv"}))
    assert r.status_code == 400 and r.json()["error"]["code"] == "csv_invalid"
    r = requests.post(url, json={"items": "no"}, headers=gate.headers("oem"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "body_invalid"


def _gate_cli(args, env):
    return subprocess.run([sys.executable, "-m", "gate.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_scan_image_directory(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    image = tmp_path / "image"
    placements = {"system/app/Hello/Hello.apk": "hello_zh.apk", "product/priv-app/Legacy/Legacy.apk": "legacy_v1.apk",
                  "vendor/app/Broken/Broken.apk": "not_a_zip.apk"}
    for target, source in placements.items():
        (image / target).parent.mkdir(parents=True)
        shutil.copy(APKS / source, image / target)
    (image / "system" / "etc").mkdir()
    shutil.copy(APKS / "multidex_native.apk", image / "system" / "etc" / "not-an-app-dir.apk")  # ignored
    out = tmp_path / "out"
    env = {**os.environ, "GATE_DATABASE_URL": sqlite_url}
    result = _gate_cli(["preinstall", "scan", str(image), "--out", str(out)], env)
    assert result.returncode == 4, result.stderr
    report = json.loads((out / "preinstall-report.json").read_text())
    got = {i["path"]: (i["verdict"], _first_weighing(i["reasons"])) for i in report["items"]}
    assert got == {"/product/priv-app/Legacy/Legacy.apk": ("block", "filing_cancelled"),
                   "/system/app/Hello/Hello.apk": ("allow", None),
                   "/vendor/app/Broken/Broken.apk": ("block", "package_malformed")}
    assert report["summary"] == {"total": 3, "allow": 1, "review": 0, "block": 2, "exempted": 0, "unreadable": 0}
    with (out / "preinstall-report.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert {r["package"] for r in rows} == {HELLO_PACKAGE, LEGACY_PACKAGE, ""}
    assert "1 allow, 0 review, 2 block" in result.stdout
    assert "checking APKs" in result.stderr  # progress on stderr, report on stdout


def test_scan_list_exit_status(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    env = {**os.environ, "GATE_DATABASE_URL": sqlite_url}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(ITEMS[:2]))
    result = _gate_cli(["preinstall", "scan", str(good), "--out", str(tmp_path / "o1")], env)
    assert result.returncode == 0, result.stderr
    result = _gate_cli(["preinstall", "scan", str(tmp_path / "missing.json")], env)
    assert result.returncode == 2
    env["GATE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"  # no schema: the gate itself fails
    result = _gate_cli(["preinstall", "scan", str(good), "--out", str(tmp_path / "o2")], env)
    assert result.returncode == 1, result.stderr
