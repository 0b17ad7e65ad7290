"""The oracle, live: .rpk packages built now by the official packager (npm @hap-toolkit/packager, pinned in
fixtures/quickapp.py) with this repository's test keys are read and verified; re-signed by the packager they name the
new signer; tampered after signing they are refused. Expected identities come from what the test wrote and from the
certificate files (cryptography), never from the gate."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fixtures import quickapp
from gate.extract.pipeline import extract_features
from tests import requirements


@pytest.fixture(scope="module")
def toolkit():
    return requirements.rpk_toolkit()


def cert_sha256(path) -> str:
    return hashlib.sha256(x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)).hexdigest()


def test_packages_the_packager_builds_now_verify_and_tampering_is_refused(toolkit, tmp_path):
    manifest = {**quickapp.MANIFEST, "package": "cn.filinggate.quick.live", "versionCode": 41, "versionName": "4.1"}
    files = quickapp.source_files(manifest)
    files["pages/About/about.js"] = b'fetch.fetch({url:"https://about.live.filinggate.cn/x"});' * 40
    key_a, cert_a = quickapp.test_key("a")
    key_b, cert_b = quickapp.test_key("b")
    built = quickapp.build_signed(files, key_a, cert_a, toolkit)
    variants = {"built.rpk": built, "resigned.rpk": quickapp.resign(built, key_b, cert_b, toolkit),
                "tampered.rpk": quickapp.repack_keeping_block(built, {"manifest.json": json.dumps(
                    {**manifest, "versionCode": 42}).encode()}),
                "unsigned.rpk": quickapp.strip_block(built)}
    facts = {}
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        facts[name] = extract_features(tmp_path / name)
    ok = facts["built.rpk"]
    assert (ok.package, ok.version_code, ok.version_name) == ("cn.filinggate.quick.live", 41, "4.1")
    assert ok.signature.verified, ok.signature.errors
    assert [s.cert_sha256 for s in ok.signature.signers] == [cert_sha256(cert_a)]
    assert "about.live.filinggate.cn" in {h.host for h in ok.network.hosts}
    resigned = facts["resigned.rpk"]
    assert resigned.signature.verified and [s.cert_sha256 for s in resigned.signature.signers] == [cert_sha256(cert_b)]
    assert not facts["tampered.rpk"].signature.verified
    assert any(e.message.startswith("rpk_digest_mismatch") for e in facts["tampered.rpk"].signature.errors)
    assert any(e.message.startswith("rpk_unsigned") for e in facts["unsigned.rpk"].signature.errors)
