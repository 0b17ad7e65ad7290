"""IP literals: which ones count, in which canonical form.

A filing (备案) lists the IP addresses an app connects to directly, so the gate reports IPv4 and IPv6 literals in
canonical form (``ipaddress``: no leading zeros, IPv6 compressed and lowercase; ports are never part of it).
Addresses that can never be an internet endpoint are dropped: unspecified (0.0.0.0, ::), loopback, link-local,
multicast and reserved (240.0.0.0/4 — which also removes the netmasks 255.255.255.x that fill network code).
Private (RFC 1918) and documentation ranges are kept: they are in the package, and the decision engine, not the
scanner, decides whether they need a filing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

# A bare IPv6 literal needs this many groups besides the "::" to be believed: "a::b" or "d::" is C++ or Kotlin
# (``std::``, ``Foo::bar``) far more often than an address; real ones look like 2400:3200::1 or 2001:4860:4860::8888.
MIN_BARE_IPV6_GROUPS = 3


@lru_cache(maxsize=16384)
def ip_literal(text: str) -> str | None:
    """``text`` as a canonical IP address that could be an internet endpoint; None otherwise."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if (address.is_unspecified or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved):
        return None
    return str(address)


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
