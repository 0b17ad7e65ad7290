"""package_url fetching against a real HTTP server on loopback: SSRF rules, caps, digests, redirects."""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import threading

import pytest

from gate.services.fetch import FetchPolicy, check_url, fetch_package, parse_networks
from gate.services.uploads import UploadError

BODY = b"PK\x03\x04" + b"package bytes " * 1000
DIGEST = hashlib.sha256(BODY).hexdigest()
LOOPBACK = parse_networks("127.0.0.0/8")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/pkg.apk":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/chunked.apk":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/redirect/"):].replace("__", "://", 1))
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def policy(**kw) -> FetchPolicy:
    base = dict(max_bytes=1 << 20, allow_http=True, allow_networks=LOOPBACK)
    base.update(kw)
    return FetchPolicy(**base)


def code_of(fn) -> str:
    with pytest.raises(UploadError) as info:
        fn()
    return info.value.code


def test_fetches_and_hashes(server, tmp_path):
    spooled = fetch_package(f"{server}/pkg.apk", expected_sha256=DIGEST.upper(), policy=policy(),
                            directory=str(tmp_path))
    assert (spooled.size, spooled.sha256) == (len(BODY), DIGEST)
    assert open(spooled.path, "rb").read() == BODY


def test_digest_mismatch_is_refused_and_nothing_stays(server, tmp_path):
    assert code_of(lambda: fetch_package(f"{server}/pkg.apk", expected_sha256="0" * 64, policy=policy(),
                                         directory=str(tmp_path))) == "sha256_mismatch"
    assert list(tmp_path.iterdir()) == []


def test_loopback_needs_the_allowlist(server):
    assert code_of(lambda: fetch_package(f"{server}/pkg.apk", expected_sha256=DIGEST,
                                         policy=policy(allow_networks=()))) == "package_url_forbidden"


def test_http_needs_to_be_allowed(server):
    assert code_of(lambda: fetch_package(f"{server}/pkg.apk", expected_sha256=DIGEST,
                                         policy=policy(allow_http=False))) == "package_url_invalid"


@pytest.mark.parametrize("size_limit,path", [(1000, "/pkg.apk"), (1000, "/chunked.apk")])
def test_size_cap_while_streaming(server, tmp_path, size_limit, path):
    assert code_of(lambda: fetch_package(f"{server}{path}", expected_sha256=DIGEST,
                                         policy=policy(max_bytes=size_limit), directory=str(tmp_path))) \
        == "upload_too_large"
    assert list(tmp_path.iterdir()) == []


def test_redirect_to_metadata_address_is_refused(server):
    url = f"{server}/redirect/http__169.254.169.254/latest/meta-data/"
    assert code_of(lambda: fetch_package(url, expected_sha256=DIGEST, policy=policy())) == "package_url_forbidden"


def test_redirect_within_allowed_hosts_is_followed(server):
    url = f"{server}/redirect/{server.replace('://', '__')}/pkg.apk"
    assert fetch_package(url, expected_sha256=DIGEST, policy=policy()).sha256 == DIGEST


def test_redirect_loops_stop(server):
    assert code_of(lambda: fetch_package(f"{server}/loop", expected_sha256=DIGEST, policy=policy())) \
        == "package_url_redirects"


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
    "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "2002:7f00:1::1", "224.0.0.1",
])
def test_non_public_answers_are_refused(address):
    resolver = lambda host, port: [ipaddress.ip_address(address)]  # noqa: E731 - a DNS answer under test control
    assert code_of(lambda: check_url("https://cdn.example.com/a.apk", FetchPolicy(max_bytes=1), resolver=resolver)) \
        == "package_url_forbidden"


def test_a_mixed_public_and_private_answer_is_refused():
    resolver = lambda host, port: [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")]  # noqa
    assert code_of(lambda: check_url("https://cdn.example.com/a.apk", FetchPolicy(max_bytes=1), resolver=resolver)) \
        == "package_url_forbidden"


def test_public_answer_is_pinned():
    resolver = lambda host, port: [ipaddress.ip_address("93.184.216.34")]  # noqa: E731
    target = check_url("https://cdn.example.com/x/a.apk?sig=1", FetchPolicy(max_bytes=1), resolver=resolver)
    assert target.pinned_url == "https://93.184.216.34:443/x/a.apk?sig=1" and target.host == "cdn.example.com"


@pytest.mark.parametrize("url", ["ftp://x.example/a.apk", "https://user:pw@x.example/a", "https:///nohost", "nonsense"])
def test_malformed_urls(url):
    assert code_of(lambda: check_url(url, FetchPolicy(max_bytes=1))) == "package_url_invalid"


def test_bad_sha256_argument():
    assert code_of(lambda: fetch_package("https://x.example/a", expected_sha256="abc",
                                         policy=FetchPolicy(max_bytes=1))) == "sha256_invalid"
