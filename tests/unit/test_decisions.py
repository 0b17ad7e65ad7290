"""The decision entry point's typed request (gate.services.decisions): what a caller declared survives the way it was
stored and hashed before the request existed, and the platform is the package's own."""

from __future__ import annotations

from gate.extract.facts import PackageFacts
from gate.services.checks import derive_check_id
from gate.services.decisions import BatchRegistry, CheckRequest, platform_of

DECLARED = {"store_app_id": "app-42", "developer_entity": "某某科技有限公司",
            "callback_url": "https://store.example.cn/cb", "category": "新闻"}


def test_a_stored_metadata_object_round_trips_in_its_order():
    request = CheckRequest.declared(DECLARED, source="client:store")
    assert request.metadata() == DECLARED and list(request.metadata()) == list(DECLARED)
    assert (request.developer_entity, request.category, request.source) == ("某某科技有限公司", "新闻", "client:store")


def test_absent_and_empty_values_are_not_declared():
    request = CheckRequest.declared({"developer_entity": "", "category": None}, source="sync")
    assert request.metadata() == {} and request.developer_entity is None and request.category is None
    assert CheckRequest.declared(None, source="worker:w1").metadata() == {}


def test_check_ids_are_the_ones_the_metadata_dict_gave():
    # Expected ids computed by the metadata-dict version of derive_check_id (main at bf1e627): a stored check keeps
    # answering under the same id after the change.
    assert derive_check_id(7, "ab" * 32, CheckRequest.declared(DECLARED, source="x")) \
        == "chk_7554db41b2e30f4e7f29dbc22d996530"
    assert derive_check_id(7, "ab" * 32, CheckRequest(), unpacked_sha256="cd" * 32) \
        == "chk_0d7c6adc73729204e4fbccb0c58867fc"


def test_the_callback_url_is_kept_but_not_part_of_the_check_id():
    with_url = CheckRequest.declared(DECLARED, source="x")
    without = CheckRequest.declared({**DECLARED, "callback_url": None}, source="x")
    assert derive_check_id(7, "ab" * 32, with_url) == derive_check_id(7, "ab" * 32, without)


def test_the_platform_is_the_packages_own():
    assert platform_of(PackageFacts(path="a.ipa", format="ipa", platform="ios")) == "ios"
    assert platform_of(PackageFacts(path="a.hap", format="hap")) == "harmony"  # facts stored before `platform`
    assert platform_of(PackageFacts(path="x.bin")) == "android"  # unreadable: blocked before any look-up


def test_a_batch_look_up_answers_by_platform_and_identifier():
    found = BatchRegistry({"android": {"cn.example.app": ["filing"]}})
    assert found.filings_for("android", "cn.example.app") == ["filing"]
    assert found.filings_for("quickapp", "cn.example.app") == []
    assert found.filings_for("android", "cn.example.other") == []
