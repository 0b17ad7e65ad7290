"""Fetching a package from a store's ``package_url`` without becoming a proxy into the gate's own network (SSRF).

Every hop — the first URL and each redirect — is checked the same way before a byte is sent:
1. the scheme is https (http only when the operator allows it);
2. the host name resolves, and *every* address it resolves to is public: not loopback, private, link-local (this
   includes the cloud metadata address 169.254.169.254), multicast, reserved or unspecified — unless an operator's
   allowlist of networks names it;
3. the connection goes to the address that was checked, not to a second resolution an attacker's DNS could answer
   differently (rebinding); for https the certificate is still verified against the host name.
The body streams into a size-capped spool while it is hashed, and must match the ``sha256`` the store announced.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter

from gate import __version__
from gate.platform_hooks.uploads import SpooledPackage, UploadError, spool_stream

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 3
TIMEOUT = (5.0, 60.0)  # connect, read (seconds between bytes)
USER_AGENT = f"filing-gate/{__version__} (package fetch)"


@dataclass(frozen=True)
class FetchPolicy:
    """What the operator allows; the defaults are the safe ones."""

    max_bytes: int
    allow_http: bool = False
    allow_networks: tuple[Network, ...] = field(default=())
    max_redirects: int = MAX_REDIRECTS
    timeout: tuple[float, float] = TIMEOUT


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse a comma-separated allowlist such as ``127.0.0.0/8,::1/128`` (a setting)."""
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())
    except ValueError as exc:
        raise UploadError(f"invalid network in the fetch allowlist: {exc}", code="config_invalid") from None


def _refuse(message: str, code: str = "package_url_forbidden") -> UploadError:
    return UploadError(message, code=code, status=400)


# IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits and reach it: NAT64's well-known
# prefix (RFC 6052), SIIT's IPv4-translated form (RFC 2765) and the deprecated IPv4-compatible form (RFC 4291).
# Python calls them all global, yet 64:ff9b::a9fe:a9fe is 169.254.169.254 behind a NAT64 gateway.
_EMBEDS_IPV4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::ffff:0:0:0/96"),
                ipaddress.IPv6Network("::/96"))
# RFC 8215's local-use NAT64 prefix maps into whatever the operator chose: never public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(address: Address) -> bool:
    """A globally routable unicast address; IPv4 carried inside IPv6 is judged as the IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and any(address in network for network in _EMBEDS_IPV4):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local or address in _LOCAL_NAT64:
            return False
    # is_global excludes private, shared (100.64/10), documentation, loopback, link-local and reserved ranges.
    return address.is_global and not address.is_multicast


def check_address(address: Address, policy: FetchPolicy) -> None:
    if any(address in network for network in policy.allow_networks):
        return
    if not is_public(address):
        raise _refuse(f"package_url resolves to {address}, which is not a public address")


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _refuse(f"cannot resolve {host}: {exc.strerror}", code="package_url_unreachable") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: Address
    pinned_url: str


def check_url(url: str, policy: FetchPolicy, *, resolver: Callable[[str, int], Sequence[Address]] = resolve) -> Target:
    """Steps 1-2 for one hop; returns where to connect."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse(f"package_url is not a valid URL: {url!r}", code="package_url_invalid") from None
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise _refuse(f"package_url must use {' or '.join(allowed)}, not {parts.scheme or 'nothing'}",
                      code="package_url_invalid")
    if not parts.hostname or parts.username or parts.password:
        raise _refuse("package_url needs a host and must not carry credentials", code="package_url_invalid")
    host = parts.hostname
    try:
        host.encode("idna")  # what getaddrinfo does first; an empty or over-long label raises UnicodeError there
    except UnicodeError:
        raise _refuse(f"package_url has an invalid host name: {host!r}", code="package_url_invalid") from None
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolver(host, port)
    if not addresses:
        raise _refuse(f"{host} has no addresses", code="package_url_unreachable")
    for address in addresses:  # every answer, so a mixed public/private answer cannot slip through
        check_address(address, policy)
    address = addresses[0]
    netloc = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    pinned = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(url=url, scheme=parts.scheme, host=host, port=port, address=address, pinned_url=pinned)


class _PinnedHostAdapter(HTTPAdapter):
    """Connects to the checked address while TLS still verifies (and SNI still names) the original host."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def pinned_session(target: Target) -> requests.Session:
    """A session that reaches ``target`` only at its checked address and ignores proxies from the environment
    (a proxy would route around the address check). Send to ``target.pinned_url`` with ``host_header(target)``."""
    session = requests.Session()
    session.trust_env = False
    session.mount(f"{target.scheme}://", _PinnedHostAdapter(target.host))
    return session


def host_header(target: Target) -> str:
    return target.host if target.port in (80, 443) else f"{target.host}:{target.port}"


def fetch_package(url: str, *, expected_sha256: str, policy: FetchPolicy, directory: str | None = None,
                  resolver: Callable[[str, int], Sequence[Address]] = resolve) -> SpooledPackage:
    """Download ``url`` under ``policy`` into a spool whose SHA-256 must equal ``expected_sha256``."""
    expected = expected_sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise UploadError("sha256 must be 64 hexadecimal digits", code="sha256_invalid")
    for _hop in range(policy.max_redirects + 1):
        target = check_url(url, policy, resolver=resolver)
        with pinned_session(target) as session:
            try:
                response = session.get(target.pinned_url, headers={"Host": host_header(target), "User-Agent": USER_AGENT,
                                                "Accept-Encoding": "identity"},
                                       timeout=policy.timeout, stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                raise _refuse(f"cannot fetch package_url: {type(exc).__name__}", code="package_url_unreachable") \
                    from None
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    url = urllib.parse.urljoin(url, location)
                    continue
                if response.status_code != 200:
                    raise _refuse(f"package_url answered HTTP {response.status_code}",
                                  code="package_url_unreachable")
                declared = response.headers.get("Content-Length")
                length = int(declared) if declared and declared.isdigit() else None
                try:
                    spooled = spool_stream(response.raw, limit=policy.max_bytes, directory=directory,
                                           declared_length=length)
                except requests.RequestException:
                    raise _refuse("the download broke off", code="package_url_unreachable") from None
        if not hmac.compare_digest(spooled.sha256, expected):
            spooled.discard()
            raise UploadError(f"the downloaded package has SHA-256 {spooled.sha256}, not the announced {expected}",
                              code="sha256_mismatch", status=422)
        return spooled
    raise _refuse(f"package_url redirects more than {policy.max_redirects} times", code="package_url_redirects")
