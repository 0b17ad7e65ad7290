"""Quick apps (.rpk) signed by the official packager (@hap-toolkit/packager, npm): identity, what of the signature
verifies, network resources, and the decision. Expected values: fixtures/quickapp/expected.json (written by
fixtures/quickapp.py from the manifest it wrote, certificate digests by cryptography, hand labels for the broken
variants); the packages themselves were signed by the packager (tests/integration/test_quickapp_toolkit.py re-runs
it)."""

import io
import json
import pathlib
import zipfile

import pytest

from gate.decide import Policy, decide
from gate.extract.pipeline import extract_features
from gate.filings.validate import validate_record

QUICKAPP = pathlib.Path(__file__).parents[2] / "fixtures/quickapp"
EXPECTED = json.loads((QUICKAPP / "expected.json").read_text(encoding="utf-8"))
ALL_PARTS = {"signature", "certificate_key", "content_digest", "file_digests", "cert_digest_list"}


def filing(signer="a", *, status="active", domains=("filinggate.cn",), **key):
    key = key or {"signature_md5": EXPECTED["signers"][signer]["cert_md5"]}
    record, problems = validate_record({
        "service_licence": "京ICP备2024000001号-8K", "service_type": "quick_app", "service_name": EXPECTED["name"],
        "unit_name": "北京门禁科技有限公司", "status": status, "domains": list(domains),
        "platforms": [{"platform": "quickapp", "identifier": EXPECTED["package"], **key}]})
    assert record is not None, problems
    return record


@pytest.mark.parametrize("name", sorted(EXPECTED["signed_by"]))
def test_packages_signed_by_the_packager_verify_and_name_their_signer(name):
    facts = extract_features(QUICKAPP / name)
    assert facts.problems == ()
    assert (facts.format, facts.platform, facts.package) == ("rpk", "quickapp", EXPECTED["package"])
    assert (facts.version_code, facts.version_name, facts.label, facts.min_sdk) == (
        EXPECTED["version_code"], EXPECTED["version_name"], EXPECTED["name"], EXPECTED["min_platform_version"])
    assert list(facts.permissions) == EXPECTED["features"]
    assert facts.signature.verified, facts.signature.errors
    assert set(facts.signature.verified_parts) == ALL_PARTS
    (signer,) = facts.signature.signers
    wanted = EXPECTED["signers"][EXPECTED["signed_by"][name]]
    assert (signer.cert_md5, signer.cert_sha1, signer.cert_sha256, signer.public_key) == (
        wanted["cert_md5"], wanted["cert_sha1"], wanted["cert_sha256"], wanted["public_key"])
    assert sorted({h.host for h in facts.network.hosts}) == EXPECTED["hosts"]
    # The fetch and websocket calls name their module ("@app-module/system.fetch") before the URL: still contacts.
    assert {h.host for h in facts.network.hosts if h.kind == "contact"} >= {"api.quick.filinggate.cn",
                                                                          "ws.quick.filinggate.cn"}


@pytest.mark.parametrize("name", sorted(EXPECTED["failures"]))
def test_tampered_or_unsigned_packages_are_refused_with_a_reason(name):
    facts = extract_features(QUICKAPP / name)
    assert facts.format in ("rpk", "rpks") and not facts.signature.verified
    tag = EXPECTED["failures"][name]
    assert any(e.message.startswith(tag) for e in facts.signature.errors), facts.signature.errors
    decision = decide(facts, [filing()], policy=Policy())
    code = "package_unsigned" if tag == "rpk_unsigned" else "signature_invalid"
    assert (decision.verdict, [r.code for r in decision.reasons]) == ("block", [code])


def test_a_truncated_package_is_malformed():
    facts = extract_features(QUICKAPP / "rpk_truncated.rpk")
    assert facts.problems and facts.problems[0].code.startswith(EXPECTED["malformed"]["rpk_truncated.rpk"])
    assert decide(facts, [filing()], policy=Policy()).reasons[0].code == "package_malformed"


def test_decisions_filed_unfiled_resigned_and_domains():
    signed = extract_features(QUICKAPP / "rpk_signed.rpk")
    decision = decide(signed, [filing(domains=("filinggate.cn",))], policy=Policy())
    assert decision.verdict == "allow", [r.as_dict() for r in decision.reasons]
    assert decide(signed, [], policy=Policy()).reasons[0].code == "unfiled"
    by_sha256 = filing(signature_sha256=EXPECTED["signers"]["a"]["cert_sha256"])
    assert decide(signed, [by_sha256], policy=Policy()).verdict == "allow"
    # Re-signed by another key: the filing names the first key.
    resigned = extract_features(QUICKAPP / "rpk_resigned.rpk")
    assert decide(resigned, [filing()], policy=Policy()).reasons[0].code == "key_mismatch"
    # A domain the filing does not cover asks for review.
    narrow = decide(signed, [filing(domains=("ws.quick.filinggate.cn",))], policy=Policy())
    assert narrow.verdict == "review" and narrow.reasons[0].code == "domain_not_filed"
    assert decide(signed, [filing(status="cancelled")], policy=Policy()).reasons[0].code == "filing_cancelled"


def test_an_rpk_is_recognised_by_content_not_name(tmp_path):
    renamed = tmp_path / "package.apk"
    renamed.write_bytes((QUICKAPP / "rpk_signed.rpk").read_bytes())
    facts = extract_features(renamed)
    assert (facts.format, facts.platform, facts.signature.verified) == ("rpk", "quickapp", True)


def test_no_flipped_bit_in_the_signing_block_leaves_a_verified_package(tmp_path):
    """Every 37th byte of the block, one bit flipped: never verified, never an exception (the reader fails closed)."""
    import struct

    data = (QUICKAPP / "rpk_signed.rpk").read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    cd = struct.unpack_from("<I", data, eocd + 16)[0]
    start = cd - struct.unpack_from("<Q", data, cd - 24)[0] - 8
    for at in range(start, cd, 37):
        mutated = bytearray(data)
        mutated[at] ^= 0x10
        path = tmp_path / "m.rpk"
        path.write_bytes(bytes(mutated))
        facts = extract_features(path)
        assert not facts.signature.verified, at - start


def test_a_set_signed_by_the_packager_verifies_with_its_parts():
    (name, wanted), = EXPECTED["sets"].items()
    facts = extract_features(QUICKAPP / name)
    assert (facts.format, facts.platform, facts.package, facts.version_code) == (
        "rpks", "quickapp", EXPECTED["package"], EXPECTED["version_code"])
    assert facts.signature.verified, facts.signature.errors
    assert sorted(p.name for p in facts.parts) == wanted["parts"] and all(p.verified for p in facts.parts)
    assert [s.cert_sha256 for s in facts.signature.signers] == [EXPECTED["signers"][wanted["signed_by"]]["cert_sha256"]]
    assert sorted({h.host for h in facts.network.hosts}) == sorted(EXPECTED["hosts"] + wanted["extra_hosts"])
    assert decide(facts, [filing()], policy=Policy()).verdict == "allow"


@pytest.mark.parametrize("features", [3, True, "system.fetch", {"name": "system.fetch"}])
def test_a_manifest_field_of_the_wrong_type_is_read_as_absent(tmp_path, features):
    """Bad input is a package the gate reads and reports on, never a traceback."""
    from fixtures.quickapp import repack_keeping_block

    signed = (QUICKAPP / "rpk_signed.rpk").read_bytes()
    with zipfile.ZipFile(io.BytesIO(signed)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["features"] = features
    path = tmp_path / "features.rpk"
    path.write_bytes(repack_keeping_block(signed, {"manifest.json": json.dumps(manifest).encode()}))
    facts = extract_features(path)
    assert facts.package == EXPECTED["package"]
    assert facts.permissions == () and facts.details["quickapp"]["features"] == []
    assert not facts.signature.verified  # the manifest changed after signing
