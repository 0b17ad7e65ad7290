"""`gate cert show` against keytool, openssl and apksigner: the same 公钥/签名MD5/SHA-1 before there is a package.

Keystores are made by keytool, profiles by openssl cms; expected values come from keytool -list, openssl x509 and
apksigner verify --print-certs on an APK signed with the same keystore, never from the gate.
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import subprocess
import sys

import pytest

from tests import requirements
from tests.oracle import FIXTURES

GATE = [sys.executable, "-c", "import sys; from gate.cli import main; sys.exit(main())"]
pytestmark = requirements.needs_tools("keytool", "apksigner", "openssl")


def run(*args, env_extra=None, stdin=None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([*GATE, *args], capture_output=True, text=True, timeout=60, env=env, input=stdin)


def tool(*args, **kw) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60, **kw).stdout


def openssl_values(pem_path) -> dict:
    """Digests and RSA modulus of a certificate as openssl prints them."""
    out = {}
    for name in ("md5", "sha1", "sha256"):
        line = tool("openssl", "x509", "-in", str(pem_path), "-noout", "-fingerprint", f"-{name}")
        out[name] = line.split("=", 1)[1].strip().replace(":", "").lower()
    return out


@pytest.fixture(scope="module")
def keystores(tmp_path_factory):
    d = tmp_path_factory.mktemp("keystores")
    tool("keytool", "-genkeypair", "-keystore", str(d / "release.jks"), "-storetype", "JKS",
         "-storepass", "jks-pass", "-keypass", "jks-pass", "-alias", "release", "-keyalg", "RSA", "-keysize",
         "2048", "-dname", "CN=示例科技, O=Example, C=CN", "-validity", "10000")
    tool("keytool", "-genkeypair", "-keystore", str(d / "upload.p12"), "-storetype", "PKCS12",
         "-storepass", "p12-pass", "-alias", "upload", "-keyalg", "EC", "-groupname", "secp256r1",
         "-dname", "CN=Upload, O=Example", "-validity", "10000")
    for store, password, alias, pem in (("release.jks", "jks-pass", "release", "release.pem"),
                                        ("upload.p12", "p12-pass", "upload", "upload.pem")):
        (d / pem).write_text(tool("keytool", "-exportcert", "-rfc", "-keystore", str(d / store), "-storepass",
                                  password, "-alias", alias))
    return d


def test_jks_values_match_keytool_openssl_and_apksigner(keystores, tmp_path):
    result = run("cert", "show", "--json", "--password-env", "KS_PASS", str(keystores / "release.jks"),
                 env_extra={"KS_PASS": "jks-pass"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kind"] == "jks" and shown["contains_private_key"] is True
    [signer] = shown["signers"]
    assert signer["name"] == "release"

    expected = openssl_values(keystores / "release.pem")
    assert (signer["cert_md5"], signer["cert_sha1"], signer["cert_sha256"]) == \
        (expected["md5"], expected["sha1"], expected["sha256"])
    modulus = tool("openssl", "x509", "-in", str(keystores / "release.pem"), "-noout", "-modulus")
    assert signer["public_key"] == modulus.split("=", 1)[1].strip().lower().lstrip("0")
    listing = tool("keytool", "-list", "-v", "-keystore", str(keystores / "release.jks"), "-storepass", "jks-pass")
    sha1 = re.search(r"SHA1: ([0-9A-F:]+)", listing).group(1)
    assert signer["cert_sha1"] == sha1.replace(":", "").lower()

    # apksigner on an APK signed with the same keystore prints the same digests, and so does gate features.
    apk = tmp_path / "signed.apk"
    tool("apksigner", "sign", "--ks", str(keystores / "release.jks"), "--ks-pass", "pass:jks-pass",
         "--out", str(apk), str(FIXTURES / "unsigned.apk"))
    printed = tool("apksigner", "verify", "-v", "--print-certs", str(apk))
    assert re.search(r"certificate MD5 digest: ([0-9a-f]+)", printed).group(1) == signer["cert_md5"]
    assert re.search(r"certificate SHA-1 digest: ([0-9a-f]+)", printed).group(1) == signer["cert_sha1"]
    assert re.search(r"public key SHA-256 digest: ([0-9a-f]+)", printed).group(1) == signer["public_key_sha256"]
    features = json.loads(run("features", "--json", str(apk)).stdout)
    [package_signer] = features["signature"]["signers"]
    assert {k: v for k, v in signer.items() if k != "name"} == package_signer

    # The readable form is the filing-form block gate features prints, line for line.
    text = run("cert", "show", "--password-env", "KS_PASS", str(keystores / "release.jks"),
               env_extra={"KS_PASS": "jks-pass"}).stdout
    package_text = run("features", str(apk)).stdout
    form = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    package_form = [line.strip() for line in package_text.splitlines() if line.startswith("    ")
                    and not line.strip().startswith("包名")]
    assert form == package_form[:len(form)]


def test_pkcs12_password_from_prompt_and_wrong_passwords(keystores):
    result = run("cert", "show", "--json", str(keystores / "upload.p12"), stdin="p12-pass\n")
    assert result.returncode == 0, result.stderr
    [signer] = json.loads(result.stdout)["signers"]
    expected = openssl_values(keystores / "upload.pem")
    assert (signer["cert_md5"], signer["cert_sha1"], signer["key_algorithm"], signer["key_size"]) == \
        (expected["md5"], expected["sha1"], "EC", 256)
    spki = tool("openssl", "x509", "-in", str(keystores / "upload.pem"), "-noout", "-pubkey")
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki.encode(),
                         capture_output=True, check=True).stdout
    assert signer["public_key"] == der.hex()

    for store in ("upload.p12", "release.jks"):
        bad = run("cert", "show", "--json", "--password-env", "KS_PASS", str(keystores / store),
                  env_extra={"KS_PASS": "wrong"})
        assert bad.returncode == 4
        assert json.loads(bad.stdout)["problems"][0]["code"] == "keystore_password_invalid"
        assert "Traceback" not in bad.stderr
    unset = run("cert", "show", "--password-env", "NO_SUCH_VARIABLE_SET", str(keystores / "release.jks"))
    assert unset.returncode == 2 and "password_missing" in unset.stderr
    # There is no way to pass the password as an argument.
    assert run("cert", "show", "--password", "jks-pass", str(keystores / "release.jks")).returncode == 2


def test_pem_der_and_provisioning_profile(keystores, tmp_path):
    pem = keystores / "release.pem"
    der = tmp_path / "release.cer"
    tool("openssl", "x509", "-in", str(pem), "-outform", "DER", "-out", str(der))
    expected = openssl_values(pem)
    for path in (pem, der):
        shown = json.loads(run("cert", "show", "--json", str(path)).stdout)
        assert shown["kind"] == "certificate" and shown["signers"][0]["cert_md5"] == expected["md5"]

    # A provisioning profile as Apple ships it: CMS SignedData (DER) around a plist naming the certificates.
    profile = {"AppIDName": "Example", "ApplicationIdentifierPrefix": ["ABCDE12345"], "Name": "Example AdHoc",
               "TeamIdentifier": ["ABCDE12345"], "DeveloperCertificates": [der.read_bytes()],
               "Entitlements": {"application-identifier": "ABCDE12345.cn.example.app"}}
    plist = tmp_path / "profile.plist"
    plist.write_bytes(plistlib.dumps(profile))
    key = tmp_path / "signer.key"
    signer_pem = tmp_path / "signer.pem"
    tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(signer_pem),
         "-subj", "/CN=Profile Signer", "-days", "30")
    mobileprovision = tmp_path / "example.mobileprovision"
    tool("openssl", "cms", "-sign", "-nodetach", "-binary", "-outform", "DER", "-in", str(plist),
         "-signer", str(signer_pem), "-inkey", str(key), "-out", str(mobileprovision))
    result = run("cert", "show", "--json", str(mobileprovision))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kind"] == "mobileprovision" and shown["identifier"] == "cn.example.app"
    assert [s["cert_sha1"] for s in shown["signers"]] == [expected["sha1"]]  # not the profile's own signer
    text = run("cert", "show", str(mobileprovision)).stdout
    assert "Bundle ID: cn.example.app" in text and f"SHA-1 (plain): {expected['sha1']}" in text

    # A private key is not a certificate; a text file is nothing.
    private = run("cert", "show", "--json", str(key))
    assert private.returncode == 4 and json.loads(private.stdout)["problems"][0]["code"] == \
        "certificate_file_private_key"
    assert "PRIVATE" not in private.stdout
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    assert json.loads(run("cert", "show", "--json", str(junk)).stdout)["problems"][0]["code"] == \
        "certificate_file_unrecognised"


def test_tampered_and_truncated_keystores(keystores, tmp_path):
    data = (keystores / "release.jks").read_bytes()
    tampered = tmp_path / "tampered.jks"
    tampered.write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    truncated = tmp_path / "truncated.jks"
    truncated.write_bytes(data[:-30])
    for path, code in ((tampered, "keystore_password_invalid"), (truncated, "keystore_malformed")):
        result = run("cert", "show", "--json", "--password-env", "KS_PASS", str(path), env_extra={"KS_PASS": "jks-pass"})
        assert result.returncode == 4 and json.loads(result.stdout)["problems"][0]["code"] == code


def test_precheck_page_reads_certificates_and_refuses_private_keys(keystores, tmp_path, gate):
    import requests

    expected = openssl_values(keystores / "release.pem")
    page = requests.post(f"{gate.url}/precheck/certificate",
                         files={"certificate": ("release.pem", (keystores / "release.pem").read_bytes())}, timeout=30)
    assert page.status_code == 200 and expected["md5"] in page.text and expected["sha1"] in page.text

    key = tmp_path / "key.pem"
    tool("openssl", "genpkey", "-algorithm", "RSA", "-out", str(key))
    both = key.read_bytes() + (keystores / "release.pem").read_bytes()  # a certificate beside its key: refused too
    pk8 = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", str(key)],
                         capture_output=True, check=True).stdout  # Android's platform.pk8 form
    for name, content in (("key.pem", key.read_bytes()), ("both.pem", both), ("platform.pk8", pk8),
                          ("release.jks", (keystores / "release.jks").read_bytes()),
                          ("upload.p12", (keystores / "upload.p12").read_bytes())):
        for lang, words in (("zh", "私钥"), ("en", "private key")):
            answer = requests.post(f"{gate.url}/precheck/certificate" + ("?lang=en" if lang == "en" else ""),
                                   files={"certificate": (name, content)}, timeout=30)
            assert answer.status_code == 400, name
            assert "certificate_file_private_key" in answer.text and words in answer.text
            assert expected["md5"] not in answer.text  # nothing was read from it
    assert not any(p.is_file() for p in (tmp_path / "spool").iterdir())
