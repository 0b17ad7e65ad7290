"""Regression: resources.arsc is refused by its declared size before it is inflated.

The table's own limit (arsc.MAX_RESOURCES_SIZE) used to apply only when a reference had to be resolved, after the
pipeline had inflated the entry (up to the container's 1 GiB per entry) into memory and handed it on.
"""

from __future__ import annotations

import pathlib

from gate.extract import arsc
from gate.extract.pipeline import extract_features

APKS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"


def test_resources_limit_applies_before_inflating(monkeypatch):
    real = extract_features(APKS / "hello_zh.apk")
    assert not real.problems and real.labels  # the table is read (labels resolve through it)
    monkeypatch.setattr(arsc, "MAX_RESOURCES_SIZE", 64)
    facts = extract_features(APKS / "hello_zh.apk")
    assert [p.code for p in facts.problems] == ["limit_entry_size"]
    assert "resources.arsc" in facts.problems[0].message


def test_a_signer_certificate_that_cannot_be_described_is_not_verified(monkeypatch):
    # The scheme verified, but turning its certificate into filing facts failed: that must end as "not verified",
    # not as a CertificateError escaping extract_features (which promises never to raise for a bad package).
    from gate.extract.signing import certs

    def unreadable(der):
        raise certs.CertificateError("malformed certificate: test")

    monkeypatch.setattr(certs, "signer_certificate", unreadable)
    facts = extract_features(APKS / "v1_v2_v3.apk")
    assert not facts.signature.verified and facts.signature.signers == ()
    assert facts.signature.errors[0].message.startswith("signer_certificate_unreadable:")
