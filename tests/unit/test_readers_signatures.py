"""apksigner's leniencies and strictness the gate now mirrors, on the recorded fixtures (fixtures/apks/oracle.json).

- A certificate whose RSA modulus is a negative INTEGER: apksig re-encodes it as positive before comparing with the
  public-key record, so the signer verifies; apksigner prints the digests of the certificate as written.
- A JAR signer whose certificate has a critical extension the JDK does not implement: apksig refuses it.
- SourceStamp: verified like apksigner, reported, and never changing the verdict.
"""

from __future__ import annotations

from gate.extract.container import ApkContainer
from gate.extract.signing import certs, verify_apk_signatures
from tests.oracle import FIXTURES, records


def _facts(name: str, min_sdk: int, target_sdk: int):
    with ApkContainer.open(FIXTURES / name) as container:
        return verify_apk_signatures(container, min_sdk=min_sdk, target_sdk=target_sdk)


def test_negative_modulus_certificate_verifies_with_apksigners_digests():
    oracle = records()["certificate_negative_modulus_v2.apk"]["apksigner"]
    facts = _facts("certificate_negative_modulus_v2.apk", 28, 34)
    assert oracle["verifies"] and facts.verified
    signer, expected = facts.signers[0], oracle["signers"][0]
    assert (signer.cert_sha256, signer.public_key_sha256, signer.key_size) == (
        expected["cert_sha256"], expected["public_key_sha256"], expected["key_size"])
    # 公钥 is the key that really signed: key A's modulus, the same as on v2_only.apk (signed by key A).
    assert signer.public_key == _facts("v2_only.apk", 28, 34).signers[0].public_key


def test_negative_modulus_certificate_verifies_a_jar_signature_too():
    oracle = records()["v1_certificate_negative_modulus.apk"]["apksigner"]
    facts = _facts("v1_certificate_negative_modulus.apk", 21, 29)
    assert oracle["verifies"] and facts.verified, facts.errors
    assert facts.signers[0].public_key_sha256 == oracle["signers"][0]["public_key_sha256"]


def test_certificates_apksig_reencodes_keep_the_digests_of_the_bytes_as_written():
    import hashlib

    from fixtures import forge
    for name in ("certificate_ber_length_v2.apk", "certificate_trailing_bytes_v2.apk"):
        oracle = records()[name]["apksigner"]
        facts = _facts(name, 28, 34)
        assert oracle["verifies"] and facts.verified, (name, facts.errors)
        written = forge.certificate_of((FIXTURES / name).read_bytes())
        assert facts.signers[0].cert_sha256 == hashlib.sha256(written).hexdigest() == oracle["signers"][0]["cert_sha256"]


def test_positive_modulus_is_the_unsigned_reading_of_the_written_bytes():
    written = bytes.fromhex("a9198361")  # a modulus written without its leading zero byte
    negative = int.from_bytes(written, "big", signed=True)
    assert negative < 0 and certs.positive_modulus(negative) == int.from_bytes(written, "big")
    assert certs.positive_modulus(12345) == 12345


def test_negative_modulus_key_must_still_be_the_record_key():
    # The lenient reading never joins two different keys: the re-encoded certificate key must equal the record
    # that verified the signature (certificate_claimed_v2.apk: key A's certificate, key B's record and signature).
    assert not _facts("certificate_claimed_v2.apk", 28, 34).verified
    assert not records()["certificate_claimed_v2.apk"]["apksigner"]["verifies"]


def test_unsupported_critical_extension_fails_the_jar_signer():
    assert not records()["v1_critical_extension_unknown.apk"]["apksigner"]["verifies"]
    facts = _facts("v1_critical_extension_unknown.apk", 21, 29)
    assert not facts.verified
    assert any("unsupported critical extensions (1.3.6.1.4.1.99999.1)" in e.message for e in facts.errors)
    assert records()["v1_critical_key_usage.apk"]["apksigner"]["verifies"]
    assert _facts("v1_critical_key_usage.apk", 21, 29).verified


def test_stamp_failures_are_warnings_for_apksigner_and_the_gate():
    for name in ("stamp_signature_corrupt.apk", "stamp_signature_malformed.apk", "stamp_block_missing.apk",
                 "stamp_certificate_other.apk"):
        oracle = records()[name]["apksigner"]
        assert oracle["verifies"] and not oracle["source_stamp"]
        assert any("SourceStamp" in w or "No SourceStamp" in w for w in oracle["warnings"]), name
        facts = _facts(name, 24, 34)
        assert facts.verified and not facts.source_stamp, name
    for name, min_sdk in (("stamp_v1_v2_v3.apk", 21), ("stamp_v2_v3.apk", 24)):
        assert _facts(name, min_sdk, 34).source_stamp


def test_a_stamp_never_names_a_signer():
    # Key B stamps stamp_v2_v3.apk, key A signs it: only A is a signer.
    stamped = _facts("stamp_v2_v3.apk", 24, 34)
    assert [s.cert_sha256 for s in stamped.signers] == [s["cert_sha256"] for s in
                                                          records()["stamp_v2_v3.apk"]["apksigner"]["signers"]]
    assert [s.subject for s in stamped.signers] == ["CN=Filing Gate RSA 2048, O=Filing Gate Fixtures, C=CN"]


def test_unreadable_stamp_entry_fails_like_apksigners_exception():
    # apksig reads stamp-cert-sha256 before anything else of the stamp; when that fails it throws "Failed to read
    # APK" and apksigner does not verify. (Every real corruption of the entry also breaks the APK's own signatures.)
    import pytest

    from gate.errors import ContainerError
    from gate.extract.signing import stamp

    class Unreadable:
        def get(self, name):
            return object() if name == stamp.STAMP_CERT_ENTRY else None

        def read(self, entry):
            raise ContainerError("corrupt", code="zip_crc_mismatch")

    with pytest.raises(stamp.StampEntryUnreadable):
        stamp.verify_source_stamp(Unreadable(), {}, min_sdk=24, max_sdk=0x7FFFFFFF)
