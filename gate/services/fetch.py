"""Fetching a package from a store's ``package_url`` without becoming a proxy into the gate's own network (SSRF).

Every hop — the first URL and each redirect — is checked the same way before a byte is sent:
1. the scheme is https (http only when the operator allows it);
2. the host name resolves, and *every* address it resolves to is public: not loopback, private, link-local (this
   includes the cloud metadata address 169.254.169.254), multicast, reserved or unspecified — unless an operator's
   allowlist of networks names it;
3. the connection goes to the address that was checked, not to a second resolution an attacker's DNS could answer
   differently (rebinding); for https the certificate is still verified against the host name.
The body streams into a size-capped spool while it is hashed, and must match the ``sha256`` the store announced.

Host names are written in IDNA (``xn--``) form before they are resolved, checked or sent: UTS #46 mapping turns
full-width digits and the ideographic full stop ``。`` into their ASCII forms, so the name that is checked is the
name that is connected to and written in the Host header (an IPv6 literal in brackets). A name that does not map is
refused as ``package_url_invalid``.

Time: a download has a total deadline and, after a grace period, a minimum average rate: a server that trickles
bytes (one every few seconds never trips a read timeout) would otherwise hold a web worker until it is killed. Every
way a download can break (short body, bad chunking, a malformed length) answers ``package_url_unreachable``.
"""

from __future__ import annotations

import hmac
import http.client
import ipaddress
import socket
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import idna
import requests
import urllib3.exceptions
import urllib3.response
from requests.adapters import HTTPAdapter

from gate import __version__
from gate.config import Settings
from gate.services.uploads import SpooledPackage, UploadError, spool_stream

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 3
TIMEOUT = (5.0, 60.0)  # connect, read (seconds between bytes)
DEADLINE_SECONDS = 300.0  # a whole download (GATE_FETCH_DEADLINE_SECONDS)
MIN_BYTES_PER_SECOND = 16384  # average, once RATE_GRACE_SECONDS have passed (GATE_FETCH_MIN_BYTES_PER_SECOND)
RATE_GRACE_SECONDS = 10.0  # slow starts (TLS, a cold cache at the store's CDN) are not judged
READ_BYTES = 1 << 16
USER_AGENT = f"filing-gate/{__version__} (package fetch)"


@dataclass(frozen=True)
class FetchPolicy:
    """What the operator allows; the defaults are the safe ones."""

    max_bytes: int
    allow_http: bool = False
    allow_networks: tuple[Network, ...] = field(default=())
    max_redirects: int = MAX_REDIRECTS
    timeout: tuple[float, float] = TIMEOUT
    deadline: float = DEADLINE_SECONDS
    min_rate: int = MIN_BYTES_PER_SECOND
    rate_grace: float = RATE_GRACE_SECONDS


def policy_from_settings(settings: Settings) -> FetchPolicy:
    """The one FetchPolicy of a gate's settings (package_url fetches and callbacks alike)."""
    return FetchPolicy(max_bytes=settings.max_upload_bytes, allow_http=settings.fetch_allow_http,
                       allow_networks=parse_networks(settings.fetch_allow_networks),
                       deadline=settings.fetch_deadline_seconds, min_rate=settings.fetch_min_bytes_per_second)


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
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: Address
    pinned_url: str


def ascii_host(host: str) -> str:
    """The host as it is resolved, checked and sent: an IP literal as written, a name in IDNA (xn--) form after
    UTS #46 mapping (full-width digits, ``。``, upper case); refused when it does not map."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        mapped = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _refuse(f"package_url has an invalid host name: {host!r}", code="package_url_invalid") from None
    try:  # full-width digits map to an IPv4 literal: keep its canonical form
        return str(ipaddress.ip_address(mapped))
    except ValueError:
        return mapped


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
    host = ascii_host(parts.hostname)
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


LOCAL_TESTING_HINT = ("to deliver to a test server on this machine, the gate's operator sets GATE_FETCH_ALLOW_HTTP=1 and "
                      "GATE_FETCH_ALLOW_NETWORKS=127.0.0.0/8 (docs/api.md)")


def check_callback_url(url: str, policy: FetchPolicy, *,
                       resolver: Callable[[str, int], Sequence[Address]] = resolve) -> Target:
    """A callback URL where it is set (``gate clients create``, the console, an upload's metadata): the gate will
    POST there, so the rules of ``check_url`` apply, refused with their own code (``callback_url_forbidden``) and a
    message that names the callback URL — not at the first delivery, under package_url's name."""
    try:
        return check_url(url, policy, resolver=resolver)
    except UploadError as exc:
        message = exc.message.replace("package_url", "callback URL")
        raise UploadError(f"{message}; {LOCAL_TESTING_HINT}", code="callback_url_forbidden") from None


class _PinnedHostAdapter(HTTPAdapter):
    """Connects to the checked address while TLS still verifies (and SNI still names) the original host."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
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
    host = f"[{target.host}]" if ":" in target.host else target.host  # an IPv6 literal (RFC 7230 uri-host)
    return host if target.port in (80, 443) else f"{host}:{target.port}"


class DownloadTooSlow(OSError):
    """Raised inside the spool's copy loop (an OSError, so the spool is discarded like any broken read)."""


class PacedReader:
    """A response body read under a total deadline and a minimum average rate (module docstring, "Time")."""

    def __init__(self, raw: urllib3.response.BaseHTTPResponse, policy: FetchPolicy, started: float) -> None:
        self.raw, self.policy, self.started, self.received = raw, policy, started, 0

    def read(self, size: int = READ_BYTES) -> bytes:
        elapsed = time.monotonic() - self.started
        if elapsed > self.policy.deadline:
            raise DownloadTooSlow(f"the download took longer than {self.policy.deadline:g} s")
        if elapsed > self.policy.rate_grace and self.received < self.policy.min_rate * elapsed:
            raise DownloadTooSlow(f"the download is slower than {self.policy.min_rate} bytes per second")
        data = self.raw.read1(min(size, READ_BYTES))  # what has arrived: a trickle is measured as it comes
        self.received += len(data)
        return data


# A body that breaks off, bad chunk framing, a length that is not a number: the download failed, nothing else.
BROKEN_DOWNLOAD = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
                   ValueError)


def _declared_length(value: str | None) -> int | None:
    # str.isdigit() accepts "²" and other digits int() refuses: only ASCII digits are a length (RFC 9110 8.6).
    value = (value or "").strip()
    return int(value) if value and value.isascii() and value.isdigit() else None


def expected_digest(sha256: str) -> str:
    """The announced SHA-256 in its one form (lowercase hex), or ``sha256_invalid``."""
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise UploadError("sha256 must be 64 hexadecimal digits", code="sha256_invalid")
    return expected


def fetch_package(url: str, *, expected_sha256: str, policy: FetchPolicy, directory: str | None = None,
                  resolver: Callable[[str, int], Sequence[Address]] = resolve) -> SpooledPackage:
    """Download ``url`` under ``policy`` into a spool whose SHA-256 must equal ``expected_sha256``."""
    expected = expected_digest(expected_sha256)
    started = time.monotonic()
    for _hop in range(policy.max_redirects + 1):
        target = check_url(url, policy, resolver=resolver)
        remaining = policy.deadline - (time.monotonic() - started)
        timeout = (min(policy.timeout[0], max(remaining, 0.1)), min(policy.timeout[1], max(remaining, 0.1)))
        with pinned_session(target) as session:
            try:
                response = session.get(target.pinned_url, headers={
                    "Host": host_header(target), "User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                    timeout=timeout, stream=True, allow_redirects=False)
            except BROKEN_DOWNLOAD as exc:
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
                if declared is not None and _declared_length(declared) is None:
                    raise _refuse(f"package_url answered an invalid Content-Length: {declared!r}",
                                  code="package_url_unreachable")
                try:
                    spooled = spool_stream(PacedReader(response.raw, policy, started), limit=policy.max_bytes,
                                           directory=directory, declared_length=_declared_length(declared))
                except BROKEN_DOWNLOAD as exc:
                    message = str(exc) if isinstance(exc, DownloadTooSlow) else \
                        f"the download broke off ({type(exc).__name__})"
                    raise _refuse(message, code="package_url_unreachable") from None
        if not hmac.compare_digest(spooled.sha256, expected):
            spooled.discard()
            raise UploadError(f"the downloaded package has SHA-256 {spooled.sha256}, not the announced {expected}",
                              code="sha256_mismatch", status=422)
        return spooled
    raise _refuse(f"package_url redirects more than {policy.max_redirects} times", code="package_url_redirects")
