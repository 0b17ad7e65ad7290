"""Registrable domains from the ICANN section of the Public Suffix List, fast enough for 100,000 hosts a package.

The list itself is the snapshot shipped inside the ``publicsuffixlist`` package (``publicsuffixlist.PSLFILE``); it
is never fetched at run time, so a package is judged the same way until that dependency is upgraded. We read the
file ourselves instead of calling ``PublicSuffixList.privatesuffix`` because that costs ~5 µs a host; this table
costs ~1 µs. ``tests/unit/test_network_suffixes.py`` checks both agree.

Rules (https://publicsuffix.org/list/): the longest matching rule wins; ``*.x`` matches any one label under ``x``;
``!a.x`` is an exception whose public suffix is ``x``. A host whose TLD is not on the list has no registrable domain.

Start-up: parsing the list (IDNA-encoding its Unicode rules) costs ~85 ms, more than a small package's whole scan.
``gate/data/psl_icann.txt`` holds the table already compiled together with the SHA-256 of the list it came from; it
is used when that digest matches the installed list, else the list is parsed as before. The table is built on first
use, not on import, and ``publicsuffixlist`` itself is imported only then (for the path of its list).

The compiled form is the smallest one the lookup needs: ``tails`` (every right-hand part of every rule, ~7,000
names, the only large set), and three small sets — ``wildcards``, ``exceptions`` and ``not_rules`` (tails that are
no rule themselves, ~40). A rule is a tail not in ``not_rules``, so no separate set of ~7,000 rules is built; reading
the file costs ~0.6 ms plus ~0.35 ms for the digest (it was ~3.8 ms with four full sets). Regenerate the file after
upgrading ``publicsuffixlist``: ``python -m gate.extract.network.suffixes``.
"""

from __future__ import annotations

import hashlib
import pathlib

# __file__ is already absolute; Path.resolve() would add ~0.3 ms of system calls to every start.
COMPILED = pathlib.Path(__file__).parents[2] / "data" / "psl_icann.txt"
_SECTIONS = ("wildcards", "exceptions", "not_rules", "tails")

_BEGIN, _END = "// ===BEGIN ICANN DOMAINS===", "// ===END ICANN DOMAINS==="

Table = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]


def _list_path() -> str:
    import publicsuffixlist  # only for the path of the snapshot it ships; its own parser is never run

    return publicsuffixlist.PSLFILE


def _list_digest() -> str:
    with open(_list_path(), "rb") as listing:
        return hashlib.sha256(listing.read()).hexdigest()


def table() -> Table:
    """(wildcards, exceptions, not_rules, tails), from the compiled file when it matches the installed list."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _read_compiled() or _load()
    return _TABLE


def _read_compiled(path: pathlib.Path = COMPILED) -> Table | None:
    try:
        text = path.read_text(encoding="ascii")
    except OSError:
        return None
    head, _, body = text.partition("\n")
    if head != f"# sha256 {_list_digest()}":
        return None  # compiled from another snapshot of the list (or an older layout): parse the installed one
    sections: dict[str, frozenset[str]] = {}
    for part in ("\n" + body).split("\n## ")[1:]:
        name, _, values = part.partition("\n")
        sections[name] = frozenset(values.split())  # rules are ASCII names without white space
    if set(sections) != set(_SECTIONS):
        return None
    wildcards, exceptions, not_rules, tails = (sections[name] for name in _SECTIONS)
    return wildcards, exceptions, not_rules, tails


def write_compiled(path: pathlib.Path = COMPILED) -> None:
    out = [f"# sha256 {_list_digest()}"]
    for name, values in zip(_SECTIONS, _load()):
        out.append(f"## {name}")
        out.extend(sorted(values))
    path.write_text("\n".join(out) + "\n", encoding="ascii")


def _compact(rules: frozenset[str], wildcards: frozenset[str], exceptions: frozenset[str]) -> Table:
    # Every right-hand part of every rule: once a candidate suffix is not among them, no longer one can match.
    tails: set[str] = set()
    for rule in rules | wildcards | exceptions:
        labels = rule.split(".")
        tails.update(".".join(labels[i:]) for i in range(len(labels)))
    return wildcards, exceptions, frozenset(tails - rules), frozenset(tails)


def _load() -> Table:
    rules: set[str] = set()
    wildcards: set[str] = set()  # "ck" for the rule "*.ck"
    exceptions: set[str] = set()  # "www.ck" for the rule "!www.ck"
    inside = False
    with open(_list_path(), encoding="utf-8") as listing:
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
    return _compact(frozenset(rules), frozenset(wildcards), frozenset(exceptions))


_TABLE: Table | None = None


def public_suffix_length(labels: list[str]) -> int:
    """How many of the rightmost ``labels`` form the public suffix; 0 when the TLD is not on the list."""
    _wildcards, _exceptions, _not_rules, _tails = _TABLE or table()
    n = len(labels)
    best = 0
    candidate = ""
    for k in range(1, n + 1):
        candidate = labels[n - k] + "." + candidate if candidate else labels[n - 1]
        if candidate not in _tails:
            break
        if candidate in _exceptions:
            return k - 1
        if candidate not in _not_rules:  # a tail is a rule unless listed there
            best = k
        if k < n and candidate in _wildcards:
            best = k + 1
    return best


def registrable_domain(host: str) -> str | None:
    """eTLD+1 of a lowercase ``host``; None when the host is a public suffix itself or its TLD is unknown."""
    labels = host.split(".")
    size = public_suffix_length(labels)
    if size == 0 or size >= len(labels):
        return None
    return ".".join(labels[-size - 1:])


if __name__ == "__main__":
    write_compiled()
    print(f"wrote {COMPILED}")
