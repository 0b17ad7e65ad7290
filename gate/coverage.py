"""Are the domains and IPs a package uses covered by its filing (备案)? Pure: facts and filed names in, answer out.

A filing lists domains and IPs; each host the app contains must be covered by one of them. The rules:

1. A host is covered when the host itself, or a parent domain of it down to its registrable domain, is filed:
   ``api.shop.example.com.cn`` is covered by ``shop.example.com.cn`` or ``example.com.cn``, never by ``com.cn``
   (a public suffix is not a domain anyone can file).
2. An IP is covered when it is filed; both sides are normalised (case, brackets, ports, trailing dots, IPv6
   compression), so ``2001:DB8:0:0::1`` covers ``2001:db8::1`` and ``203.0.113.7:8080`` covers ``203.0.113.7``.
3. Hosts of well-known third-party SDKs (``HostFact.third_party``) are reported apart and never counted as
   uncovered: the SDK vendor files them, the app developer cannot.
4. Only contact candidates count: ``reference`` hosts and IPs (licence texts, XML identifiers, documentation links,
   see docs/network.md) are listed apart, and so are IPs whose ``scope`` is not ``public`` (private, loopback,
   documentation … ranges no filing can list). Facts stored before scopes existed (``scope`` None) count as before.

Filed domains are normalised the way people write them in forms: case, surrounding spaces, a scheme, a path, a port,
a trailing dot and a leading ``*.`` are dropped; internationalised names are converted to their ``xn--`` form.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate.extract.facts import HostFact, IpFact, NetworkFacts
from gate.extract.network.addresses import canonical_ip
from gate.records import record


@record
class Coverage:
    """What the filing does not cover (first-party), and the third-party hosts reported alongside."""

    uncovered_hosts: tuple[HostFact, ...] = ()
    uncovered_ips: tuple[IpFact, ...] = ()
    third_party_hosts: tuple[HostFact, ...] = ()
    reference_hosts: tuple[HostFact, ...] = ()
    unfileable_ips: tuple[IpFact, ...] = ()  # references, and addresses outside public space

    def __init__(self, uncovered_hosts: tuple[HostFact, ...] = (), uncovered_ips: tuple[IpFact, ...] = (),
                 third_party_hosts: tuple[HostFact, ...] = (), reference_hosts: tuple[HostFact, ...] = (),
                 unfileable_ips: tuple[IpFact, ...] = ()) -> None:
        object.__setattr__(self, "__dict__", {
            "uncovered_hosts": uncovered_hosts, "uncovered_ips": uncovered_ips, "third_party_hosts": third_party_hosts,
            "reference_hosts": reference_hosts, "unfileable_ips": unfileable_ips
        })

    @property
    def complete(self) -> bool:
        """True when every first-party host and every IP is filed."""
        return not self.uncovered_hosts and not self.uncovered_ips


def check_coverage(network: NetworkFacts, filed: Iterable[str]) -> Coverage:
    domains, ips = split_filed(filed)
    uncovered_hosts, third_party, references = [], [], []
    for host in network.hosts:
        if host.kind == "reference":
            references.append(host)
        elif host.third_party:
            third_party.append(host)
        elif not host_covered(host.host, host.registrable_domain, domains):
            uncovered_hosts.append(host)
    fileable = tuple(ip for ip in network.ips if ip_counts(ip))
    uncovered_ips = tuple(ip for ip in fileable if (canonical_ip(ip.ip) or ip.ip) not in ips)
    return Coverage(uncovered_hosts=tuple(uncovered_hosts), uncovered_ips=uncovered_ips,
                    third_party_hosts=tuple(third_party), reference_hosts=tuple(references),
                    unfileable_ips=tuple(ip for ip in network.ips if not ip_counts(ip)))


def ip_counts(ip: IpFact) -> bool:
    """Rule 4 for IPs: a contact candidate in public address space (or stored before scopes were recorded)."""
    return ip.kind != "reference" and ip.scope in (None, "public")


def host_covered(host: str, registrable: str | None, domains: set[str]) -> bool:
    """Rule 1: the host or one of its parents, down to (and including) the registrable domain, is filed."""
    name = normalise_domain(host) or host
    floor = registrable or name  # without a registrable domain only the exact name can cover it
    while True:
        if name in domains:
            return True
        if name == floor or "." not in name:
            return False
        name = name.split(".", 1)[1]


def split_filed(filed: Iterable[str]) -> tuple[set[str], set[str]]:
    """Filed entries as (normalised domains, canonical IPs); entries that are neither are ignored."""
    domains: set[str] = set()
    ips: set[str] = set()
    for entry in filed:
        if not isinstance(entry, str) or not entry.strip():
            continue
        ip = canonical_ip(_strip_url(entry))
        if ip is not None:
            ips.add(ip)
            continue
        domain = normalise_domain(entry)
        if domain:
            domains.add(domain)
    return domains, ips


def normalise_domain(text: str) -> str | None:
    """A filed or found domain in comparable form (lowercase ASCII/IDNA, no scheme, port, path or trailing dot)."""
    value = _strip_url(text).partition(":")[0]  # example.com:8080
    value = value.strip().rstrip(".").lower()
    if value.startswith("*."):
        value = value[2:]
    if not value:
        return None
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return value


def _strip_url(text: str) -> str:
    value = text.strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    return value.split("/", 1)[0].split("?", 1)[0]
