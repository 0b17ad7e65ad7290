"""The store upload webhook and the developer check API over real HTTP on loopback: decisions, idempotency,
authentication, roles, signatures, size caps and malformed bodies — and nothing kept when a request is refused."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse

import requests

from fixtures import corpus
from gate.services.signatures import HEADER, sign
from tests.integration.http_support import (
    APKS,
    HELLO,
    HELLO_LICENCE,
    HELLO_PACKAGE,
    HELLO_SHA256,
    count,
    multipart,
    spool_files,
    start_gate,
)


def test_small_upload_is_decided_in_the_response(gate):
    r = gate.upload(metadata={"store_app_id": "A1", "developer_entity": "门禁示例科技有限公司"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "allow", body["reasons"]
    assert body["check_id"].startswith("chk_")
    assert body["filing"]["service_licence"] == HELLO_LICENCE
    assert body["package"]["package"] == HELLO_PACKAGE
    assert body["package"]["signers"] == [HELLO_SHA256]
    assert body["path"] == "hello_zh.apk"
    assert r.headers["X-Request-Id"]
    assert spool_files(gate) == []  # the sync path leaves nothing behind
    assert count(gate.engine, "service_check") == 1


def test_same_package_gives_same_check_id(gate):
    first = gate.upload(metadata={"store_app_id": "A1"}).json()
    again = gate.upload(metadata={"store_app_id": "A1"}).json()
    other_meta = gate.upload(metadata={"store_app_id": "A2"}).json()
    assert first["check_id"] == again["check_id"]
    assert first["verdict"] == again["verdict"] == "allow"
    assert other_meta["check_id"] != first["check_id"]
    assert count(gate.engine, "service_check") == 2


def test_blocks_cancelled_unfiled_and_malformed(gate):
    assert gate.upload(APKS / "legacy_v1.apk").json()["reasons"][0]["code"] == "filing_cancelled"
    assert gate.upload(APKS / "multidex_native.apk").json()["reasons"][0]["code"] == "unfiled"
    malformed = gate.upload(APKS / "not_a_zip.apk").json()
    assert malformed["verdict"] == "block"
    assert malformed["reasons"][0]["code"] == "package_malformed"


def test_check_is_readable_by_its_owner_only(gate):
    check_id = gate.upload().json()["check_id"]
    r = requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("store"))
    assert r.status_code == 200 and r.json()["verdict"] == "allow" and r.json()["status"] == "done"
    r = requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("developer"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "check_not_found"
    assert requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("admin")).status_code == 200


def test_developer_check_api(gate):
    body, content_type = multipart(HELLO)
    r = requests.post(f"{gate.url}/api/v1/checks", data=body,
                      headers=gate.headers("developer", **{"Content-Type": content_type}))
    assert r.status_code == 200, r.text
    check_id = r.json()["check_id"]
    got = requests.get(f"{gate.url}/api/v1/checks/{check_id}", headers=gate.headers("developer")).json()
    assert got["verdict"] == "allow" and got["check_id"] == check_id


# --- refusals: each answers its status and code, and leaves no check row and no spool --------------------------

def _nothing_kept(gate):
    assert count(gate.engine, "service_check") == 0
    assert count(gate.engine, "gate_check") == 0
    assert spool_files(gate) == []


def test_missing_and_wrong_api_keys(gate):
    body, content_type = multipart(HELLO)
    url = f"{gate.url}/api/v1/hooks/store/upload"
    cases = [({}, "auth_missing"), ({"Authorization": "Basic abc"}, "auth_missing"),
             ({"Authorization": "Bearer gk_0000000000000000_nope"}, "auth_invalid"),
             ({"Authorization": gate.headers("store")["Authorization"] + "x"}, "auth_invalid")]
    for headers, code in cases:
        r = requests.post(url, data=body, headers={**headers, "Content-Type": content_type,
                                                   HEADER: sign(body, gate.clients["store"].webhook_secret)})
        assert r.status_code == 401, headers
        assert r.json()["error"]["code"] == code
    _nothing_kept(gate)


def test_roles(gate):
    body, content_type = multipart(HELLO)
    for role in ("oem", "developer"):
        r = requests.post(f"{gate.url}/api/v1/hooks/store/upload", data=body,
                          headers=gate.signed(role, body, content_type))
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"
        assert r.json()["error"]["message"].endswith("it needs the role store or admin")  # every role that works
    for role in ("store", "oem"):
        r = requests.post(f"{gate.url}/api/v1/checks", data=body,
                          headers=gate.headers(role, **{"Content-Type": content_type}))
        assert r.status_code == 403
    r = requests.post(f"{gate.url}/api/v1/preinstall/checks", json=[], headers=gate.headers("developer"))
    assert r.status_code == 403
    r = requests.get(f"{gate.url}/api/v1/badge/{HELLO_PACKAGE}", headers=gate.headers("oem"))
    assert r.status_code == 403
    _nothing_kept(gate)
    # admin may call everything
    assert gate.upload(role="admin").status_code == 200


def test_bad_signatures(gate):
    body, content_type = multipart(HELLO)
    secret = gate.clients["store"].webhook_secret
    stale = sign(body, secret, timestamp=int(time.time()) - 301)
    other = sign(body, gate.clients["oem"].webhook_secret)
    tampered = sign(body + b"x", secret)
    cases = [(None, "signature_missing"), ("t=abc,v1=zz", "signature_malformed"), (stale, "signature_stale"),
             (other, "signature_mismatch"), (tampered, "signature_mismatch")]
    for header, code in cases:
        headers = gate.headers("store", **{"Content-Type": content_type})
        if header is not None:
            headers[HEADER] = header
        r = requests.post(f"{gate.url}/api/v1/hooks/store/upload", data=body, headers=headers)
        assert r.status_code == 401, code
        assert r.json()["error"]["code"] == code
    _nothing_kept(gate)


def test_oversized_content_length_refused_before_the_body_is_read(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, max_upload_bytes=4096)
    try:
        parts = urllib.parse.urlsplit(g.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        # Announce 50 MB and send none of it: the answer must come without the body.
        conn.putrequest("POST", "/api/v1/hooks/store/upload")
        for k, v in g.signed("store", b"", "multipart/form-data; boundary=x").items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(50 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "upload_too_large"
        conn.close()
        _nothing_kept(g)
    finally:
        server.shutdown()


def test_oversized_chunked_upload_is_capped_while_streaming(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, max_upload_bytes=4096)
    try:
        body, content_type = multipart(HELLO)  # 12 KB package, over the 4 KB cap; no Content-Length

        def chunks():
            for i in range(0, len(body), 1000):
                yield body[i:i + 1000]

        r = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=chunks(),
                          headers=g.signed("store", body, content_type))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "upload_too_large"
        _nothing_kept(g)
    finally:
        server.shutdown()


def test_malformed_bodies(gate):
    url = f"{gate.url}/api/v1/hooks/store/upload"
    broken = b"--x\r\nContent-Disposition: form-data; name=\"package\"; filename=\"a.apk\"\r\n\r\nPK"  # no end
    r = requests.post(url, data=broken, headers=gate.signed("store", broken, "multipart/form-data; boundary=x"))
    assert r.status_code == 400 and r.json()["error"]["code"] in ("multipart_malformed", "package_missing")
    no_package, ct = multipart(HELLO)
    no_package = no_package.replace(b'name="package"', b'name="other"')
    r = requests.post(url, data=no_package, headers=gate.signed("store", no_package, ct))
    assert r.status_code == 400 and r.json()["error"]["code"] == "package_missing"
    body, ct = multipart(HELLO, metadata=None)
    bad_meta = body.replace(b'name="package"', b'name="metadata"\r\n\r\n{not json\r\n--' +
                            ct.split("boundary=")[1].encode() + b'\r\nContent-Disposition: form-data; name="package"',
                            1)
    r = requests.post(url, data=bad_meta, headers=gate.signed("store", bad_meta, ct))
    assert r.status_code == 400 and r.json()["error"]["code"] == "metadata_invalid", r.text
    bad_json = b'{"package_url": '
    r = requests.post(url, data=bad_json, headers=gate.signed("store", bad_json, "application/json"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_invalid"
    r = requests.post(url, data=b"x", headers=gate.signed("store", b"x", "text/plain"))
    assert r.status_code == 415 and r.json()["error"]["code"] == "content_type_unsupported"
    _nothing_kept(gate)


def test_unknown_route_and_method_answer_json(gate):
    r = requests.get(f"{gate.url}/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.get(f"{gate.url}/api/v1/hooks/store/upload")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_request_id_travels(gate):
    r = requests.get(f"{gate.url}/healthz", headers={"X-Request-Id": "store-abc.123"})
    assert r.json() == {"status": "ok", "database": "ok", "trust_roots": []}
    assert r.headers["X-Request-Id"] == "store-abc.123"
    for forged in ('a"b <script>', "x" * 200):
        r = requests.get(f"{gate.url}/healthz", headers={"X-Request-Id": forged})
        assert r.headers["X-Request-Id"] != forged and len(r.headers["X-Request-Id"]) == 32


# --- real sizes: the cap and one byte more, on every upload route ------------------------------------------------

def _raw_post(g, path: str, body: bytes, headers: dict) -> tuple[int, str, bytes]:
    """POST with http.client; the answer may come before the whole body was sent (413 on the announced length)."""
    parts = urllib.parse.urlsplit(g.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("POST", path)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        try:
            conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before reading: the answer is already on its way
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def test_package_of_exactly_the_cap_passes_every_route_and_one_byte_more_is_refused(tmp_path, corpus_apk):
    apk = corpus_apk("settings_apk-debug.apk")  # 3 MB: far above werkzeug's in-memory form limit
    size = apk.stat().st_size
    body, content_type = multipart(apk)
    for cap, status in ((size, 200), (size - 1, 413)):
        (tmp_path / str(cap)).mkdir()
        g, server = start_gate(tmp_path / str(cap), f"sqlite:///{tmp_path / str(cap) / 'gate.db'}",
                               max_upload_bytes=cap)
        try:
            r = g.upload(apk)
            assert r.status_code == status, r.text
            chunked = requests.post(f"{g.url}/api/v1/hooks/store/upload", data=iter([body[i:i + 65536] for i in
                                                                                   range(0, len(body), 65536)]),
                                    headers=g.signed("store", body, content_type), timeout=30)
            assert chunked.status_code == status, chunked.text
            developer = requests.post(f"{g.url}/api/v1/checks", data=body, timeout=30,
                                      headers=g.headers("developer", **{"Content-Type": content_type}))
            assert developer.status_code == status, developer.text
            page_status, page_type, page = _raw_post(g, "/precheck", body, {"Content-Type": content_type,
                                                                            "Content-Length": str(len(body))})
            assert (page_status, page_type.split(";")[0]) == (status, "text/html")
            if status == 200:
                assert r.json()["package"]["package"] == corpus.recorded()[apk.name]["aapt"]["package"]
                assert chunked.json()["check_id"] == r.json()["check_id"]
                assert developer.json()["package"]["package"] == r.json()["package"]["package"]
            else:
                for answer in (r, chunked, developer):
                    assert answer.json()["error"]["code"] == "upload_too_large"
                assert "安装包超过大小上限".encode() in page
                _nothing_kept(g)
        finally:
            server.shutdown()
            g.engine.dispose()


def test_precheck_page_shows_every_refusal_as_a_page_in_its_language(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url, max_upload_bytes=8192)
    try:
        url = f"{g.url}/precheck"
        body, content_type = multipart(HELLO)  # 12 KB, over the 8 KB cap
        cases = [
            # too large, announced (answered before the body is read) and counted while streaming (chunked)
            ("", {"Content-Type": content_type, "Content-Length": str(50 * 1024 * 1024)}, b"", 413,
             "安装包超过大小上限", "upload_too_large"),
            ("?lang=en", {"Content-Type": content_type, "Content-Length": str(50 * 1024 * 1024)}, b"", 413,
             "The upload was refused", "upload_too_large"),
            ("", {"Content-Type": content_type, "Content-Length": str(len(body))}, body, 413,
             "安装包超过大小上限", "upload_too_large"),
            # unreadable form, no file, not a form at all
            ("", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\nabcd", 400,
             "格式错误", "multipart_malformed"),
            ("?lang=en", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--\r", 400,
             "The upload was refused", "package_missing"),
            ("", {"Content-Type": "text/plain"}, b"x", 400, "请选择", "package_missing"),
        ]
        # the certificate form of the same page: a broken or oversized form is a page too
        cases += [
            ("/certificate", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\nabcd", 400,
             "格式错误", "multipart_malformed"),
            ("/certificate?lang=en", {"Content-Type": content_type, "Content-Length": str(50 * 1024 * 1024)}, b"",
             413, "The upload was refused", "upload_too_large"),
        ]
        for query, headers, data, status, text, code in cases:
            headers.setdefault("Content-Length", str(len(data)))
            got_status, got_type, page = _raw_post(g, f"/precheck{query}", data, headers)
            assert (got_status, got_type.split(";")[0]) == (status, "text/html"), (query, headers, page[:300])
            assert text.encode() in page and code.encode() in page, page.decode()
            assert (b'lang="en"' if "lang=en" in query else b'lang="zh-CN"') in page
        # not a package (and unreadable packages): a decision on the page, in its language
        for name, lang in (("not_a_zip.apk", ""), ("truncated_half.apk", "?lang=en")):
            small, ct = multipart(APKS / name)
            r = requests.post(url + lang, data=small, headers={"Content-Type": ct}, timeout=30)
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
            assert ("拦截" if not lang else "block") in r.text and "package_malformed" in r.text
        _nothing_kept(g)
    finally:
        server.shutdown()
        g.engine.dispose()
