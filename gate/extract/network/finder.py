"""Find hosts and IP literals in a byte region — anchored on cheap literals, validating only the candidates.

A regex that tries a hostname at every byte costs seconds on a large APK. Instead:

* the authority of every network-scheme URL is taken in one C-level ``findall`` (literal ``://`` prefix, scheme
  checked by look-behinds) and analysed once per distinct authority, then blanked out;
* what remains is searched with patterns that start with ``.`` or ``:``, so the regex engine skips everything else
  with a fast literal search:

* ``://``           a URL: the scheme is read backwards, the authority forwards;
* ``.<tld>``        the end of a bare hostname (curated TLDs only, see ``domains``), followed by no name character;
* ``.d.d.d``        the tail of an IPv4 literal;
* ``::``            the compressed part of an IPv6 literal.

Only at those anchors does Python code run: it widens the match to the surrounding run of name characters and asks
``domains``/``addresses`` whether the token is a host or an IP.

Length-prefixed string pools (DEX string data, ARSC/AXML pools) put the length right before each string's first
character, and a length such as 46 or 97 is the byte ``.`` or ``a``. Callers pass ``prefix_len`` — how many bytes
sit between a string's terminating NUL and the next string — so a token that reaches back to a NUL loses them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from gate.extract.network import core
from gate.extract.network.addresses import bare_ipv6, ip_literal
from gate.extract.network.domains import (
    BARE_TLDS,
    MAX_HOST_LENGTH,
    REVERSE_DNS_ROOTS,
    bare_host,
    configure_compiled,
    url_host,
)
from gate.extract.network.references import (
    NAMESPACE_WORDS,
    PATH_HINT_SOURCE,
    SCHEMA_WORDS,
    URL_NEEDS_JUDGING,
    in_hash_comment,
    scheme_start,
    text_reference,
    url_reference,
)

# A prefix tree of words: character -> subtree; the key "" marks the end of a word.
_Trie = dict[str, "_Trie"]


def trie_pattern(words: Iterable[str | bytes]) -> bytes:
    """A regex alternation of ``words`` (str, or bytes taken byte for byte) folded into a prefix tree, so the
    engine tries few branches per position."""
    texts = [w.decode("latin-1") if isinstance(w, bytes) else w for w in words]
    tree: _Trie = {}
    for word in texts:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree).encode("latin-1")


@functools.cache
def _anchor_patterns() -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The dot anchors and the colon anchors (``://`` of a URL, ``::`` of an IPv6 literal) of the pure-Python path,
    built on its first search: the compiled core searches in C, and a process using it never pays for the TLD trie
    and its compilation (start-up, issue #28).

    Each anchor pattern starts with a literal byte, which lets the regex engine jump between candidates with a fast
    search; a single alternation of all anchors would test every byte against a character set, ~3x slower.
    No capture groups: with groups the regex engine loses its prefix search."""
    dots = re.compile(
        rb"\.(?:" + trie_pattern(BARE_TLDS) + rb"(?![A-Za-z0-9_\-])|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]))")
    return dots, re.compile(rb":(?://|:)")


_NAME_RUN = re.compile(rb"[A-Za-z0-9.\-]*")
_SEPARATOR_RUN = re.compile(rb"[:/]*")
# ``<a href="…">`` in a string, or aapt's style span for it: a styled string resource keeps its tags as span names
# in the pool ("a;href=http://www.google.com", ApiDemos's link_text_manual).
_ANCHOR_MARKUP = re.compile(rb"(?:<a\s[^<>]*href\s*=\s*[\"']?|(?<![A-Za-z0-9])a;href=)[A-Za-z0-9+.\-]{1,16}\Z",
                            re.IGNORECASE)
_PLAIN_NAME = re.compile(rb"[a-z0-9.\-]+")
_SCHEME_RUN = re.compile(rb"[A-Za-z0-9+.\-]*")
_HEX_RUN = re.compile(rb"[0-9A-Fa-f:]*")
_HEX_DOT_RUN = re.compile(rb"[0-9A-Fa-f:.]*")
_AUTHORITY = re.compile(rb"[A-Za-z0-9.\-_~%!$&'()*+,;=:@\[\]]*")
_DOTTED_QUAD = re.compile(rb"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\Z")
# Schemes whose authority is a network host. content://, file://, android-app://, intent:// and app deep-link
# schemes (weixin://, alipays://) name providers, files or packages; their "hosts" are not contacted.
_NETWORK_SCHEME = re.compile(rb"(?:https?|wss?|ftps?|sftp|rtmp[est]?|rtsps?|mqtts?|tcp|udp|ssl|tls|quic)\Z")
# The authority of every network-scheme URL in one C-level pass: the literal "://" gives the regex engine a fast
# prefix search and fixed-width look-behinds check the scheme, so Python runs once per distinct authority, not once
# per URL (a large app repeats a few thousand hosts across tens of thousands of URL strings).
_NETWORK_SCHEMES = (b"https", b"http", b"wss", b"ws", b"ftps", b"ftp", b"sftp", b"rtmps", b"rtmpe", b"rtmpt", b"rtmp",
                    b"rtsps", b"rtsp", b"mqtts", b"mqtt", b"tcp", b"udp", b"ssl", b"tls", b"quic")


def _any_case(word: bytes) -> bytes:
    """``word`` as a pattern that matches it in any letter case (``[hH][tT]…``): re.IGNORECASE would do the same
    but makes the engine fold every byte of the authority too, a third slower over megabytes of strings."""
    return b"".join(b"[%c%c]" % (c, c ^ 0x20) if 0x61 <= c <= 0x7A else re.escape(bytes([c])) for c in word)


@functools.cache
def _url_authorities() -> re.Pattern[bytes]:
    """The URL authorities of ``_NETWORK_SCHEMES`` (above), compiled on the pure-Python path's first split: the
    compiled core splits in C."""
    return re.compile(
        rb"://(?:" + b"|".join(b"(?<=" + _any_case(scheme) + b"://)" for scheme in _NETWORK_SCHEMES) + rb")"
        rb"([A-Za-z0-9.\-_~%!$&'()*+,;=:@\[\]]{0,300})")


# Words right before a dotted quad that make it a version, not an address ("version 1.2.3.4", "Build: 4.1.0.2").
_VERSION_CONTEXT = re.compile(rb"(?<![a-z])(?:version|ver|build|release|rev|sdk|v)[\s:=\"'_\-]*\Z")
# A bare dotted quad of single digits ("1.0.2.3", "4.1.0.2") is a version far more often than an address; only the
# public resolvers apps really hard-code in that shape are believed. In a URL or with a port, any address counts.
_SINGLE_DIGIT_QUAD = re.compile(rb"[0-9]\.[0-9]\.[0-9]\.[0-9]\Z")
WELL_KNOWN_SHORT_IPS = frozenset({b"1.1.1.1", b"1.0.0.1", b"8.8.8.8", b"8.8.4.4", b"9.9.9.9"})
_PLACEHOLDER_MARKS = frozenset(b"%$")  # "%s.example.com": the token starts inside a format placeholder
_EMAIL_MARK = 0x40  # "@": support@example.com names a mailbox, not a server the app connects to
_NOT_BEFORE_IP = frozenset(b"/_\\")  # "Chrome/91.0.4472.1", "lib_1.2.3.4": product versions and file names

MAX_SCHEME_LENGTH = 16
MAX_AUTHORITY_LENGTH = 300
MAX_POOLED_STRING = 8192  # longer "strings" between NULs are binary data, not a string table entry


EXCERPT_SIDE = 80  # characters of context kept on each side of an occurrence
_SPACE = re.compile(r"\s")
_SPACE_BYTES = re.compile(rb"[ \t\r\n]")
_LINE_HEAD = re.compile(rb"[^\0\n]{0,%d}" % EXCERPT_SIDE)
_SCHEME_ONLY = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]{0,15}")
# A quote or "=" right before the scheme, read as ``references.scheme_start`` reads it (at most 16 characters).
_QUOTED_SCHEME = re.compile(rb"[\"'=]([A-Za-z0-9+.\-]{1,16})\Z")
_URL_BODY = re.compile(rb"[^\s\"'<>`\\]*")  # a URL runs up to the first of these (``references._URL_END``)
# On lowercased bytes: the path rules of ``url_reference`` (written in lowercase), and the words that let its schema
# and namespace rules match (lowercasing can only find more of them, which sends a URL the long way).
_PATH_HINTS_LOWER = re.compile(PATH_HINT_SOURCE.encode())
_CONTEXT_WORDS_LOWER = re.compile((SCHEMA_WORDS.pattern + "|" + NAMESPACE_WORDS.pattern).lower().encode())


# The scanning budget of one package, in anchors judged by Python code (each costs a few microseconds and a
# bounded look-around, so time is linear in them). Real packages use far less: the 18 MB UiAutomator2 server
# 539, Yosemite (24 MB) 1,246, the bench APK (9,556 hosts, 496,000 strings) 11,784 (docs/benchmarks.md).
# An entry of a few MB made of one repeated anchor (1.1.1.1 1.1.1.1 …) reaches it within about a second.
MAX_SCAN_ANCHORS = 200_000


class ScanBudgetExhausted(Exception):
    """The package's scanning budget is spent: the scan stops and the scanner records a problem."""


class ScanBudget:
    """Anchors a package may still have judged; shared by every entry of the package (and nested strings)."""

    __slots__ = ("remaining", "spent")

    def __init__(self, anchors: int = MAX_SCAN_ANCHORS) -> None:
        self.remaining = anchors
        self.spent = 0

    def spend(self, anchors: int = 1) -> None:
        self.remaining -= anchors
        self.spent += anchors
        if self.remaining < 0:
            raise ScanBudgetExhausted(self.spent)


@dataclass
class Findings:
    """What one region (or several regions of one entry) contains.

    ``evidence`` holds, for each host or IP, one occurrence ``(how, excerpt, reference)``: the first contact
    candidate seen, else the first reference. Once a value has a contact occurrence, later ones are not judged.
    """

    hosts: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    evidence: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    # Values that already have a contact occurrence in an earlier entry of the package: their kind is decided and
    # one contact excerpt is enough, so their occurrences here are not judged again (a large app repeats thousands
    # of hosts across its DEX files).
    known_contacts: set[str] | frozenset[str] = frozenset()
    # The region is a configuration file (YAML, properties …) where "#" after white space starts a comment.
    hash_comments: bool = False
    budget: ScanBudget | None = None  # the package's; None: unbounded (a single string judged on its own)
    # The region is a string table (DEX string data, a resource table's pools): a URL in ``<a href=…>`` markup there
    # is a link inside text the app shows (HTML for ``Html.fromHtml``, a styled string resource), not a place the
    # app goes by itself. Not for HTML assets: a hybrid app's pages are its own.
    markup_links: bool = False

    def __bool__(self) -> bool:
        return bool(self.hosts or self.ips)

    def settled(self, value: str) -> bool:
        """True when ``value`` already has a contact occurrence (nothing later can change its kind)."""
        if value in self.known_contacts:
            return True
        known = self.evidence.get(value)
        return known is not None and known[2] is None

    def note(self, value: str, how: str, excerpt: str, reference: str | None) -> None:
        known = self.evidence.get(value)
        if known is None or (known[2] is not None and reference is None):
            self.evidence[value] = (how, excerpt, reference)


def excerpt_of(data: bytes, s: int, e: int, lo: int = 0, hi: int | None = None) -> str:
    """The text around ``data[s:e]``, cut at NULs and line ends and at ``EXCERPT_SIDE`` bytes on each side."""
    hi = len(data) if hi is None else hi
    left = data[max(lo, s - EXCERPT_SIDE):s]
    cut = max(left.rfind(b"\0"), left.rfind(b"\n"))
    right = data[e:min(hi, e + EXCERPT_SIDE)]
    stops = [x for x in (right.find(b"\0"), right.find(b"\n")) if x >= 0]
    return text_of(left[cut + 1:] + data[s:e] + (right[:min(stops)] if stops else right))


def text_of(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip().replace("\r", " ").replace("\t", " ")


def scan_region(data: bytes, findings: Findings, start: int = 0, end: int | None = None, *,
                prefix_len: int = 0) -> None:
    """Add every host and IP literal in the text ``data[start:end]`` to ``findings``. Never raises on any bytes."""
    data = _take_url_authorities(_window(data, start, end), findings, {}, prefix_len)
    budget, pos = findings.budget, 0
    next_anchor = _AnchorCursor(data).next
    while (anchor := next_anchor(pos)) is not None:
        # Searched from the end of the previous token: anchors inside it would widen to the same token, and are
        # not even enumerated (a run of one anchor character costs one search and one judgement per token).
        if budget is not None:
            budget.spend()
        i, j = anchor
        pos = max(i + 1, _at_anchor(data, i, j, 0, len(data), prefix_len, findings))


def _window(data: bytes, start: int, end: int | None) -> bytes:
    end = len(data) if end is None else min(end, len(data))
    start = max(0, start)
    return data if (start, end) == (0, len(data)) else data[start:end]


def _python_anchor_search(data: bytes, pos: int, colon: bool) -> tuple[int, int] | None:
    """The span of the first anchor at or after ``pos``: a ``::``/``://`` when ``colon``, else a dot anchor."""
    dots, colons = _anchor_patterns()
    found = (colons if colon else dots).search(data, pos)
    return None if found is None else found.span()


# ``_python_anchor_search`` or its compiled twin (``core``): a memchr for the anchor byte, the TLD judged in C.
_anchor_search: Callable[[bytes, int, bool], tuple[int, int] | None] = _python_anchor_search


class _AnchorCursor:
    """The first anchor at or after a position. Each anchor kind is searched onwards from its previous match (one
    pass each); when the next anchor lies inside the token just judged (a dense run: ``::::``, ``.cn.cn.cn``), the
    search restarts past the token instead of stepping through every anchor inside it, so each byte is searched
    about once. Anchors are (start, end) spans."""

    __slots__ = ("data", "dot", "colon", "search")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.search = search = _anchor_search
        self.dot = search(data, 0, False)
        self.colon = search(data, 0, True) if b":" in data else None

    def next(self, pos: int) -> tuple[int, int] | None:
        dot, colon = self.dot, self.colon
        if dot is not None and dot[0] < pos:
            dot = self.search(self.data, dot[1], False)  # the next match after the previous one
            if dot is not None and dot[0] < pos:
                dot = self.search(self.data, pos, False)
            self.dot = dot
        if colon is not None and colon[0] < pos:
            colon = self.search(self.data, colon[1], True)
            if colon is not None and colon[0] < pos:
                colon = self.search(self.data, pos, True)
            self.colon = colon
        if dot is None:
            return colon
        if colon is None or dot[0] < colon[0]:
            return dot
        return colon


_SPLIT_WORTH = 1 << 16  # above this size the split itself finds out, in the same pass, that there is no URL
_AUTHORITY_CACHE = object()  # keys of the per-package caches inside the string cache
_AUTHORITY_IPS = object()
_SETTLED_AUTHORITIES = object()
_SETTLED_STRINGS = object()


# The compiled split: ({authority: index of its last occurrence}, the text with them blanked, their int64 spans);
# None: the Python split.
_split_region: Callable[[bytes], tuple[dict[bytes, int], bytes, bytes]] | None = None
# The fast paths of ``_note_url`` in C, on a compiled split: (how, excerpt) of a contact candidate, or None for the
# Python of ``_note_url``.
_judge_span: Callable[[bytes, bytes, int, int, bool], tuple[str, str] | None] | None = None


# The compiled loop of ``scan_strings`` (``_hostcore.scan_pooled``), or None for the Python's.
_scan_pooled: Callable[[bytes, list[int], int, StringCache, set[bytes], set[str] | frozenset[str], set[str],
                        set[str], dict[str, tuple[str, str, str | None]], int],
                       tuple[int, tuple[int, int] | None]] | None = None
MAX_SCAN_ANCHORS_UNBOUNDED = 1 << 62  # the compiled loop's budget when the findings have none


# ``_take_url_authorities``' loop over a region's distinct authorities, in C: None when done, else the position to
# resume at and the URL its fast paths leave to ``_note_url`` (authority, index of the URL, its values).
_judge_authorities: Callable[..., tuple[int, bytes, int, tuple[str, ...]] | None] | None = None
# ``findings.hosts.update`` with the hosts of each of a region's authorities, in C.
_add_hosts: Callable[[set[str], Iterable[bytes], dict[bytes, tuple[str, ...]]], None] | None = None
# The loop of ``_authority_values`` over a region's new authorities, in C.
Values = tuple[str, ...]  # the hosts or IPs of one URL authority (at most one value)
_resolve_authorities: Callable[[set[bytes], dict[bytes, Values], dict[bytes, Values],
                                Callable[[bytes], tuple[Values, Values]]], None] | None = None

Occurrence = tuple[str, str, str | None]  # (how, excerpt, reference), as in ``Findings.evidence``
# What ``scan_strings`` remembers of one analysed string: (hosts, IPs, evidence as (value, occurrence) pairs).
StringAnswer = tuple[Values, Values, tuple[tuple[str, Occurrence], ...]]
# The per-package cache (``network.StringCache``): string bytes -> StringAnswer, and under the sentinel keys above
# (``_AUTHORITY_CACHE`` …) ``_take_url_authorities``'s authority tables (bytes -> Values) and the settled authorities
# and strings (sets of bytes). Its values differ by key, so each use takes its table into a variable of its own type.
StringCache = dict[Any, Any]


def _bind() -> None:
    """``_url_authorities().split``, the authority loop and ``_note_url``'s fast paths, or their compiled twins."""
    global _split_region, _judge_span, _resolve_authorities, _anchor_search, _scan_pooled, _judge_authorities, _add_hosts
    compiled = core.compiled_core
    if core.active() == "compiled" and compiled is not None:
        compiled.configure_urls(URL_NEEDS_JUDGING, _PATH_HINTS_LOWER, _CONTEXT_WORDS_LOWER)
        compiled.configure_anchors(BARE_TLDS)
        _split_region, _judge_span = compiled.split_region, compiled.judge_span
        _resolve_authorities, _anchor_search = _configured_resolve, compiled.anchor_search
        _scan_pooled, _judge_authorities = compiled.scan_pooled, compiled.judge_authorities
        _add_hosts = compiled.add_hosts
    else:
        _split_region, _judge_span, _resolve_authorities, _scan_pooled = None, None, None, None
        _judge_authorities, _add_hosts = None, None
        _anchor_search = _python_anchor_search


def _configured_resolve(authorities: set[bytes], hosts_of: dict[bytes, Values], ips_of: dict[bytes, Values],
                        fallback: Callable[[bytes], tuple[Values, Values]]) -> None:
    """The compiled ``resolve_authorities``, once the host tables are handed to the core (``domains``: on the
    first host lookup, which this makes)."""
    global _resolve_authorities
    configure_compiled()
    compiled = core.compiled_core
    assert compiled is not None
    _resolve_authorities = compiled.resolve_authorities
    compiled.resolve_authorities(authorities, hosts_of, ips_of, fallback)


core.on_select(_bind)


def _take_url_authorities(data: bytes, findings: Findings, cache: StringCache, prefix_len: int = 0) -> bytes:
    """Record the host of every network-scheme URL in ``data``; return ``data`` with those authorities blanked.

    Python runs once per distinct authority, not once per URL: a large app repeats a few thousand hosts across tens
    of thousands of URL strings, and across its DEX files. Blanking leaves the anchors of bare names and literals for
    the caller. Evidence is taken from the last occurrence of each authority; only when that one is a reference are
    the others judged. Authorities whose values already have a contact occurrence in the package are remembered as
    settled, so a later entry that repeats them costs set operations only.
    """
    if len(data) < _SPLIT_WORTH and b"://" not in data:
        return data  # most pooled strings: a membership test is cheaper than starting the regex engine
    # One C-level pass: split() with a capturing pattern yields the text between URLs and, at odd positions, the
    # authorities themselves (cheaper than findall() followed by sub()).
    parts: list[bytes] | _SplitParts
    # ``last``: each distinct authority -> the index of its last occurrence, in order of first occurrence. In order
    # of first occurrence (not set order, which varies between processes): two authorities can name one host
    # ("API.example.cn", "api.example.cn:443"), and the first contact occurrence noted is its evidence.
    last: dict[bytes, int]
    if _split_region is not None:  # compiled: the distinct authorities and the blanked text, the split cut only
        last, blanked, spans = _split_region(data)  # where judged
        parts = _SplitParts(data, spans)
    else:
        split: list[bytes] = _url_authorities().split(data)
        found_in, blanked = split[1::2], b" ".join(split[::2])  # every path below returns the blanked text
        last = dict(zip(found_in, range(len(found_in))))
        parts = split
    hosts_of: dict[bytes, Values] = cache.setdefault(_AUTHORITY_CACHE, {})  # authority -> hosts (at most one)
    ips_of: dict[bytes, Values] = cache.setdefault(_AUTHORITY_IPS, {})  # authority -> IPs, only for the few with one
    settled: set[bytes] = cache.setdefault(_SETTLED_AUTHORITIES, set())
    distinct = last.keys()
    new = distinct - hosts_of.keys()
    if new and _resolve_authorities is not None:  # the same loop in C, host names validated there (``core``)
        _resolve_authorities(new, hosts_of, ips_of, _authority_values)
    else:
        for authority in new:
            hosts, ips = _authority_values(authority)
            hosts_of[authority] = hosts
            if ips:
                ips_of[authority] = ips
    if _add_hosts is not None:
        _add_hosts(findings.hosts, distinct, hosts_of)
    else:
        findings.hosts.update(chain.from_iterable(map(hosts_of.__getitem__, distinct)))
    if ips_of:
        for authority in distinct & ips_of.keys():
            findings.ips.update(ips_of[authority])
    if distinct <= settled:
        # a later entry repeating what the package has settled: nothing to judge
        return blanked
    pending = set()
    known_contacts, evidence = findings.known_contacts, findings.evidence
    if _judge_authorities is not None and isinstance(parts, _SplitParts) and not findings.hash_comments:
        # The loop below in C (``_hostcore.judge_authorities``), handing back each URL its fast paths leave to
        # ``_note_url``, in the same order.
        at: int = 0
        while (left := _judge_authorities(data, parts.raw, last, at, prefix_len, findings.markup_links, hosts_of,
                                          ips_of, settled, known_contacts, evidence)) is not None:
            at, authority, k, values = left
            if not _note_url(parts, k, values, findings, prefix_len, fast_path_tried=True):
                pending.add(authority)
        return _pending_urls(pending, parts, hosts_of, ips_of, findings, prefix_len, blanked)
    # ``_note_url``'s compiled fast path called here, without two Python calls per authority (a large app has
    # thousands of hosts, nearly all decided by it); what it leaves goes the whole way through ``_note_url``.
    judge = _judge_span if isinstance(parts, _SplitParts) and not findings.hash_comments else None
    spans, markup_links = parts.raw if isinstance(parts, _SplitParts) else b"", findings.markup_links
    for authority, k in last.items():
        if authority in settled:
            continue
        values = hosts_of[authority] or ips_of.get(authority, ())  # at most one value
        value = values[0] if values else None
        if value is None or value in known_contacts:
            settled.add(authority)  # nothing to note, now or in any later entry of the package
            continue
        noted = evidence.get(value)
        if noted is not None and noted[2] is None:
            continue  # a contact occurrence of it in this entry already
        if judge is not None:
            judged = judge(data, spans, k, prefix_len, markup_links)
            if judged is not None:  # a contact candidate: noted as ``findings.note`` would (nothing better is kept)
                evidence[value] = (judged[0], judged[1], None)
                continue
        if not _note_url(parts, k, values, findings, prefix_len, fast_path_tried=judge is not None):
            pending.add(authority)
    return _pending_urls(pending, parts, hosts_of, ips_of, findings, prefix_len, blanked)


def _pending_urls(pending: set[bytes], parts: list[bytes] | _SplitParts, hosts_of: dict[bytes, Values],
                  ips_of: dict[bytes, Values], findings: Findings, prefix_len: int, blanked: bytes) -> bytes:
    """The authorities whose last URL was a reference: a contact occurrence elsewhere decides (rare). Returns
    ``blanked``."""
    if pending:
        for k in range(len(parts) // 2):  # every URL in order: the split's odd items
            authority = parts[2 * k + 1]
            if authority in pending and _note_url(parts, k, hosts_of[authority] or ips_of[authority], findings,
                                                  prefix_len):
                pending.discard(authority)
                if not pending:
                    break
    return blanked


class _SplitParts:
    """``_url_authorities().split(data)`` seen through the compiled core's spans: item ``2k`` is the text before the
    ``k``-th URL authority (``://`` excluded), ``2k + 1`` the authority. Only the items judged are ever cut."""

    __slots__ = ("data", "raw", "spans")

    def __init__(self, data: bytes, spans: bytes) -> None:
        self.data, self.raw = data, spans
        self.spans = memoryview(spans).cast("q")  # (start of "://", end of the authority) per URL

    def __len__(self) -> int:
        return len(self.spans) + 1  # the split's length: a text part before each URL, the URL's, and the last text

    def __getitem__(self, i: int) -> bytes:
        k, odd = divmod(i, 2)
        spans = self.spans
        if odd:
            return self.data[spans[2 * k] + 3:spans[2 * k + 1]]
        start = spans[2 * k - 1] if k else 0
        return self.data[start:spans[2 * k] if 2 * k < len(spans) else len(self.data)]


def _authority_values(authority: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(hosts, IPs) of one URL authority: at most one value in all."""
    if authority and 0x61 <= authority[-1] <= 0x7A and _PLAIN_NAME.fullmatch(authority):
        # The common case, a lowercase host name (no user, port or IPv6 literal, and not a dotted quad).
        name = url_host(authority.decode("ascii"))
        return ((name,) if name else ()), ()
    after_user = authority.rpartition(b"@")[2]
    host = after_user.partition(b":")[0].rstrip(b".")
    if host and not _DOTTED_QUAD.match(host) and not after_user.startswith(b"["):
        name = url_host(host.decode("ascii"))  # a host name with a user or a port: no Findings to fill
        return ((name,) if name else ()), ()
    found = Findings()
    _authority(authority, found)
    return tuple(found.hosts), tuple(found.ips)


def _note_url(parts: list[bytes] | _SplitParts, k: int, values: tuple[str, ...], findings: Findings,
              prefix_len: int, *, fast_path_tried: bool = False) -> bool:
    """Judge the ``k``-th URL of a split region and note it for ``values``; True when it is a contact candidate.
    ``fast_path_tried``: the compiled fast path was tried already and left this URL to the Python."""
    if not fast_path_tried and _judge_span is not None and isinstance(parts, _SplitParts) and not findings.hash_comments:
        judged = _judge_span(parts.data, parts.raw, k, prefix_len, findings.markup_links)
        if judged is not None:
            for value in values:
                findings.note(value, judged[0], judged[1], None)
            return True
    left, right = parts[2 * k], parts[2 * k + 2]
    tail = left[-EXCERPT_SIDE * 2:]
    nul, newline = tail.rfind(b"\0"), tail.rfind(b"\n")
    tail = tail[max(nul, newline) + 1:]
    if prefix_len > 0 and (nul > newline or (nul < 0 and newline < 0 and len(left) == len(tail) and k == 0)):
        tail = tail[prefix_len:]  # the length prefix of a pooled string is not text
    rest = parts[2 * k + 1] + right[:_forwards(_LINE_HEAD, right, 0, len(right))]
    if findings.hash_comments and in_hash_comment(tail):
        excerpt = text_of(tail + b"://" + rest)
        for value in values:
            findings.note(value, "url_in_text", excerpt, "config_comment")
        return False
    if findings.markup_links and b"href" in tail and _ANCHOR_MARKUP.search(tail):
        excerpt = text_of(tail + b"://" + rest)
        for value in values:
            findings.note(value, "url_in_text", excerpt, "link_in_text")
        return False
    if _SCHEME_ONLY.fullmatch(tail) and tail.lower() != b"http" and not URL_NEEDS_JUDGING.search(rest):
        # The common case: a string that is just a URL whose path no reference rule can match.
        excerpt = text_of(tail + b"://" + rest)
        for value in values:
            findings.note(value, "url", excerpt, None)
        return True
    if _quoted_contact(tail, rest):
        excerpt = (tail + b"://" + rest).decode("ascii").strip()  # both ASCII (checked)
        for value in values:
            findings.note(value, "url_in_text", excerpt, None)
        return True
    before = tail.decode("utf-8", "replace")
    text = before + "://" + rest.decode("utf-8", "replace")
    start = scheme_start(text, len(before))
    reference = url_reference(text, start)
    excerpt = text.strip()
    how = "url" if start == 0 and not _SPACE.search(excerpt) else "url_in_text"
    for value in values:
        findings.note(value, how, excerpt, reference)
    return reference is None


def _quoted_contact(tail: bytes, rest: bytes) -> bool:
    """Whether a URL right after a quote or ``=`` (``href="https://…"``, ``"key": "wss://…"``) is a contact candidate
    without the full judgement of ``url_reference``: the same answer, decided on ASCII bytes.

    After a quote no sentence or comment rule applies (``_in_text``); what could still make it a reference is a path
    rule (``URL_NEEDS_JUDGING`` on the URL itself), a schema or namespace word before it, or the http-only
    identifier rules. Anything non-ASCII goes the long way, where Unicode case folding is applied.
    """
    quoted = _QUOTED_SCHEME.search(tail, max(0, len(tail) - MAX_SCHEME_LENGTH - 1))
    if quoted is None or quoted[1].lower() == b"http" or not tail.isascii() or not rest.isascii():
        return False
    # Lowercased once, then searched case-sensitively: the same matches as the IGNORECASE rules, twice as fast.
    url = rest[:_forwards(_URL_BODY, rest, 0, len(rest))].lower()
    return not _PATH_HINTS_LOWER.search(url) and not _CONTEXT_WORDS_LOWER.search(tail[:quoted.start()].lower())


def scan_strings(data: bytes, findings: Findings, start: int = 0, end: int | None = None, *,
                 prefix_len: int = 0, cache: StringCache | None = None) -> None:
    """Like ``scan_region`` for NUL-terminated strings (DEX string data, resource pools, ELF .rodata).

    Each string that holds an anchor is analysed once, whole, and the answer is remembered in ``cache`` by its bytes:
    the same URL or host in eight DEX files and two native libraries costs one analysis.
    """
    cache = {} if cache is None else cache
    data = _take_url_authorities(_window(data, start, end), findings, cache, prefix_len)
    settled: set[bytes] = cache.setdefault(_SETTLED_STRINGS, set())
    budget = findings.budget
    cursor = _AnchorCursor(data)
    if _scan_pooled is not None:
        # The compiled loop runs while the cache answers (nearly every string of a large app after its first DEX
        # file) and hands back the first anchor whose string needs the Python, unspent; the budget is spent in bulk,
        # so the scan stops at the same anchor as the loop below.
        state = [0, *(cursor.dot or (-1, -1)), *(cursor.colon or (-1, -1))]
        hosts, ips, evidence = findings.hosts, findings.ips, findings.evidence
        known_contacts = findings.known_contacts
        while True:
            spent, anchor = _scan_pooled(data, state, prefix_len, cache, settled, known_contacts, hosts, ips,
                                         evidence, MAX_SCAN_ANCHORS_UNBOUNDED if budget is None else budget.remaining)
            if spent and budget is not None:
                budget.spend(spent)
            if anchor is None:
                return
            state[0] = _pooled_anchor(data, anchor, findings, prefix_len, cache, settled)
    pos = 0
    next_anchor = cursor.next
    while (anchor := next_anchor(pos)) is not None:  # from the end of the string analysed last
        pos = _pooled_anchor(data, anchor, findings, prefix_len, cache, settled)


def _pooled_anchor(data: bytes, anchor: tuple[int, int], findings: Findings, prefix_len: int, cache: StringCache,
                   settled: set[bytes]) -> int:
    """Judge the anchor ``data[i:j]`` of a string table by the string around it (analysed once per package, then
    answered by ``cache``); return where the search goes on."""
    i, j = anchor
    budget = findings.budget
    if budget is not None:
        budget.spend()
    end = len(data)
    # The string's NULs are looked for no farther than a pooled string reaches: past that, the answer (too long to be
    # a string) is the same, and each anchor costs a bounded search (a region without NULs is no quadratic work).
    first = data.rfind(b"\0", max(0, i - MAX_POOLED_STRING - 1), i) + 1
    last = data.find(b"\0", i, min(end, i + MAX_POOLED_STRING + 1))
    if last < 0:
        last = end
    if last - first > MAX_POOLED_STRING:
        # Not a string table after all (binary data between NULs): judge this anchor on its own.
        return max(i + 1, _at_anchor(data, i, j, 0, end, 0, findings))
    if prefix_len:  # ``first`` follows a NUL or is the region's start: a length prefix is there
        first = min(first + prefix_len, i)
    text = data[first:last]
    if len(text) <= 15 and _DOTTED_QUAD.match(text) and _in_oid_run(data, first, last, 0, end, prefix_len):
        return last + 1
    known: StringAnswer | None = cache.get(text)
    if known is None and len(text) <= MAX_HOST_LENGTH and _PLAIN_NAME.fullmatch(text):
        known = cache[text] = _plain_name(text)
    if known is None:
        found = Findings(budget=budget)
        scan_region(text, found)
        if _SPACE_BYTES.search(text):
            # A bare host inside a string of words is text shown or logged ("google.com/accounts/recovery
            # にアクセスしてください。"); a host the code connects to is a string of its own.
            for value, (how, excerpt, reference) in list(found.evidence.items()):
                if how in _IN_WORDS and reference is None:
                    found.evidence[value] = (how, excerpt, "link_in_text")
        known = cache[text] = (tuple(found.hosts), tuple(found.ips), tuple(found.evidence.items()))
    hosts, ips, evidence = known
    if hosts:
        findings.hosts.update(hosts)
    if ips:
        findings.ips.update(ips)
    if evidence and text not in settled:
        if all(value in findings.known_contacts for value, _occurrence in evidence):
            settled.add(text)  # every value has its contact excerpt already: later entries only add sources
        else:
            for value, occurrence in evidence:
                if not findings.settled(value):
                    findings.note(value, *occurrence)
    return last + 1


_OID = re.compile(rb"([0-2]\.[0-9]{1,5}\.)[0-9]+(?:\.[0-9]+)+\Z")


def _in_oid_run(data: bytes, first: int, last: int, lo: int, hi: int, prefix_len: int) -> bool:
    """Whether the dotted quad ``data[first:last]`` sits in a run of object identifiers: the string before or after
    it in the (sorted) string table is a dotted number with the same first two arcs (``2.5.29.14`` beside
    ``2.5.29.15``, X.509 extension OIDs). An OID's first arc is 0, 1 or 2 (X.660)."""
    own = _OID.match(data, first, last)
    if own is None:
        return False
    arcs = own.group(1)
    previous_end = first - max(prefix_len, 0) - 1
    if previous_end > lo:
        previous_start = data.rfind(b"\0", lo, previous_end) + 1 or lo
        neighbour = data[min(previous_start + max(prefix_len, 0), previous_end):previous_end]
        if neighbour.startswith(arcs) and _OID.match(neighbour):
            return True
    next_start = last + 1 + max(prefix_len, 0)
    next_end = data.find(b"\0", next_start, min(hi, next_start + 64))
    if next_end > next_start:
        neighbour = data[next_start:next_end]
        if neighbour.startswith(arcs) and _OID.match(neighbour):
            return True
    return False


# Shapes that, inside a string of words, are text shown or logged ("server listening on 127.0.0.1:10080").
_IN_WORDS = frozenset({"bare_host", "bare_ip", "ip_port"})


def _plain_name(text: bytes) -> StringAnswer:
    """What ``scan_region`` finds in a string of lowercase name characters (``api.example.com``, the common case of
    a bare host in string data), without running it: every anchor in such a string widens to the whole string, so
    the answer is ``bare_host`` of it. Dotted quads take the long way (the IP rules look at the context)."""
    token = text.strip(b".-")
    if _DOTTED_QUAD.match(token):
        found = Findings()
        scan_region(text, found)
        return tuple(found.hosts), tuple(found.ips), tuple(found.evidence.items())
    host = bare_host(token.decode("ascii"))
    if host is None:
        return (), (), ()
    return (host,), (), ((host, ("bare_host", text_of(text), None)),)


def _at_anchor(data: bytes, i: int, j: int, lo: int, hi: int, prefix_len: int, findings: Findings) -> int:
    """Judge the anchor ``data[i:j]``; return where the token it belongs to ends (anchors before that widen to the
    same token and are skipped: a run of one anchor character costs one judgement per token, not one per byte)."""
    if data[i] == 0x3A:  # ":"
        if data[i + 1] == 0x2F:
            return _url(data, i, j, lo, hi, prefix_len, findings)
        return _ipv6(data, i, lo, hi, findings)
    return _bare(data, i, j, lo, hi, prefix_len, findings)


def scan_whole_string(text: str, findings: Findings, how: str = "whole_string") -> None:
    """A string that is, as a whole, a hostname (``<domain>`` text in a network security config, a meta-data value).

    The whole string being one name is strong context, so the two-label and one-letter rules for bare tokens do not
    apply; the TLD must still be one of the curated bare TLDs and the name must not look like a Java package.
    """
    candidate = text.strip()
    if "." not in candidate or len(candidate) > MAX_HOST_LENGTH:
        return
    labels = candidate.lower().split(".")
    if labels[-1] not in BARE_TLDS or labels[0] in REVERSE_DNS_ROOTS:
        return
    value = _name_or_address(candidate, findings)
    if value:
        findings.note(value, how, candidate, None)


def _name_or_address(text: str, findings: Findings, *, any_scope: bool = False) -> str | None:
    """Record ``text`` (a URL authority's host, or a whole string) as an IPv4 literal or a validated host name."""
    if _DOTTED_QUAD.match(text.encode("ascii", "replace")):
        ip = ip_literal(text, any_scope)
        if ip:
            findings.ips.add(ip)
        return ip
    name = url_host(text)
    if name:
        findings.hosts.add(name)
    return name


def _backwards(run: re.Pattern[bytes], data: bytes, i: int, lo: int, limit: int) -> int:
    """Start of the run of ``run`` characters that ends at ``i`` (looking back at most ``limit`` bytes)."""
    window = data[max(lo, i - limit):i][::-1]
    found = run.match(window)
    assert found is not None  # a run pattern matches the empty string: see ``_forwards``
    return i - found.end()


def _forwards(run: re.Pattern[bytes], data: bytes, pos: int, endpos: int) -> int:
    """End of the run of ``run`` characters that starts at ``pos`` (up to ``endpos``). A run pattern matches the
    empty string, so it always matches (the assertion is for the type checker: ``match`` is typed optional)."""
    found = run.match(data, pos, endpos)
    assert found is not None
    return found.end()


def _string_start_fix(data: bytes, s: int, lo: int, prefix_len: int, limit: int) -> int:
    if prefix_len and (s == lo or data[s - 1] == 0):
        return min(s + prefix_len, limit)
    return s


def _bare(data: bytes, i: int, j: int, lo: int, hi: int, prefix_len: int, findings: Findings) -> int:
    s = _backwards(_NAME_RUN, data, i, lo, MAX_HOST_LENGTH)
    s = _string_start_fix(data, s, lo, prefix_len, i)
    e = _forwards(_NAME_RUN, data, j, min(hi, j + MAX_HOST_LENGTH))
    before = data[s - 1] if s > lo else 0
    token = data[s:e].strip(b".-")
    if before == _EMAIL_MARK:
        return e
    if _not_a_name_here(data, s, e, lo, hi, before):
        return e
    if before in _PLACEHOLDER_MARKS:
        if b"." not in token:
            return e
        # "%s.example.com", "%1$s.cdn.example.com": the placeholder ends in the first label; the rest is a real
        # parent domain of every host the format can produce.
        token = token.split(b".", 1)[1]
    elif _DOTTED_QUAD.match(token):
        after = data[e] if e < hi else 0
        if before in _NOT_BEFORE_IP or after in b"_+":  # 4.1.0.2_release, 1.2.3.4+build
            return e
        if _in_path_data(data, s, e, lo, hi):
            return e  # "1.54.71 2.54.71.24 0": numbers of vector drawable path data, not an address
        context = data[max(lo, s - 12):s].lower()
        if _VERSION_CONTEXT.search(context):
            return e
        with_port = data[e:e + 1] == b":" and data[e + 1:e + 2].isdigit()
        if _SINGLE_DIGIT_QUAD.match(token) and token not in WELL_KNOWN_SHORT_IPS and data[e:e + 1] != b":":
            return e
        ip = ip_literal(token.decode("ascii"), with_port)
        if ip:
            findings.ips.add(ip)
            if not findings.settled(ip):
                findings.note(ip, "ip_port" if with_port else "bare_ip", excerpt_of(data, s, e, lo, hi), None)
        return e
    host = bare_host(token.decode("ascii"))
    if host:
        findings.hosts.add(host)
        if not findings.settled(host):
            left = data[max(lo, s - EXCERPT_SIDE):s]
            line = left[max(left.rfind(b"\0"), left.rfind(b"\n")) + 1:]
            before_text = text_of(line + b"|").lstrip()[:-1]
            why = text_reference(before_text, len(before_text)) if before_text else None
            if findings.hash_comments and in_hash_comment(line):
                why = "config_comment"
            findings.note(host, "bare_host", excerpt_of(data, s, e, lo, hi), why)
    return e


_ENCODED_TABLE_MARKS = frozenset(b"!?&")  # Guava's public-suffix trie: "...s!.&a!bap.us,disnim321,?b!..."
_ENCODED_TABLE_ENDS = frozenset(b",?!&:")


def _not_a_name_here(data: bytes, s: int, e: int, lo: int, hi: int, before: int) -> bool:
    """Noise rules by the bytes around a bare token (docs/network.md, "Noise"):

    * the first segment of a URL path (``/socket.io/1/``, or what is left of ``https://x.cn/socket.io/`` once the
      authority is taken): a single ``/`` before the token (``//cdn.x.cn`` is a protocol-relative URL and stays);
    * a YAML tag URI (``tag:yaml.org,2002:str``, RFC 4151): the tagging authority is a name, not a server;
    * an encoded table (Guava's public-suffix trie ``…!.&a!bap.us,disnim321,…``): the token sits between the
      table's separators ``! ? &`` and ``, ? ! & :``.
    """
    if before == 0x2F:  # "/"
        return s - 2 < lo or data[s - 2] != 0x2F
    if before == 0x3A and data[max(lo, s - 4):s] == b"tag:" and data[e:e + 1] == b",":
        return True
    return before in _ENCODED_TABLE_MARKS and e < hi and data[e] in _ENCODED_TABLE_ENDS


_PATH_DATA = re.compile(rb"[0-9.,\-\s MmLlHhVvCcSsQqTtAaZzEe]*")
_PATH_DATA_SIDE = 24


def _in_path_data(data: bytes, s: int, e: int, lo: int, hi: int) -> bool:
    """Whether the dotted quad at ``data[s:e]`` sits in vector path data (``M12,2C6.48 2,2 6.48…``)."""
    left = data[max(lo, s - _PATH_DATA_SIDE):s]
    left = left[left.rfind(b"\0") + 1:]
    right = data[e:min(hi, e + _PATH_DATA_SIDE)].partition(b"\0")[0]
    around = left + right
    return bool(around) and (b"," in around or b" " in around) and _PATH_DATA.fullmatch(around) is not None


def _url(data: bytes, i: int, j: int, lo: int, hi: int, prefix_len: int, findings: Findings) -> int:
    s = _backwards(_SCHEME_RUN, data, i, lo, MAX_SCHEME_LENGTH)
    s = _string_start_fix(data, s, lo, prefix_len, i)
    if not _NETWORK_SCHEME.search(data[s:i].lower()):
        # Not a network URL; the bare-token anchors still see any real hostname after it. A run of separators
        # ("://://…") is judged once.
        return _forwards(_SEPARATOR_RUN, data, j, min(hi, j + MAX_AUTHORITY_LENGTH))
    end = _forwards(_AUTHORITY, data, j, min(hi, j + MAX_AUTHORITY_LENGTH))
    value = _authority(data[j:end], findings)
    if value and not findings.settled(value):
        left = data[max(lo, s - EXCERPT_SIDE):s]
        before = text_of(left[max(left.rfind(b"\0"), left.rfind(b"\n")) + 1:]).lstrip()
        text = before + excerpt_of(data, s, end, s, hi)
        reference = url_reference(text, len(before))
        findings.note(value, "url" if not before and " " not in text else "url_in_text", text, reference)
    return end


def _authority(authority: bytes, findings: Findings) -> str | None:
    """The host or IP literal of a URL authority (``user:password@host:port``); returns it when it counts."""
    authority = authority.rpartition(b"@")[2]
    if authority.startswith(b"["):
        literal = authority[1:].partition(b"]")[0]
        ip = ip_literal(literal.decode("ascii"), True)
        if ip:
            findings.ips.add(ip)
        return ip
    host = authority.partition(b":")[0].rstrip(b".")
    if host:
        return _name_or_address(host.decode("ascii"), findings, any_scope=True)
    return None


def _ipv6(data: bytes, i: int, lo: int, hi: int, findings: Findings) -> int:
    s = _backwards(_HEX_RUN, data, i, lo, 40)
    e = _forwards(_HEX_DOT_RUN, data, i, min(hi, i + 46))
    before = data[s - 1] if s > lo else 0
    after = data[e] if e < hi else 0
    if _is_name_byte(before) or _is_name_byte(after):
        return max(e, i + 2)  # std::string, Foo::bar, a::b::c — C++/Kotlin, not an address
    ip = bare_ipv6(data[s:e].decode("ascii"))
    if ip:
        findings.ips.add(ip)
        if not findings.settled(ip):
            findings.note(ip, "bare_ip", excerpt_of(data, s, e, lo, hi), None)
    return max(e, i + 2)


def _is_name_byte(b: int) -> bool:
    return 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b in (0x5F, 0x2E, 0x3A)
