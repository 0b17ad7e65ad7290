"""Each host and IP of a package beside a filing, as the console's check page and the developer pre-check page show
them (pure: facts and filed names in, rows out). The rules are gate.coverage's; this only adds the label."""

from __future__ import annotations

from gate.coverage import host_covered, ip_counts, split_filed
from gate.extract.network.addresses import canonical_ip


def host_rows(network, filed: list[str] | None) -> list[dict]:
    """Each host and IP with what it is (contact or reference, third-party SDK, address scope), where it was seen,
    and its state: ``filed`` only where the filing lists it (gate.coverage's rules), else ``reference`` (needs no
    filing), ``unfileable`` (an address no filing can list), ``third_party`` (the SDK vendor files it) or
    ``unfiled``. None for ``filed`` means there is no filing to compare with."""
    domains, ips = split_filed(filed or ())
    rows = []
    for h in network.hosts:
        covered = filed is not None and host_covered(h.host, h.registrable_domain, domains)
        state = ("filed" if covered else "reference" if h.kind == "reference" else
                 "third_party" if h.third_party else "unfiled" if filed is not None else None)
        rows.append({"name": h.host, "kind": h.kind, "third_party": h.third_party, "scope": None,
                     "evidence": h.evidence, "sources": h.sources, "state": state})
    for i in network.ips:
        covered = filed is not None and (canonical_ip(i.ip) or i.ip) in ips
        state = ("filed" if covered else "reference" if i.kind == "reference" else
                 "unfileable" if not ip_counts(i) else "unfiled" if filed is not None else None)
        rows.append({"name": i.ip, "kind": i.kind, "third_party": None, "scope": i.scope, "evidence": i.evidence,
                     "sources": i.sources, "state": state})
    return rows
