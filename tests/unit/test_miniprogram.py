"""Mini-program declarations (gate.miniprogram) and how the decision engine takes them. Expected verdicts are the
issue's rules written by hand: an unfiled AppID blocks, an undeclared-in-filing domain asks for review, a declaration
whose domains are all filed is allowed."""

import pytest

from gate.decide import Policy, decide
from gate.filings.validate import validate_record
from gate.miniprogram import DeclarationInvalid, declaration_facts, declared_subject

APPID = "wx0123456789abcdef"
UNIT = "北京门禁科技有限公司"


def declaration(**changes):
    body = {"appid": APPID, "name": "门禁小程序", "subject": UNIT,
            "request_domain": ["https://api.mp.filinggate.cn", "https://API.mp.filinggate.cn/"],
            "socket_domain": ["wss://ws.filinggate.cn:8443"], "upload_domain": [], "download_domain": [],
            "business_domain": ["h5.filinggate.cn"]}
    body.update(changes)
    return body


def filing(status="active", identifier=APPID, domains=("filinggate.cn",), **changes):
    raw = {"service_licence": "京ICP备2024000001号-7X", "service_type": "mini_program", "service_name": "门禁小程序",
           "unit_name": UNIT, "status": status, "domains": list(domains),
           "platforms": [{"platform": "miniprogram", "identifier": identifier}], **changes}
    record, problems = validate_record(raw)
    assert record is not None, problems
    return record


def decided(body, filings):
    facts = declaration_facts(body)
    return decide(facts, filings, policy=Policy(), platform="miniprogram", developer_entity=declared_subject(facts))


def test_facts_of_a_declaration():
    facts = declaration_facts(declaration())
    assert (facts.format, facts.platform, facts.package, facts.label) == ("miniprogram", "miniprogram", APPID,
                                                                          "门禁小程序")
    hosts = {h.host: h for h in facts.network.hosts}
    assert sorted(hosts) == ["api.mp.filinggate.cn", "h5.filinggate.cn", "ws.filinggate.cn"]
    assert hosts["ws.filinggate.cn"].sources == ("socket_domain",)
    assert hosts["api.mp.filinggate.cn"].evidence[0].how == "declaration"
    assert all(h.kind == "contact" for h in facts.network.hosts)
    # The same declaration, written differently (order, case, trailing slash), is the same input.
    again = declaration_facts(declaration(request_domain=["api.mp.filinggate.cn"]))
    assert again.sha256 == facts.sha256


def test_filed_declaration_is_allowed_and_an_unfiled_domain_asks_for_review():
    assert decided(declaration(), [filing()]).verdict == "allow"
    review = decided(declaration(business_domain=["https://h5.unfiled-example.com"]), [filing()])
    assert review.verdict == "review"
    (reason,) = review.reasons
    assert reason.code == "domain_not_filed" and reason.evidence["uncovered_hosts"] == ["h5.unfiled-example.com"]


@pytest.mark.parametrize("filings, code", [
    ([], "unfiled"),
    ([filing(identifier="wx0000000000000000")], "unfiled"),
    ([filing(status="cancelled")], "filing_cancelled"),
    ([filing(blacklisted=True)], "filing_blacklisted"),
])
def test_identity_steps_block(filings, code):
    decision = decided(declaration(), filings)
    assert (decision.verdict, [r.code for r in decision.reasons]) == ("block", [code])


def test_name_and_subject_are_compared_with_the_filing():
    decision = decided(declaration(name="完全不同的名字", subject="上海另一家公司"), [filing()])
    assert decision.verdict == "review"
    assert {r.code for r in decision.reasons} == {"name_mismatch", "entity_mismatch"}


@pytest.mark.parametrize("body, words", [
    ([], "JSON object"),
    ({"name": "x"}, "`appid` is required"),
    (declaration(appid="wx 01"), "not a mini-program AppID"),
    (declaration(name=""), "`name` is required"),
    (declaration(request_domain="api.filinggate.cn"), "must be a list"),
    (declaration(request_domain=["https://203.0.113.7"]), "IP address"),
    (declaration(request_domain=["https://api.filinggate.cn/path"]), "is not a domain"),
    (declaration(request_domain=["localhost"]), "fully qualified"),
    (declaration(request_domain=[7]), "non-empty string"),
    (declaration(request_domain=["https://*.filinggate.cn"]), "no wildcards"),
    (declaration(request_domain=["https://-bad.filinggate.cn"]), "not a valid host name"),
    (declaration(extra=1), "unknown fields: extra"),
    (declaration(request_domain=["http://api.mp.filinggate.cn"]), "is not https://"),
    (declaration(socket_domain=["https://ws.filinggate.cn"]), "is not wss://"),
    (declaration(business_domain=["ftp://h5.filinggate.cn"]), "is not https://"),
    (declaration(request_domain=["a.filinggate.cn"] * 201), "at most 200"),
])
def test_bad_declarations_are_refused_with_a_code(body, words):
    with pytest.raises(DeclarationInvalid) as caught:
        declaration_facts(body)
    assert caught.value.code == "declaration_invalid" and caught.value.status == 400
    assert words in caught.value.message


def test_a_miniprogram_filing_validates_and_names_the_appid():
    record = filing()
    assert record.identities_for("miniprogram", APPID)
    bad, problems = validate_record({**filing().canonical(), "platforms": [{"platform": "小程序",
                                                                             "identifier": "not an appid!"}]})
    assert bad is None and any(p.code == "identifier_syntax" for p in problems)
