"""Registrable domains from the ICANN section of the Public Suffix List, fast enough for 100,000 hosts a package.

The list itself is the snapshot shipped inside the ``publicsuffixlist`` package (``publicsuffixlist.PSLFILE``); it
is never fetched at run time, so a package is judged the same way until that dependency is upgraded. We read the
file ourselves instead of calling ``PublicSuffixList.privatesuffix`` because that costs ~5 µs a host; this table
costs ~1 µs. ``tests/unit/test_network_suffixes.py`` checks both agree.

Rules (https://publicsuffix.org/list/): the longest matching rule wins; ``*.x`` matches any one label under ``x``;
``!a.x`` is an exception whose public suffix is ``x``. A host whose TLD is not on the list has no registrable domain.
"""

from __future__ import annotations

import publicsuffixlist

_BEGIN, _END = "// ===BEGIN ICANN DOMAINS===", "// ===END ICANN DOMAINS==="


def _load() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    rules: set[str] = set()
    wildcards: set[str] = set()  # "ck" for the rule "*.ck"
    exceptions: set[str] = set()  # "www.ck" for the rule "!www.ck"
    inside = False
    with open(publicsuffixlist.PSLFILE, encoding="utf-8") as listing:
        for line in listing:
            line = line.strip()
            if line == _BEGIN:
                inside = True
            elif line == _END:
                break
            elif inside and line and not line.startswith("//"):
                rule = line.split()[0].encode("idna").decode("ascii") if not line.isascii() else line.split()[0]
                rule = rule.lower()
                if rule.startswith("!"):
                    exceptions.add(rule[1:])
                elif rule.startswith("*."):
                    wildcards.add(rule[2:])
                else:
                    rules.add(rule)
    # Every right-hand part of every rule: once a candidate suffix is not among them, no longer one can match.
    tails = set()
    for rule in rules | wildcards | exceptions:
        labels = rule.split(".")
        tails.update(".".join(labels[i:]) for i in range(len(labels)))
    return frozenset(rules), frozenset(wildcards), frozenset(exceptions), frozenset(tails)


_RULES, _WILDCARDS, _EXCEPTIONS, _TAILS = _load()


def public_suffix_length(labels: list[str]) -> int:
    """How many of the rightmost ``labels`` form the public suffix; 0 when the TLD is not on the list."""
    n = len(labels)
    best = 0
    candidate = ""
    for k in range(1, n + 1):
        candidate = labels[n - k] + "." + candidate if candidate else labels[n - 1]
        if candidate not in _TAILS:
            break
        if candidate in _EXCEPTIONS:
            return k - 1
        if candidate in _RULES:
            best = k
        if k < n and candidate in _WILDCARDS:
            best = k + 1
    return best


def registrable_domain(host: str) -> str | None:
    """eTLD+1 of a lowercase ``host``; None when the host is a public suffix itself or its TLD is unknown."""
    labels = host.split(".")
    size = public_suffix_length(labels)
    if size == 0 or size >= len(labels):
        return None
    return ".".join(labels[-size - 1:])
