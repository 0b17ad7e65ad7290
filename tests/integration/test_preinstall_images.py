"""`gate preinstall scan` on real images built here by Android's tools (mkfs.ext4 -d, mkfs.erofs, img2simg) and a
super image written to liblp's format: every form of one build gives the same report as its unpacked tree, and
broken images are errors naming the partition, never tracebacks."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from fixtures import corpus
from fixtures import images as build
from gate.preinstall import sparse
from tests import requirements
from tests.integration.http_support import APKS, FILINGS, HELLO_PACKAGE, LEGACY_PACKAGE, ORACLE, prepare_database

# Building the images (mkfs.ext4, mkfs.erofs, img2simg) and reading them (debugfs, fsck.erofs, as the gate does).
pytestmark = requirements.needs_tools("mkfs.ext4", "debugfs", "mkfs.erofs", "fsck.erofs", "img2simg")

PARTITIONS = {
    "system": {"app/Hello/Hello.apk": APKS / "hello_zh.apk", "priv-app/Legacy/Legacy.apk": APKS / "legacy_v1.apk",
               "etc/not-an-app-dir/Ignored.apk": APKS / "v1_only.apk"},
    "product": {"app/Settings/Settings.apk": "settings_apk-debug.apk",
                "overlay/Demo.apk": "appium-uiautomator2-server-debug-androidTest.apk"},
    "vendor": {"app/Broken/Broken.apk": APKS / "not_a_zip.apk", "app/Multi/Multi.apk": APKS / "multidex_native.apk"},
    "odm": {"priv-app/Two/Two.apk": APKS / "two_signers.apk"},
}
APEX_APPS = {"app/MediaHello/MediaHello.apk": APKS / "v1_v2_v3.apk"}
APEX_NAME = "com.example.media"
# A vendor APEX whose payload is EROFS (read from a copy: fsck.erofs takes whole files) and named by its file only.
VENDOR_APEX_APPS = {"priv-app/Vx/Vx.apk": APKS / "key_ec256.apk"}
VENDOR_APEX_FILE = "com.example.vendorx@2.apex"


def _source(value):
    return value if isinstance(value, pathlib.Path) else requirements.corpus_apk(value)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """The unpacked tree of one build, and its partitions as images in every form."""
    root = tmp_path_factory.mktemp("build")
    tree = root / "tree"
    for name, apps in PARTITIONS.items():
        build.place(tree / name, {k: _source(v) for k, v in apps.items()})
    apex_tree = build.place(root / "apex-tree", APEX_APPS)
    (tree / "system" / "apex").mkdir()
    build.apex(build.ext4(apex_tree, root / "apex_payload.img"), tree / "system" / "apex" / f"{APEX_NAME}.apex",
               APEX_NAME)
    vendor_apex = build.erofs(build.place(root / "vendor-apex-tree", VENDOR_APEX_APPS), root / "vendor_payload.img")
    (tree / "vendor" / "apex").mkdir()
    build.apex(vendor_apex, tree / "vendor" / "apex" / VENDOR_APEX_FILE, None)
    # A link to a file of the scanning machine: the device would not install it, the scan must not read it.
    (tree / "system" / "app" / "Link").mkdir()
    os.symlink("/etc/passwd", tree / "system" / "app" / "Link" / "Link.apk")
    images = root / "images"
    images.mkdir()
    system = build.ext4(tree / "system", images / "system.img")
    build.sparse(build.ext4(tree / "product", root / "product.raw"), images / "product.img")
    vendor = build.erofs(tree / "vendor", images / "vendor.img")
    build.sparse(build.erofs(tree / "odm", root / "odm.raw", compress=True), images / "odm.img")
    raw_super = build.super_image([("system", system), ("product", root / "product.raw"), ("vendor", vendor),
                                   ("odm", root / "odm.raw")], root / "super.img", split=("system", "odm"))
    sparse_super = build.sparse(raw_super, root / "super_sparse.img")
    filings = root / "filings.json"
    filings.write_text(json.dumps(FILINGS, ensure_ascii=False), encoding="utf-8")
    return {"root": root, "tree": tree, "images": sorted(images.iterdir()), "super": raw_super,
            "sparse_super": sparse_super, "filings": filings}


def scan(build_dir, *targets, out: str = "out", extra=(), jobs: str = "2", database: str | None = None):
    out_dir = build_dir["root"] / out
    source = ["--filings", str(build_dir["filings"])] if database is None else []
    env = {**os.environ, "GATE_DATABASE_URL": database} if database else None
    result = subprocess.run([sys.executable, "-m", "gate.cli", "preinstall", "scan", *map(str, targets), *source,
                             "--out", str(out_dir), "--jobs", jobs, *extra], capture_output=True, text=True,
                            timeout=300, env=env)
    assert "Traceback" not in result.stderr and "internal_error" not in result.stderr, result.stderr
    report = json.loads((out_dir / "preinstall-report.json").read_text()) if result.returncode in (0, 3, 4) else None
    return result, report


def essentials(report) -> list[tuple]:
    return sorted((i["path"], i["partition"], i["apex"], i["package"], i["verdict"],
                   tuple(r["code"] for r in i["reasons"]), i["cert_sha256"]) for i in report["items"])


@pytest.fixture(scope="module")
def tree_report(build_dir):
    result, report = scan(build_dir, build_dir["tree"], out="tree")
    assert result.returncode == 4, result.stderr
    return report


def test_tree_is_read_as_the_device_reads_it(tree_report):
    by_path = {i["path"]: i for i in tree_report["items"]}
    assert sorted(by_path) == sorted(
        ["/system/app/Hello/Hello.apk", "/system/priv-app/Legacy/Legacy.apk", "/product/app/Settings/Settings.apk",
         "/product/overlay/Demo.apk", "/vendor/app/Broken/Broken.apk", "/vendor/app/Multi/Multi.apk",
         "/odm/priv-app/Two/Two.apk", f"/apex/{APEX_NAME}/app/MediaHello/MediaHello.apk",
         "/apex/com.example.vendorx/priv-app/Vx/Vx.apk"])
    hello = by_path["/system/app/Hello/Hello.apk"]
    assert (hello["package"], hello["verdict"]) == (HELLO_PACKAGE, "allow")
    assert hello["cert_sha256"] == ORACLE["hello_zh.apk"]["apksigner"]["signers"][0]["cert_sha256"]
    legacy = by_path["/system/priv-app/Legacy/Legacy.apk"]
    assert (legacy["package"], legacy["verdict"], legacy["reasons"][0]["code"]) == (LEGACY_PACKAGE, "block",
                                                                                    "filing_cancelled")
    assert by_path["/vendor/app/Broken/Broken.apk"]["reasons"][0]["code"] == "package_malformed"
    settings = by_path["/product/app/Settings/Settings.apk"]
    assert settings["package"] == corpus.recorded()["settings_apk-debug.apk"]["aapt"]["package"]
    assert settings["reasons"][0]["code"] == "unfiled"
    media = by_path[f"/apex/{APEX_NAME}/app/MediaHello/MediaHello.apk"]
    assert media["apex"] == f"/system/apex/{APEX_NAME}.apex" and media["partition"] == "system"
    assert by_path["/apex/com.example.vendorx/priv-app/Vx/Vx.apk"]["apex"] == f"/vendor/apex/{VENDOR_APEX_FILE}"
    counts = {p["name"]: (p["total"], p["allow"], p["block"]) for p in tree_report["partitions"]}
    assert counts == {"system": (3, 1, 2), "product": (2, 0, 2), "vendor": (3, 0, 3), "odm": (1, 0, 1)}
    assert tree_report["summary"]["total"] == 9 and tree_report["errors"] == []


def test_partition_images_give_the_tree_report(build_dir, tree_report):
    result, report = scan(build_dir, *build_dir["images"], out="images")
    assert result.returncode == 4, result.stderr
    assert essentials(report) == essentials(tree_report)
    formats = {p["name"]: p["format"] for p in report["partitions"]}
    assert formats == {"system": "ext4", "product": "sparse ext4", "vendor": "erofs", "odm": "sparse erofs"}


@pytest.mark.parametrize("form", ["super", "sparse_super"])
def test_super_image_gives_the_tree_report(build_dir, tree_report, form):
    result, report = scan(build_dir, build_dir[form], out=form)
    assert result.returncode == 4, result.stderr
    assert essentials(report) == essentials(tree_report)
    assert {p["name"] for p in report["partitions"]} == {"system", "product", "vendor", "odm"}
    assert "checking APKs" in result.stderr and "partition system" in result.stderr


def _damaged(build_dir, name: str, edit) -> pathlib.Path:
    target = build_dir["root"] / name
    data = bytearray(build_dir["super"].read_bytes())
    target.write_bytes(edit(data))
    return target


def _error_codes(report):
    return {(e["partition"], e["code"]) for e in report["errors"]}


def test_truncated_super_names_the_partition_and_checks_the_rest(build_dir):
    size = build_dir["super"].stat().st_size
    # The second half of the split system partition lies at the end of the image: cut into it.
    target = _damaged(build_dir, "cut.img", lambda data: data[:size - 3 * 1024 * 1024])
    result, report = scan(build_dir, target, out="cut")
    assert result.returncode == 4
    assert ("odm_a", "image_truncated") in _error_codes(report) or ("system_a", "image_truncated") in \
        _error_codes(report)
    assert report["verdict"] == "block" and "UNREADABLE" in result.stdout


def test_broken_metadata_is_an_error_and_a_backup_copy_is_used(build_dir):
    def geometry(data):
        data[4096 + 44] ^= 0xFF
        data[8192 + 44] ^= 0xFF
        return data

    result, report = scan(build_dir, _damaged(build_dir, "geometry.img", geometry), out="geometry")
    assert result.returncode == 4 and _error_codes(report) == {("geometry", "image_super_invalid")}
    assert report["items"] == []

    def primary(data):  # slot 0's primary metadata: liblp falls back to its backup copy
        data[4096 + 8192 + 200] ^= 0xFF
        return data

    result, report = scan(build_dir, _damaged(build_dir, "primary.img", primary), out="primary")
    assert report["errors"] == [] and report["summary"]["total"] == 9


def test_damaged_images_are_errors_not_tracebacks(build_dir):
    root = build_dir["root"]
    garbage = root / "garbage.img"
    garbage.write_bytes(os.urandom(64 * 1024))
    sparse_cut = root / "sparse_cut.img"
    sparse_cut.write_bytes(build_dir["sparse_super"].read_bytes()[:200_000])
    erofs_cut = root / "vendor.img"
    erofs_cut.write_bytes((build_dir["root"] / "images" / "vendor.img").read_bytes()[:8192])
    ext4_broken = root / "product.img"
    raw = bytearray((root / "product.raw").read_bytes())
    raw[4096:8192] = bytes(4096)  # the group descriptors
    ext4_broken.write_bytes(raw)
    apex_broken = root / "apexbroken"
    build.place(apex_broken / "system" / "apex", {"com.example.bad.apex": APKS / "not_a_zip.apk"})
    result, report = scan(build_dir, garbage, sparse_cut, erofs_cut, ext4_broken, apex_broken, out="damaged")
    assert result.returncode == 4
    assert _error_codes(report) == {("garbage", "image_format_unknown"), ("sparse_cut", "image_truncated"),
                                    ("vendor", "image_filesystem_invalid"), ("product", "image_filesystem_invalid"),
                                    ("/system/apex/com.example.bad.apex", "image_apex_invalid")}
    for error in report["errors"]:
        assert error["partition"] in error["message"]


def test_previous_report_diff_and_html(build_dir, tree_report):
    previous = json.loads(json.dumps(tree_report))
    items = previous["items"]
    settings = next(i for i in items if i["path"] == "/product/app/Settings/Settings.apk")
    settings["verdict"], settings["reasons"] = "allow", []            # blocked now, allowed before
    hello = next(i for i in items if i["package"] == HELLO_PACKAGE)
    hello["signers"], hello["cert_sha256"] = ["00" * 32], "00" * 32    # another key before: re-signed
    items.remove(next(i for i in items if i["path"] == "/product/overlay/Demo.apk"))  # new in this build
    items.append({**hello, "package": "com.example.gone", "path": "/system/app/Gone/Gone.apk"})
    last = build_dir["root"] / "last-report.json"
    last.write_text(json.dumps(previous), encoding="utf-8")
    result, report = scan(build_dir, build_dir["super"], out="diff", extra=("--previous", str(last)))
    changes = report["changes"]
    demo = corpus.recorded()["appium-uiautomator2-server-debug-androidTest.apk"]["aapt"]["package"]
    assert [a["package"] for a in changes["added"]] == [demo]
    assert [a["package"] for a in changes["removed"]] == ["com.example.gone"]
    assert [a["package"] for a in changes["resigned"]] == [HELLO_PACKAGE]
    newly = {a["package"] for a in changes["newly_blocked"]}
    assert newly == {demo, corpus.recorded()["settings_apk-debug.apk"]["aapt"]["package"]}
    assert "NEWLY BLOCKED" in result.stdout
    page = (build_dir["root"] / "diff" / "preinstall-report.html").read_text()
    assert "<svg" in page and "Newly blocked (2)" in page and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    not_a_report = build_dir["root"] / "not-a-report.json"
    not_a_report.write_text("[1, 2]")
    result, _ = scan(build_dir, build_dir["tree"], out="bad-previous", extra=("--previous", str(not_a_report)))
    assert result.returncode == 2 and "previous_report_invalid" in result.stderr


@requirements.needs_tools("simg2img")
def test_sparse_expansion_matches_simg2img(build_dir, tmp_path):
    ours, theirs = tmp_path / "ours.img", tmp_path / "simg2img.img"
    sparse.expand(build_dir["sparse_super"], ours, partition="super")
    subprocess.run(["simg2img", str(build_dir["sparse_super"]), str(theirs)], check=True, timeout=120)
    assert ours.read_bytes() == theirs.read_bytes() == build_dir["super"].read_bytes()


def test_exemption_applied_and_shown(build_dir, tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    settings = corpus.recorded()["settings_apk-debug.apk"]
    env = {**os.environ, "GATE_DATABASE_URL": sqlite_url}
    added = subprocess.run([sys.executable, "-m", "gate.cli", "exemptions", "add", "--package",
                            settings["aapt"]["package"], "--cert-sha256",
                            settings["apksigner"]["signers"][0]["cert_sha256"], "--category", "platform_component",
                            "--reason", "settings helper without network service", "--approved-by", "release-qa",
                            "--expires", "30d"], env=env, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    result, report = scan(build_dir, build_dir["super"], out="exempted", database=sqlite_url)
    assert result.returncode == 4, result.stderr
    item = next(i for i in report["items"] if i["path"] == "/product/app/Settings/Settings.apk")
    assert item["verdict"] == "allow" and item["exemption"]["approved_by"] == "release-qa"
    assert report["summary"]["exempted"] == 1
    assert next(p for p in report["partitions"] if p["name"] == "product")["exempted"] == 1
    page = (build_dir["root"] / "exempted" / "preinstall-report.html").read_text()
    assert "exemption: settings helper without network service" in page


@requirements.needs_files("/usr/bin/chromium", how="apt-get install chromium")
def test_html_report_opens_without_a_network(build_dir, tree_report):
    from playwright.sync_api import sync_playwright

    result, report = scan(build_dir, build_dir["tree"], out="html")
    page_path = build_dir["root"] / "html" / "preinstall-report.html"
    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: (requested.append(route.request.url), route.continue_()
                                              if route.request.url.startswith("file://") else route.abort()))
            page.goto(page_path.as_uri())
            rows = page.locator("table").nth(1).locator("tr").count()
            bars = page.locator("svg rect").count()
            blocking = page.locator("h2", has_text="What blocks the release").count()
        finally:
            browser.close()
    assert requested == [page_path.as_uri()]  # nothing but the page itself
    assert rows == 1 + len(report["items"]) and blocking == 1
    assert bars >= len(report["partitions"])
