"""Is this token a hostname the app can reach, and what is its registrable domain?

Two levels of trust, because where a token was found says how sure we can be:

* **URL hosts** (after ``http://``, ``wss://`` …), manifest ``android:host`` values and whole strings of binary XML:
  any ICANN top-level domain is accepted — the context already says "this is a host".
* **Bare tokens** found inside arbitrary string data: only top-level domains from a curated list, lowercase only,
  and with the false-positive rules below. ``.app``, ``.so``, ``.zip``, ``.mov``, ``.py``, ``.sh``, ``.md`` … are
  real TLDs but far more often file names (``libfoo.so``, ``data.zip``, ``x.app``), so they are never accepted bare.

Registrable domains come from the ICANN section of the Public Suffix List shipped inside the ``publicsuffixlist``
package (never fetched at run time). The private section is ignored on purpose: an MIIT filing (备案) is made for a
domain bought from a registry (``myqcloud.com``), not for a cloud customer's sub-zone (``x.cos.myqcloud.com``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from itertools import islice

from gate.extract.network import core, suffixes

MAX_HOST_LENGTH = 253  # RFC 1035 presentation form without the trailing dot
# LDH labels of 1-63 characters; the last label may be an IDNA TLD (xn--fiqs8s), never all digits (that is an IP).
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9-]{2,63}\Z")

# TLDs accepted for bare tokens with any number of labels (``example.com``). Chosen for what Chinese apps use and
# for being rare as file extensions or property names.
STRONG_BARE_TLDS = frozenset(
    "com cn net org io co xyz vip hk tw jp kr sg us de fr ru eu uk au ca edu gov mobi asia biz".split())
# TLDs accepted bare only with three or more labels (``api.foo.top``): as two labels they are mostly file names or
# property paths (``build.cc``, ``Makefile.in``, ``app.pro``, ``view.top``, ``messages.mo``, ``readme.me``).
WEAK_BARE_TLDS = frozenset(
    "cc in mo me pro ai tv info top site online club shop store ltd wang ren link live tech cloud work group "
    "fun art ink icu name".split())
BARE_TLDS = STRONG_BARE_TLDS | WEAK_BARE_TLDS

# A first label like these marks a Java/Kotlin package or class name written with dots (``com.tencent.mm``,
# ``io.flutter.view``, ``android.intent.action.VIEW``), not a host: no real host starts with ``com.``.
REVERSE_DNS_ROOTS = frozenset(
    "com org net io edu gov android androidx java javax kotlin kotlinx dalvik sun jdk".split())

# A first label like these marks an Android system property name (``ro.miui.ui.version.name``,
# ``persist.sys.language``), read with SystemProperties.get, not a host (frameworks/base SystemProperties: the
# ``ro.``/``persist.``/``ctl.`` prefixes have special meaning; ``dalvik.``/``gsm.``/``ril.`` are platform namespaces).
SYSTEM_PROPERTY_ROOTS = frozenset("ro persist ctl gsm ril".split())

# "www.example.com" translated: Chromium's ``example_url`` string and others ship the word "example" in each
# language; like example.com (RFC 2606) these name no service (www.ejemplo.com in System WebView's resources).
TRANSLATED_EXAMPLES = frozenset(
    "ejemplo exemplo exemple esempio beispiel voorbeeld primer przyklad priklad adibidea esimerkki eksempel exempel "
    "pelda ornek contoh vidu halimbawa primjer".split())

# Hosts that appear in every package without ever being contacted: XML namespace and schema identifiers, and the
# names RFC 2606 / RFC 6761 reserve for documentation. Dropped from the facts.
NEVER_CONTACTED = frozenset({
    "schemas.android.com", "www.w3.org", "w3.org", "ns.adobe.com", "xmlpull.org", "www.xmlpull.org",
    "schemas.xmlsoap.org", "schemas.microsoft.com", "purl.org", "xml.org", "xml.apache.org",
    "example.com", "example.net", "example.org", "www.example.com", "www.example.net", "www.example.org",
})
_RESERVED_TLDS = frozenset({"example", "invalid", "localhost", "test", "local"})


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """The ICANN registrable domain (eTLD+1) of ``host``; None when the host is itself a public suffix or unknown."""
    return _registrable(host)


def registrable_domains(hosts: list[str]) -> list[str | None]:
    """``registrable_domain`` of each of ``hosts`` (a package's facts: thousands of distinct hosts, each looked up
    once), mapped over the bound look-up without a Python call per host. The first goes through
    ``registrable_domain``, which binds the compiled look-up on the first call of a process."""
    if not hosts:
        return []
    first = registrable_domain(hosts[0])
    return [first, *map(_registrable, islice(hosts, 1, None))]


@lru_cache(maxsize=65536)
def url_host(text: str) -> str | None:
    """``text`` as a lowercase hostname when it is one under an ICANN TLD (context already says it is a host)."""
    return _url_host(text)


@lru_cache(maxsize=65536)
def bare_host(text: str) -> str | None:
    """``text`` as a hostname when, found bare in string data, it is one with high confidence; else None."""
    return _bare_host(text)


def python_url_host(text: str) -> str | None:
    """``url_host`` in Python: the oracle of the compiled core, and its path for non-ASCII text."""
    host = text.strip().rstrip(".")
    if not host.isascii() or len(host) > MAX_HOST_LENGTH:
        return None
    host = host.lower()
    if host.startswith("*."):  # manifest and network-security-config wildcards: the parent domain is what is used
        host = host[2:]
    if not _HOST.match(host) or host in NEVER_CONTACTED:
        return None
    labels = host.split(".")
    if labels[-1] in _RESERVED_TLDS:
        return None
    size = suffixes.public_suffix_length(labels)
    if size == 0 or size >= len(labels):  # unknown TLD, or the host is a bare public suffix such as com.cn
        return None
    return host


def python_bare_host(text: str) -> str | None:
    """``bare_host`` in Python (the oracle of the compiled core)."""
    if text != text.lower():
        # Hosts are written in lowercase in code and configuration; dotted tokens with capitals are class names
        # (com.foo.Bar), resource paths (R.string.app) or prose.
        return None
    labels = text.split(".")
    if len(labels) < 2 or labels[-1] not in BARE_TLDS:
        return None
    if labels[0] in REVERSE_DNS_ROOTS or labels[0] in SYSTEM_PROPERTY_ROOTS:
        return None
    if len(labels) == 3 and labels[0] == "www" and labels[1] in TRANSLATED_EXAMPLES:
        return None
    if len(labels) == 2:
        if labels[-1] in WEAK_BARE_TLDS:
            return None
        if len(labels[0]) < 2:
            # One-letter second-level labels are minified JavaScript (t.co, e.in, n.me), not hosts.
            return None
    return python_url_host(text)  # not the cached dispatch: the oracle never calls the compiled core


Lookup = Callable[[str], "str | None"]
_url_host: Lookup = python_url_host
_bare_host: Lookup = python_bare_host
_registrable: Lookup = suffixes.registrable_domain


def configure_compiled() -> None:
    """Hand the tables to the compiled core and bind its lookups. The public-suffix table is handed over as
    ``suffixes.table``, which the core calls on its first public-suffix look-up, and ``suffixes.group``, which it
    calls for a TLD whose names are not built yet, as the Python path does."""
    global _url_host, _bare_host, _registrable
    compiled = core.compiled_core
    assert compiled is not None  # core.select only picks "compiled" when it is built
    compiled.configure(suffixes.table, suffixes.group, NEVER_CONTACTED, _RESERVED_TLDS, BARE_TLDS,
                       WEAK_BARE_TLDS, REVERSE_DNS_ROOTS, SYSTEM_PROPERTY_ROOTS, TRANSLATED_EXAMPLES,
                       python_url_host, python_bare_host, suffixes.registrable_domain)
    _url_host, _bare_host, _registrable = compiled.url_host, compiled.bare_host, compiled.registrable_domain


def _configured(name: str) -> Lookup:
    """The compiled lookup ``name``, configured on its first call."""

    def first_call(text: str) -> str | None:
        configure_compiled()
        lookup: Lookup = getattr(core.compiled_core, name)
        return lookup(text)

    return first_call


def _bind() -> None:
    global _url_host, _bare_host, _registrable
    for cached in (registrable_domain, url_host, bare_host):
        cached.cache_clear()
    if core.active() == "compiled":
        _url_host, _bare_host, _registrable = (_configured("url_host"), _configured("bare_host"),
                                               _configured("registrable_domain"))
    else:
        _url_host, _bare_host, _registrable = python_url_host, python_bare_host, suffixes.registrable_domain


core.on_select(_bind)
