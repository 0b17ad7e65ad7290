"""SSRF address rules for IPv6 forms that carry an IPv4 address, and host names IDNA cannot encode.

A NAT64 gateway (RFC 6052 well-known prefix 64:ff9b::/96, or the local-use 64:ff9b:1::/48 of RFC 8215) forwards
64:ff9b::a9fe:a9fe to 169.254.169.254; SIIT's IPv4-translated ::ffff:0:a.b.c.d and the deprecated IPv4-compatible
::a.b.c.d embed an IPv4 address the same way. Python's ``is_global`` calls all of them global.
"""

from __future__ import annotations

import ipaddress

import pytest

from gate.services.fetch import FetchPolicy, check_url, is_public
from gate.services.uploads import UploadError

POLICY = FetchPolicy(max_bytes=1 << 20)


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1",        # NAT64 -> 127.0.0.1
    "64:ff9b::a9fe:a9fe",     # NAT64 -> 169.254.169.254 (cloud metadata)
    "64:ff9b::a00:1",         # NAT64 -> 10.0.0.1
    "64:ff9b:1::a00:1",       # local-use NAT64 prefix: whatever it maps to is the operator's own network
    "::7f00:1",               # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",            # IPv4-compatible 169.254.169.254
    "::ffff:0:7f00:1",        # IPv4-translated 127.0.0.1
])
def test_ipv6_forms_of_private_ipv4_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


def test_nat64_of_a_public_ipv4_stays_public():
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))  # 8.8.8.8 through NAT64


def test_resolved_nat64_loopback_is_refused():
    with pytest.raises(UploadError) as info:
        check_url("https://cdn.example.cn/app.apk", POLICY,
                  resolver=lambda host, port: [ipaddress.ip_address("64:ff9b::7f00:1")])
    assert info.value.code == "package_url_forbidden"


@pytest.mark.parametrize("url", ["https://" + "a" * 70 + ".example.cn/app.apk", "https://a..b.cn/app.apk"])
def test_host_idna_cannot_encode_is_invalid_not_a_crash(url):
    with pytest.raises(UploadError) as info:
        check_url(url, POLICY)
    assert info.value.code == "package_url_invalid"
