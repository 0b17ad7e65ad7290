"""Is an occurrence of a host a place the app connects to, or only a reference to it?

A host written in a licence text, an XML parser feature identifier or a "see https://… for more information" sentence
is never contacted, yet it looks exactly like one that is. Each occurrence is judged here by where it sits (the
entry) and by the text around it; a host is a ``reference`` only when every occurrence is one, so a host that is
also used as a plain URL stays a contact candidate. The rules were written from real packages; docs/network.md has
an example of each.

Reasons (the ``reference`` field of an evidence item):

* ``licence_file``: LICENSE/NOTICE/README/COPYING texts and the OSS-licences resources (``third_party_licenses``);
* ``build_metadata``: Maven descriptors under ``META-INF/maven/`` and ``*.pom`` files;
* ``message_catalogue``: ``.properties`` files on the Java class path (outside ``assets/`` and ``res/``), the
  message bundles libraries ship (``org/apache/…/Messages.properties``);
* ``schema_location``: DTD/XSD files, and URLs that name a schema (``….xsd``, ``….dtd``, ``<!DOCTYPE``,
  ``schemaLocation``, ``$schema``);
* ``xml_identifier``: namespace URIs (``xmlns="…"``) and XML parser feature/property identifiers
  (``http://apache.org/xml/features/…``, ``http://java.sun.com/xml/jaxp/properties/…``);
* ``oauth_scope``: OAuth scope identifiers (``https://www.googleapis.com/auth/…``);
* ``link_in_text``: a URL inside a sentence or a comment ("See https://netty.io/wiki/… for more information",
  ``// https://…``): a documentation link shown or logged, not fetched.
"""

from __future__ import annotations

import posixpath
import re

LICENCE_NAMES = ("license", "licence", "notice", "readme", "copying", "copyright", "authors", "changelog",
                 "third_party_licen", "third-party-licen", "thirdpartynotices", "third_party_notices", "lgpl",
                 "gpl", "apache-2", "al2.0", "mpl", "epl")
SCHEMA_EXTENSIONS = frozenset({"xsd", "dtd", "rng", "ent", "mod"})

_URL_END = re.compile(r"[\s\"'<>`\\]")
_SCHEME_BACKWARDS = re.compile(r"[A-Za-z0-9+.\-]*")  # matched on the reversed text before "://"
# Two words, each followed by white space, right before the URL: "for more information, see https://…".
_PROSE_BEFORE = re.compile(
    r"(?:[A-Za-z]{2,}[,.:;!?]?\s+[A-Za-z]{2,}[,.:;!?]?\s+[(<\[]?"
    r"|(?:^|\s)(?:see|visit|at|read|consult|refer\s+to|documentation:?|docs:?)\s+[(<\[]?)\Z", re.IGNORECASE)
_COMMENT_BEFORE = re.compile(r"(?://|/\*+|^\s*\*|<!--|^\s*#|\s#)[^\n\"'=]{0,80}\Z")
_NAMESPACE_BEFORE = re.compile(r"(?:xmlns(?::[\w.\-]+)?|targetNamespace|namespace|NAMESPACE|_NS|Namespace)\s*[=:(,]?\s*[\"']?\Z")
_SCHEMA_BEFORE = re.compile(r"(?:DOCTYPE|SYSTEM|PUBLIC|schemaLocation|\$schema|\bdtd\b|\bxsd\b)[^\n]{0,120}\Z",
                            re.IGNORECASE)
# Feature/property identifiers of XML parsers (SAX, Xerces, JAXP, XmlPull): http URIs, never fetched.
# Anything in a URL that one of the path rules below could match; most URLs have none and are judged in one search.
_PATH_HINT = re.compile(r"/auth/|\.(?:xsd|dtd|rng|ent|mod)\b|featur|propert", re.IGNORECASE)
_XML_IDENTIFIER_PATH = re.compile(r"/(?:[\w.\-]+/)*(?:features?|properties|property)(?:/|\.html#)", re.IGNORECASE)


def entry_reference(name: str) -> str | None:
    """Why every occurrence in entry ``name`` is a reference, or None when the entry can hold contacts."""
    inner = name.rsplit("!/", 1)[-1]
    lowered = inner.lower()
    base = posixpath.basename(lowered)
    stem, _, extension = base.partition(".")
    if lowered.startswith("meta-inf/maven/") or extension == "pom":
        return "build_metadata"
    if base.startswith(LICENCE_NAMES) or stem.endswith(("license", "licence", "licenses", "notice")) \
            or extension in ("license", "licence", "notice"):
        return "licence_file"
    if base.rpartition(".")[2] in SCHEMA_EXTENSIONS and "." in base:
        return "schema_location"
    if base.endswith(".properties") and not lowered.startswith(("assets/", "res/")):
        return "message_catalogue"
    return None


def url_reference(text: str, start: int) -> str | None:
    """Why the URL at ``text[start:]`` (its scheme starts there) is only a reference, or None.

    ``text`` is the string (or line) around the URL, so the words before it can be judged.
    """
    end = _URL_END.search(text, start)
    url = text[start:end.start() if end else len(text)]
    if start == 0 and not _PATH_HINT.search(url):
        return None  # a string that is just a URL (the common case): only its path could make it a reference
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    path = slash + path
    host = authority.rpartition("@")[2].partition(":")[0].lower()
    before = text[max(0, start - 160):start]
    if host.endswith("googleapis.com") and path.startswith("/auth/"):
        return "oauth_scope"
    bare_path = path.split("?", 1)[0].split("#", 1)[0]
    if bare_path.rpartition(".")[2].lower() in SCHEMA_EXTENSIONS and "." in posixpath.basename(bare_path):
        return "schema_location"
    if _SCHEMA_BEFORE.search(before):
        return "schema_location"
    if _NAMESPACE_BEFORE.search(before):
        return "xml_identifier"
    if scheme.lower() == "http" and _XML_IDENTIFIER_PATH.search(path):
        return "xml_identifier"
    if _COMMENT_BEFORE.search(before) or _PROSE_BEFORE.search(before):
        return "link_in_text"
    return None


def scheme_start(text: str, separator: int) -> int:
    """Where the scheme of the URL whose ``://`` is at ``separator`` begins."""
    match = _SCHEME_BACKWARDS.match(text[max(0, separator - 16):separator][::-1])
    return separator - match.end()
