"""Precision and recall of contact-vs-reference on the real-world corpus, against hand labels.

fixtures/network/corpus_labels.json labels by hand every host and IP the gate reports on the corpus (what was looked
at is in each label's ``why``). docs/network.md states the figures these tests compute.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from fixtures import corpus
from gate.coverage import check_coverage
from gate.extract.pipeline import extract_features

RECORD = json.loads((pathlib.Path(__file__).resolve().parents[2] / "fixtures/network/corpus_labels.json")
                    .read_text(encoding="utf-8"))
LABELS = RECORD["labels"]
LABELLED_APKS = RECORD["apks"]  # the corpus APKs whose every host and IP is labelled (some have none)
# Stated in docs/network.md ("Measured on real packages"): of the hosts/IPs reported as contact candidates, how many
# are contacted (precision), and of the contacted ones, how many are reported as contact candidates (recall).
STATED_PRECISION, STATED_RECALL = 28 / 30, 1.0
# docs/network.md, "Known gaps": a backup file name returned by a method (the load reaches return-object, whose
# callers are not followed).
KNOWN_NOISE_GAPS = {("Yosemite.apk", "x5.tbs.org")}


@pytest.fixture(scope="module")
def networks(corpus_apk):
    """apk -> the network facts of every corpus APK."""
    return {name: extract_features(corpus_apk(name)).network for name in LABELLED_APKS}


@pytest.fixture(scope="module")
def reported(networks):
    """apk -> {host or IP: fact} for every corpus APK."""
    return {name: {**{h.host: h for h in network.hosts}, **{i.ip: i for i in network.ips}}
            for name, network in networks.items()}


def test_every_corpus_apk_is_labelled():
    assert LABELLED_APKS == [entry.name for entry in corpus.entries()]
    assert {item["apk"] for item in LABELS} <= set(LABELLED_APKS)


def test_every_reported_host_is_labelled_and_every_contacted_one_is_reported(reported):
    """Every value the gate names has a hand label; a contacted one is always named. A reference or noise value may
    be dropped by a rule (a YAML tag, an OID run, a system property, a translated example host ...)."""
    labelled = {(item["apk"], item["host"]) for item in LABELS}
    contacted = {(item["apk"], item["host"]) for item in LABELS if item["label"] == "contacted"}
    found = {(apk, value) for apk, values in reported.items() for value in values}
    assert found <= labelled, found - labelled
    assert contacted <= found, contacted - found


def test_noise_is_never_a_contact_candidate(reported):
    """What is not a host or address at all (an OID, the app's version, a property name ...) is dropped or a
    reference, except the values the docs list as known gaps."""
    noise = {(item["apk"], item["host"]) for item in LABELS if item["label"] == "noise"}
    said = {(apk, value) for apk, values in reported.items()
            for value, fact in values.items() if fact.kind == "contact"}
    assert said & noise == KNOWN_NOISE_GAPS


def test_precision_and_recall_are_the_stated_ones(reported):
    """Labels are contacted, reference or noise (not a host or address at all); only contacted is a true contact."""
    truth = {(item["apk"], item["host"]): item["label"] == "contacted" for item in LABELS}
    said = {(apk, value): fact.kind == "contact" for apk, values in reported.items() for value, fact in values.items()}
    true_positives = sum(1 for key, contact in said.items() if contact and truth[key])
    precision = true_positives / sum(said.values())
    recall = true_positives / sum(truth.values())
    assert (precision, recall) == (STATED_PRECISION, STATED_RECALL)


def test_no_reference_or_unfileable_address_makes_domain_not_filed(networks):
    contacted = {(item["apk"], item["host"]) for item in LABELS if item["label"] == "contacted"}
    for name, network in networks.items():
        coverage = check_coverage(network, [])  # a filing that lists nothing
        for value in [h.host for h in coverage.uncovered_hosts] + [i.ip for i in coverage.uncovered_ips]:
            assert (name, value) in contacted, value
        for ip in coverage.uncovered_ips:
            assert ip.scope == "public"


def test_a_correctly_filed_app_is_not_sent_to_review(networks):
    """A filing that lists exactly the labelled contacts of an app covers everything the gate counts."""
    for name, network in networks.items():
        filed = [item["host"] for item in LABELS if item["apk"] == name and item["label"] == "contacted"]
        coverage = check_coverage(network, filed)
        assert ([h.host for h in coverage.uncovered_hosts], [i.ip for i in coverage.uncovered_ips]) == ([], []), name


def test_every_fact_shows_its_evidence(reported):
    for values in reported.values():
        for fact in values.values():
            assert fact.evidence and all(e.source and e.how and e.excerpt for e in fact.evidence)


def test_gate_features_shows_kind_evidence_scope_and_sdk():
    import subprocess
    import sys

    apk = pathlib.Path(__file__).resolve().parents[2] / "fixtures/network/planted.apk"
    gate = [sys.executable, "-m", "gate.cli", "features"]
    readable = subprocess.run([*gate, str(apk)], capture_output=True, text=True).stdout
    assert "    open.weixin.qq.com  contact  [WeChat SDK (Tencent)]  (classes.dex)" in readable
    assert "      url in classes.dex: https://open.weixin.qq.com/connect/oauth2" in readable
    assert "    10.20.30.40  contact, private  (lib/arm64-v8a/libplanted.so)" in readable
    line = json.loads(subprocess.run([*gate, "--json", str(apk)], capture_output=True, text=True).stdout)
    host = next(h for h in line["network"]["hosts"] if h["host"] == "open.weixin.qq.com")
    assert (host["kind"], host["third_party"], host["third_party_by"]) == ("contact", "WeChat SDK (Tencent)", "host")
    assert host["evidence"] == [{"source": "classes.dex", "how": "url", "reference": None,
                                 "excerpt": "https://open.weixin.qq.com/connect/oauth2"}]
    assert {i["ip"]: i["scope"] for i in line["network"]["ips"]}["203.0.113.10"] == "documentation"


def test_precheck_page_shows_kind_evidence_and_scope(gate):
    import requests

    from tests.integration.http_support import multipart

    apk = pathlib.Path(__file__).resolve().parents[2] / "fixtures/network/planted.apk"
    body, content_type = multipart(apk)
    page = requests.post(f"{gate.url}/precheck?lang=en", data=body, headers={"Content-Type": content_type})
    assert page.status_code == 200
    # The result page (the pre-check shows the verdict first, then a table of every value with its evidence).
    assert "URL · classes.dex: <code>https://api.dex-planted.cn/v1/login</code>" in page.text
    assert ("<td><code>203.0.113.10</code></td>\n <td>contacted<br><small>documentation</small></td>"
            in page.text)
    assert "<li><code>open.weixin.qq.com</code> — WeChat SDK (Tencent)</li>" in page.text
