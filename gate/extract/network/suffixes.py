"""Registrable domains from the ICANN section of the Public Suffix List, fast enough for 100,000 hosts a package.

The list itself is the snapshot shipped inside the ``publicsuffixlist`` package (``publicsuffixlist.PSLFILE``); it
is never fetched at run time, so a package is judged the same way until that dependency is upgraded. We read the
file ourselves instead of calling ``PublicSuffixList.privatesuffix`` because that costs ~5 µs a host; this table
costs ~1 µs. ``tests/unit/test_network_finder.py`` checks both agree on every rule.

Rules (https://publicsuffix.org/list/): the longest matching rule wins; ``*.x`` matches any one label under ``x``;
``!a.x`` is an exception whose public suffix is ``x``. A host whose TLD is not on the list has no registrable domain.

The table, by top-level domain: every candidate suffix of a host ends in the host's TLD, so a look-up only ever reads
the names under one TLD. Each TLD's *group* maps every right-hand part of every rule under it (``co.uk`` and ``uk``
for the rule ``co.uk``) to its flags: ``RULE`` (a rule itself), ``WILDCARD`` (``*.name`` is a rule) and
``EXCEPTION`` (``!name`` is a rule). A name that is not in the group ends the look-up: no longer suffix can match.

Start-up: parsing the list (IDNA-encoding its Unicode rules) costs ~85 ms, more than a small package's whole scan,
and even building the whole table from a compiled form cost ~1.5–2.7 ms at a process's first look-up (~7,000 names
hashed into sets, the list hashed to check it, ``publicsuffixlist`` imported for its path). So
``gate/data/psl_icann.txt`` holds the groups compiled, one section per TLD, headed by the snapshot of the list they
came from and the line of TLDs; on first use only that file is read, and a TLD's group is built the first time a host
under it is looked up. A package's hosts name a handful of TLDs, so most of the table is never built. The compiled
file is used when it was made from the installed snapshot, else the list is parsed as before. Regenerate it after
upgrading ``publicsuffixlist``: ``python -m gate.extract.network.suffixes``.
"""

from __future__ import annotations

import hashlib
import os.path
import pathlib
import threading

# __file__ is already absolute; Path.resolve() would add ~0.3 ms of system calls to every start.
COMPILED = pathlib.Path(__file__).parents[2] / "data" / "psl_icann.txt"
LAYOUT = "# layout: groups by tld, 3"  # the compiled file's second line; another layout is parsed from the list

RULE, WILDCARD, EXCEPTION = 1, 2, 4
Group = dict[str, int]  # the names under one TLD -> their flags

_BEGIN, _END = "// ===BEGIN ICANN DOMAINS===", "// ===END ICANN DOMAINS==="
_LIST_NAME = "public_suffix_list.dat"  # publicsuffixlist.PSLFILE's file name, beside its __init__.py
_LIST_HEAD_BYTES = 2048  # the list's header comment, where it names its VERSION and COMMIT


def _list_path() -> str:
    """Where the installed ``publicsuffixlist`` keeps its list (``PSLFILE``): looked for beside the package on
    ``sys.path`` as the import system would find it (~25 µs), without importing it (~0.8 ms of imports at a process's
    first look-up) or asking for its spec (~0.1 ms); the package itself is imported only if that finds nothing."""
    import sys

    for entry in sys.path:
        package = os.path.join(entry or ".", "publicsuffixlist")
        if os.path.isfile(os.path.join(package, "__init__.py")):
            path = os.path.join(package, _LIST_NAME)
            if os.path.isfile(path):
                return path
            break
    import publicsuffixlist  # only for the path of the snapshot it ships; its own parser is never run

    return publicsuffixlist.PSLFILE


def _list_snapshot() -> str:
    """Which snapshot of the list is installed: the ``VERSION`` and ``COMMIT`` its header names, and its size; or
    the SHA-256 of the whole file when it names no commit. Reading the header costs ~25 µs where hashing the 340 KB
    list cost ~0.5 ms at every process's first look-up. A list edited in place with its header and size kept would
    go unnoticed: the table is then the snapshot its header names."""
    with open(_list_path(), "rb") as listing:
        head = listing.read(_LIST_HEAD_BYTES)
        size = os.fstat(listing.fileno()).st_size
        stamps = dict(line[3:].decode("ascii", "replace").split(": ", 1) for line in head.split(b"\n")
                      if line.startswith((b"// VERSION: ", b"// COMMIT: ")))
        if "VERSION" in stamps and "COMMIT" in stamps:
            return f"{stamps['VERSION'].strip()} {stamps['COMMIT'].strip()} {size}"
        listing.seek(0)
        return "sha256 " + hashlib.sha256(listing.read()).hexdigest()


_LOCK = threading.Lock()  # the first look-up may come from two threads at once; the table's source is read once
_GROUPS: dict[str, Group | None] = {}  # TLD -> its names (None: not listed), as looked up so far
_UNLISTED_REMEMBERED = 4096  # TLDs not on the list kept in _GROUPS: a package may name any number of made-up ones
_unlisted = 0
# The listed TLDs as a set, made once that many unlisted ones were met: from then on an unlisted TLD costs a set
# look-up (~0.1 µs) instead of a search of the line of TLDs (~12 µs), so a package of made-up TLDs stays cheap.
_listed: frozenset[str] | None = None
# Where the groups come from, once read: the compiled file's " tld:start tld:start … " line and its sections, or
# every group parsed from the list itself when the compiled file was made from another snapshot.
_compiled: tuple[str, str] | None = None
_parsed: dict[str, Group] | None = None


def table() -> dict[str, Group | None]:
    """The groups looked up so far, by TLD, once the table's source was read (on the first call: the compiled file
    when it was made from the installed list, else the list itself). ``group`` adds to it."""
    global _compiled, _parsed
    if _compiled is None and _parsed is None:
        with _LOCK:
            if _compiled is None and _parsed is None:
                compiled = _read_compiled()
                if compiled is None:
                    _parsed = _load()
                else:
                    _compiled = compiled
    return _GROUPS


def group(tld: str) -> Group | None:
    """The names under ``tld`` and their flags, built the first time it is asked for; None for a TLD not listed."""
    global _unlisted, _listed
    if tld in _GROUPS:
        return _GROUPS[tld]
    table()
    if _parsed is not None:
        names = _parsed.get(tld)
    elif _listed is not None and tld not in _listed:
        return None
    else:
        names = _compiled_group(tld)
    if names is not None:
        _GROUPS[tld] = names  # two threads may both build it: equal dicts either way, and the last one stays
    elif _unlisted < _UNLISTED_REMEMBERED:
        _GROUPS[tld] = None
        _unlisted += 1
    elif _listed is None and _compiled is not None:
        _listed = frozenset(entry.partition(":")[0] for entry in _compiled[0].split())
    return names


def _compiled_group(tld: str) -> Group | None:
    assert _compiled is not None
    tlds, sections = _compiled
    # A listed TLD is letters, digits and hyphens, so " tld:" in the line of TLDs can only be its own entry.
    if not (tld.isascii() and tld.replace("-", "").isalnum()):
        return None
    at = tlds.find(f" {tld}:")
    if at < 0:
        return None
    at += len(tld) + 2
    start = int(tlds[at:tlds.index(" ", at)])
    end = sections.find("\n#", start)
    names: Group = {}
    for line in sections[start:end if end >= 0 else len(sections)].splitlines():
        flags, _, listed = line.partition(" ")
        names.update(dict.fromkeys(listed.split(" "), int(flags)))  # a line per flags value: built in C, not per name
    return names


def _read_compiled(path: pathlib.Path = COMPILED) -> tuple[str, str] | None:
    """(" tld:start tld:start … ", sections) of the compiled file, where each start is the offset in the sections of
    the TLD's first name; None when it was compiled from another snapshot of the list or in another layout."""
    try:
        with open(path, "rb") as compiled:
            text = compiled.read().decode("ascii")  # not read_text: its newline translation cost ~0.2 ms
    except (OSError, UnicodeDecodeError):
        return None
    snapshot, layout, tlds, sections = (text.split("\n", 3) + ["", "", ""])[:4]
    if snapshot != f"# list {_list_snapshot()}" or layout != LAYOUT or not tlds.startswith("# tlds: "):
        return None  # compiled from another snapshot of the list (or an older layout): parse the installed one
    return tlds[len("# tlds:"):] + " ", sections


def write_compiled(path: pathlib.Path = COMPILED) -> None:
    """The compiled file: the list's snapshot, the layout, each TLD with where its names start in the sections,
    then one section per TLD (``## tld``, then a line per flags value: the flags, then the names that have them)."""
    groups = sorted(_load().items())
    sections, starts, position = [], [], 0
    for tld, names in groups:
        header = f"## {tld}\n"
        by_flags: dict[int, list[str]] = {}
        for name, flags in sorted(names.items()):
            by_flags.setdefault(flags, []).append(name)
        section = header + "".join(f"{flags} {' '.join(listed)}\n" for flags, listed in sorted(by_flags.items()))
        starts.append(f"{tld}:{position + len(header)}")
        sections.append(section)
        position += len(section)
    head = [f"# list {_list_snapshot()}", LAYOUT, "# tlds: " + " ".join(starts)]
    path.write_text("\n".join(head) + "\n" + "".join(sections), encoding="ascii")


def _group_by_tld(rules: set[str], wildcards: set[str], exceptions: set[str]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for names, flag in ((rules, RULE), (wildcards, WILDCARD), (exceptions, EXCEPTION)):
        for name in names:
            labels = name.split(".")
            names_under = groups.setdefault(labels[-1], {})
            # Every right-hand part is in the group (flags 0 unless it is itself a rule of some kind): a name not in
            # the group ends the look-up, so the parts on the way to a longer rule must be there.
            for i in range(len(labels) - 1, 0, -1):
                names_under.setdefault(".".join(labels[i:]), 0)
            names_under[name] = names_under.get(name, 0) | flag
    return groups


def _load() -> dict[str, Group]:
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
    return _group_by_tld(rules, wildcards, exceptions)


def public_suffix_length(labels: list[str]) -> int:
    """How many of the rightmost ``labels`` form the public suffix; 0 when the TLD is not on the list."""
    tld = labels[-1]
    names = _GROUPS[tld] if tld in _GROUPS else group(tld)
    if names is None:
        return 0
    n = len(labels)
    best = 0
    candidate = ""
    for k in range(1, n + 1):
        candidate = labels[n - k] + "." + candidate if candidate else labels[n - 1]
        flags = names.get(candidate)
        if flags is None:
            break
        if flags & EXCEPTION:
            return k - 1
        if flags & RULE:
            best = k
        if k < n and flags & WILDCARD:
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
