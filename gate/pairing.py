"""The unpacked build beside a packed one: do they pair, and which facts does the decision read.

Stores ask developers of packed apps (加固) for the build before packing: the packer encrypts the code, so only the
unpacked build shows the endpoints the app contacts. Pure: facts in, facts out.

Rules:
  1. They pair when the unpacked build is readable and has the same package name, the same versionCode and the
     same signer certificates (by SHA-256) as the packed package, and its own signature verifies. Packers re-sign
     with the developer's key, so a genuine pair has one signer set; anything else is another app, another
     version or another developer's build, and its facts must not stand for this package (``unpacked_mismatch``).
  2. When they pair, identity and signature stay the packed package's (that is what devices install); the network
     facts are the unpacked build's, each occurrence marked ``"from": "unpacked"``, together with whatever the
     packed package itself shows (a stub's own endpoints are contacted too, and nothing the shipped package
     reveals is ever dropped for a cleaner companion). The filing numbers found are merged the same way.
  3. Either way the facts carry ``pairing`` (both digests, what differs), and the decision reads it.
"""

from __future__ import annotations

import dataclasses

from gate.extract.facts import Evidence, HostFact, IpFact, NetworkFacts, PackageFacts, PairingFacts

UNPACKED = "unpacked"
SOURCE_PREFIX = "unpacked:"  # entry names of the unpacked build, as the facts show them


def differences(packed: PackageFacts, unpacked: PackageFacts) -> list[dict]:
    """Rule 1: what keeps the two from pairing, as ``{"field", "packed", "unpacked"}`` items (empty: they pair)."""
    found: list[dict] = []
    if unpacked.problems:
        found.append({"field": "readable", "packed": "readable",
                      "unpacked": [p.code for p in unpacked.problems]})
        return found
    if packed.package != unpacked.package:
        found.append({"field": "package", "packed": packed.package, "unpacked": unpacked.package})
    if packed.version_code != unpacked.version_code:
        found.append({"field": "version_code", "packed": packed.version_code, "unpacked": unpacked.version_code})
    if not unpacked.signature.verified:
        found.append({"field": "signature", "packed": "verified" if packed.signature.verified else "not verified",
                      "unpacked": "not verified"})
    mine = sorted(s.cert_sha256 for s in packed.signature.signers)
    theirs = sorted(s.cert_sha256 for s in unpacked.signature.signers)
    if mine != theirs:
        found.append({"field": "signers", "packed": mine, "unpacked": theirs})
    return found


def pair(packed: PackageFacts, unpacked: PackageFacts) -> PackageFacts:
    """The facts the decision reads for a packed package checked with its unpacked build (rules 1-3)."""
    different = differences(packed, unpacked)
    pairing = PairingFacts(
        paired=not different, unpacked_sha256=unpacked.sha256, unpacked_path=unpacked.path,
        differences=tuple(different), unpacked_package=unpacked.package,
        unpacked_version_code=unpacked.version_code,
        unpacked_signers=tuple(s.cert_sha256 for s in unpacked.signature.signers),
        unpacked_protection=unpacked.protection)
    if different:
        return dataclasses.replace(packed, pairing=pairing)
    numbers = packed.filing_numbers
    if unpacked.filing_numbers is not None:
        merged = {n.number: n for n in unpacked.filing_numbers}
        merged.update({n.number: n for n in packed.filing_numbers or ()})
        numbers = tuple(merged[k] for k in sorted(merged))
    return dataclasses.replace(packed, network=merge_network(packed.network, unpacked.network), pairing=pairing,
                               filing_numbers=numbers)


def _marked(evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    return tuple(Evidence(SOURCE_PREFIX + e.source, e.how, e.excerpt, e.reference, UNPACKED) for e in evidence)


def merge_network(packed: NetworkFacts, unpacked: NetworkFacts) -> NetworkFacts:
    """Rule 2: the unpacked build's hosts and IPs (marked) with the packed package's own, one entry per value; a
    value is a contact when either build contacts it."""
    hosts: dict[str, HostFact] = {h.host: h for h in packed.hosts}
    for h in unpacked.hosts:
        sources = tuple(SOURCE_PREFIX + s for s in h.sources)
        mine = hosts.get(h.host)
        if mine is None:
            hosts[h.host] = HostFact(h.host, h.registrable_domain, sources, h.third_party, h.kind,
                                     _marked(h.evidence), h.third_party_by)
        else:
            hosts[h.host] = HostFact(
                h.host, mine.registrable_domain or h.registrable_domain, mine.sources + sources,
                mine.third_party or h.third_party, "contact" if "contact" in (mine.kind, h.kind) else mine.kind,
                mine.evidence + _marked(h.evidence), mine.third_party_by or h.third_party_by)
    ips: dict[str, IpFact] = {i.ip: i for i in packed.ips}
    for i in unpacked.ips:
        sources = tuple(SOURCE_PREFIX + s for s in i.sources)
        mine_ip = ips.get(i.ip)
        if mine_ip is None:
            ips[i.ip] = IpFact(i.ip, sources, i.kind, _marked(i.evidence), i.scope)
        else:
            ips[i.ip] = IpFact(i.ip, mine_ip.sources + sources, "contact" if "contact" in (mine_ip.kind, i.kind)
                               else mine_ip.kind, mine_ip.evidence + _marked(i.evidence), mine_ip.scope or i.scope)
    return NetworkFacts(tuple(hosts[k] for k in sorted(hosts)), tuple(ips[k] for k in sorted(ips)))
