"""IP literals: which ones count, in which canonical form.

A filing (备案) lists the IP addresses an app connects to directly, so the gate reports IPv4 and IPv6 literals in
canonical form (``ipaddress``: no leading zeros, IPv6 compressed and lowercase; ports are never part of it).
Every address carries its ``scope`` (``ip_scope``): only ``public`` addresses can be listed in a filing, so only they
count for coverage; the others are reported with their class so a reviewer sees them.

Standing alone in string data, addresses that can never be an internet endpoint are dropped: unspecified (0.0.0.0,
::), loopback, link-local, multicast and reserved (240.0.0.0/4 — which also removes the netmasks 255.255.255.x that
fill network code). Inside a URL or with a port (``http://127.0.0.1:8080``) the context says it is an address, so
those are kept too (``any_scope``), except the unspecified address. Private (RFC 1918), shared (RFC 6598) and
documentation ranges are always kept.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

# A bare IPv6 literal needs this many groups besides the "::" to be believed: "a::b" or "d::" is C++ or Kotlin
# (``std::``, ``Foo::bar``) far more often than an address; real ones look like 2400:3200::1 or 2001:4860:4860::8888.
MIN_BARE_IPV6_GROUPS = 3


# Ranges ``ipaddress`` folds into ``is_private`` that we name apart (IANA special-purpose registries).
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_DOCUMENTATION = (ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("198.51.100.0/24"),
                  ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8::/32"))
SCOPES = ("public", "private", "loopback", "link_local", "shared", "documentation", "multicast", "reserved")


@lru_cache(maxsize=16384)
def ip_literal(text: str, any_scope: bool = False) -> str | None:
    """``text`` as a canonical IP address; None when it is not one, or (unless ``any_scope``, for addresses in a URL
    or with a port) when it can never be an internet endpoint."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.is_unspecified:
        return None
    if not any_scope and (address.is_loopback or address.is_link_local or address.is_multicast
                          or address.is_reserved):
        return None
    return str(address)


@lru_cache(maxsize=16384)
def ip_scope(text: str) -> str:
    """The class of a canonical address: ``public`` (the only one a filing can list) or why it is not."""
    address = ipaddress.ip_address(text)
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address.version == 4 and address in _SHARED:
        return "shared"
    if any(address in network for network in _DOCUMENTATION if network.version == address.version):
        return "documentation"
    if address.is_reserved or address.is_unspecified:
        return "reserved"
    if address.is_private:
        return "private"
    return "public" if address.is_global else "reserved"


def bare_ipv6(text: str) -> str | None:
    """An IPv6 literal found outside a URL, with enough groups to tell it from ``Foo::bar``."""
    if sum(1 for group in text.split(":") if group) < MIN_BARE_IPV6_GROUPS:
        return None
    return ip_literal(text)


def canonical_ip(text: str) -> str | None:
    """Normalise an IP as written in a filing: case, brackets, ports and trailing dots removed; None if not an IP."""
    value = text.strip().rstrip(".").lower()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # 203.0.113.7:8080
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
