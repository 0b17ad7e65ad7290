"""Attribution of hosts to SDKs by the classes whose code loads them, checked against androguard's cross-references.

fixtures/network/sdk_code.dex (fixtures/network/build_sdk_code.py, assembled by smali) has hosts loaded only by SDK
classes, only by the app, and by both; the expected attribution below is written by hand from that source.
"""

from __future__ import annotations

import pathlib
import zipfile

import pytest

from gate.extract.network import NetworkScanner
from gate.extract.network.dex_code import classes_loading
from gate.extract.network.sdk_hosts import SDK_DESCRIPTOR_PREFIXES, sdk_for_class
from tests import requirements

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "network"
SDK_DEX = (FIXTURES / "sdk_code.dex").read_bytes()
HOSTS = {"ulog.umeng-unlisted.cn", "rqd.bugly-unlisted.com", "mcgw.alipay-unlisted.com", "shared.cdn-unlisted.net",
         "fis.firebase-unlisted.io", "api.first-party.cn"}


def planted_dexes() -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / "planted.apk") as apk:
        plugin = apk.read("assets/plugin.jar")
        out = {"planted.apk!classes.dex": apk.read("classes.dex")}
    import io
    with zipfile.ZipFile(io.BytesIO(plugin)) as jar:
        out["plugin.jar!classes.dex"] = jar.read("classes.dex")
    return out


def androguard_loaders(dex: bytes, hosts: set[str]) -> dict[str, set[str]]:
    """Host -> classes with a const-string of a string holding it, by androguard's DEX analysis (independent)."""
    requirements.module("androguard")
    from loguru import logger

    logger.remove()
    from androguard.core.analysis.analysis import Analysis
    from androguard.core.dex import DEX

    analysis = Analysis(DEX(dex))
    analysis.create_xref()
    out: dict[str, set[str]] = {}
    for string in analysis.get_strings():
        value = string.get_value()
        for host in hosts:
            if host in value:
                out.setdefault(host, set()).update(cls.name for cls, _method in string.get_xref_from())
    return out


@pytest.mark.parametrize("name", ["sdk_code.dex", "planted.apk!classes.dex", "plugin.jar!classes.dex"])
def test_cross_references_agree_with_androguard(name):
    dex = SDK_DEX if name == "sdk_code.dex" else planted_dexes()[name]
    scanner = NetworkScanner()
    scanner.feed("classes.dex", dex)
    hosts = {h.host for h in scanner.facts().hosts}
    assert hosts
    ours = classes_loading(dex, hosts)  # every class read exactly
    assert {h: set(c) for h, c in ours.items()} == androguard_loaders(dex, hosts)


def test_hosts_only_one_sdk_loads_are_that_sdks():
    scanner = NetworkScanner()
    scanner.feed("classes.dex", SDK_DEX)
    by_name = {h.host: h for h in scanner.facts().hosts}
    assert set(by_name) == HOSTS
    # written by hand from fixtures/network/build_sdk_code.py
    assert {h: (f.third_party, f.third_party_by) for h, f in by_name.items()} == {
        "ulog.umeng-unlisted.cn": ("Umeng (Alibaba)", "code"),
        "rqd.bugly-unlisted.com": ("Bugly (Tencent)", "code"),
        "mcgw.alipay-unlisted.com": ("Alipay SDK (Ant Group)", "code"),
        "fis.firebase-unlisted.io": ("Firebase (Google)", "code"),
        "shared.cdn-unlisted.net": (None, None),  # the app's own class loads it too
        "api.first-party.cn": (None, None),
    }
    code = [e for e in by_name["ulog.umeng-unlisted.cn"].evidence if e.how == "code"]
    assert [(e.source, e.excerpt) for e in code] == [("classes.dex", "loaded by Lcom/umeng/analytics/pro/Uploader;")]


def test_the_fast_reading_never_attributes_what_other_code_loads():
    fast = classes_loading(SDK_DEX, HOSTS, SDK_DESCRIPTOR_PREFIXES)
    assert fast["shared.cdn-unlisted.net"] == {"Lcom/alipay/sdk/app/PayTask;", None}
    assert fast["api.first-party.cn"] == {None}
    assert fast["ulog.umeng-unlisted.cn"] == {"Lcom/umeng/analytics/pro/Uploader;"}


def test_a_dex_without_sdk_classes_attributes_nothing():
    scanner = NetworkScanner()
    scanner.feed("classes.dex", planted_dexes()["planted.apk!classes.dex"])
    assert all(h.third_party_by != "code" for h in scanner.facts().hosts)


@pytest.mark.parametrize(("descriptor", "label"), [
    ("Lcom/umeng/commonsdk/UMConfigure;", "Umeng (Alibaba)"), ("Lcom/tencent/bugly/Bugly;", "Bugly (Tencent)"),
    ("Lcom/tencent/mm/opensdk/openapi/WXAPIFactory;", "WeChat SDK (Tencent)"),
    ("Lcom/google/firebase/FirebaseApp;", "Firebase (Google)"), ("Lcom/filinggate/app/Main;", None),
    ("Lcom/umengx/Foo;", None),
])
def test_sdk_by_class_prefix(descriptor, label):
    assert sdk_for_class(descriptor) == label


def test_damaged_dex_files_never_raise():
    import random

    rng = random.Random(12)  # deterministic: the same 400 damaged files on every run
    for _ in range(400):
        damaged = bytearray(SDK_DEX)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.1:
            damaged = damaged[:rng.randrange(len(damaged))]
        scanner = NetworkScanner()
        scanner.feed("classes.dex", bytes(damaged))
        scanner.facts()
        classes_loading(bytes(damaged), HOSTS)
