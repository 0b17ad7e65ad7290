"""The exemption rule (gate.exemptions): which decisions an exemption may turn into allow, and which never."""

from __future__ import annotations

import datetime as dt

import pytest

from gate.decide import Policy, decide
from gate.exemptions import Exemption, ExemptionInvalid, apply_exemptions, find_exemption, validate_new
from gate.extract.facts import PackageFacts, SignatureFacts, SignatureIssue, SignerCertificate
from gate.filings.records import Filing

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SHA_A = "a1" * 32
SHA_B = "b2" * 32
PKG = "com.android.systemui"


def signer(sha: str) -> SignerCertificate:
    return SignerCertificate(cert_md5="00" * 16, cert_sha1="00" * 20, cert_sha256=sha, public_key="",
                             public_key_sha256="", subject="CN=Android", key_algorithm="RSA", key_size=2048)


def facts(*shas: str, package: str = PKG, verified: bool = True, errors=()) -> PackageFacts:
    return PackageFacts(path="x.apk", format="apk", package=package, version_code=1,
                        signature=SignatureFacts(verified=verified, signers=tuple(signer(s) for s in shas),
                                                 schemes={"v2": verified},
                                                 errors=tuple(SignatureIssue.from_message(e) for e in errors)))


def exemption(**over) -> Exemption:
    base = dict(id=7, package=PKG, cert_sha256=SHA_A, scope="preinstall", reason_category="platform_component",
                reason="系统界面，不联网", approved_by="王敏", expires_at=NOW + dt.timedelta(days=30))
    return Exemption(**{**base, **over})


def filing(status="active", blacklisted=False, md5="ff" * 16) -> Filing:
    return Filing.from_canonical({
        "service_licence": "京ICP备2024000009号-1A", "main_licence": "京ICP备2024000009号", "service_type": "app",
        "service_name": "系统界面", "unit_name": "某终端有限公司", "unit_nature": "企业", "status": status,
        "approved_at": "2024-01-01", "blacklisted": blacklisted,
        "platforms": [{"platform": "android", "identifier": PKG, "signature_md5": md5}], "domains": []})


def preinstall(f: PackageFacts, filings=(), exemptions=None, at=NOW):
    exemptions = (exemption(),) if exemptions is None else exemptions
    d = decide(f, list(filings), policy=Policy(unfiled_domains="off", name_mismatch="off"))
    return apply_exemptions(d, exemptions, scope="preinstall", at=at)


def test_unfiled_platform_component_is_allowed_citing_the_exemption():
    d = preinstall(facts(SHA_A))
    assert d.verdict == "allow"
    assert [r.code for r in d.reasons] == ["exempted"]
    assert d.reasons[0].severity == "info"
    assert d.reasons[0].evidence["exemption_id"] == 7
    assert "系统组件，不提供互联网信息服务" in d.reasons[0].message["zh"]


@pytest.mark.parametrize("case", ["other_cert", "other_package", "expired", "expiring_now", "revoked",
                                  "two_signers", "store_scope"])
def test_no_match_stays_unfiled(case):
    f, ex, scope = facts(SHA_A), exemption(), "preinstall"
    if case == "other_cert":
        f = facts(SHA_B)
    elif case == "other_package":
        f = facts(SHA_A, package="com.android.systemui.extra")
    elif case == "expired":
        ex = exemption(expires_at=NOW - dt.timedelta(seconds=1))
    elif case == "expiring_now":
        ex = exemption(expires_at=NOW)
    elif case == "revoked":
        ex = exemption(revoked_at=NOW - dt.timedelta(days=1))
    elif case == "two_signers":
        f = facts(SHA_A, SHA_B)
    elif case == "store_scope":
        scope = "store"
    d = decide(f, [], policy=Policy())
    out = apply_exemptions(d, [ex], scope=scope, at=NOW)
    assert (out.verdict, [r.code for r in out.reasons]) == ("block", ["unfiled"])


def test_never_overrides_signature_or_filing_blocks():
    assert [r.code for r in preinstall(facts(SHA_A, verified=False, errors=["v2: digest mismatch"])).reasons] \
        == ["signature_invalid"]
    assert [r.code for r in preinstall(facts()).reasons] == ["signature_invalid"]  # verified, no signer
    assert [r.code for r in preinstall(facts(SHA_A), [filing()]).reasons] == ["key_mismatch"]
    assert [r.code for r in preinstall(facts(SHA_A), [filing(status="cancelled")]).reasons] == ["filing_cancelled"]
    assert [r.code for r in preinstall(facts(SHA_A), [filing(blacklisted=True)]).reasons] == ["filing_blacklisted"]
    for d in (preinstall(facts(SHA_A), [filing()]), preinstall(facts(SHA_A), [filing(blacklisted=True)])):
        assert d.verdict == "block"


def test_longest_lasting_match_is_cited():
    short, long_ = exemption(id=1), exemption(id=2, expires_at=NOW + dt.timedelta(days=300))
    assert find_exemption([short, long_], package=PKG, signers=[SHA_A], scope="preinstall", at=NOW).id == 2


def test_validation():
    ok = dict(package=PKG, cert_sha256=":".join([SHA_A[i:i + 2] for i in range(0, 64, 2)]).upper(),
              scope="preinstall", reason_category="platform_component", reason="不联网", approved_by="王敏",
              expires_at=NOW + dt.timedelta(days=1), at=NOW)
    assert validate_new(**ok)["cert_sha256"] == SHA_A
    for bad in (dict(package="nodots"), dict(cert_sha256="abc"), dict(scope="store"), dict(reason_category="x"),
                dict(reason="  "), dict(approved_by=""), dict(expires_at=NOW)):
        with pytest.raises(ExemptionInvalid):
            validate_new(**{**ok, **bad})
