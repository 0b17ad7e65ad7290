"""Is an occurrence of a host a place the app connects to, or only a reference to it?

A host written in a licence text, an XML parser feature identifier or a "see https://… for more information" sentence
is never contacted, yet it looks exactly like one that is. Each occurrence is judged here by where it sits (the
entry) and by the text around it; a host is a ``reference`` only when every occurrence is one, so a host that is
also used as a plain URL stays a contact candidate. The rules were written from real packages; docs/network.md has
an example of each.

Reasons (the ``reference`` field of an evidence item):

* ``licence_file``: LICENSE/NOTICE/README/COPYING texts and the OSS-licences resources (``third_party_licenses``);
* ``credits_page``: credits, acknowledgement and open-source-licence pages shipped as assets (``assets/licensing.html``,
  ``credits.html``, ``open_source_licenses.html``): authors' and projects' home pages, shown to the user;
* ``config_comment``: text after ``#`` in a configuration file (YAML, properties, INI, TOML, shell), whatever follows
  the ``#``;
* ``documentation_page``: a library's documentation page named in its log and exception messages
  (``http://www.slf4j.org/codes.html``, ``LIBRARY_DOCUMENTATION``);
* ``build_metadata``: Maven descriptors under ``META-INF/maven/`` and ``*.pom`` files;
* ``message_catalogue``: ``.properties`` files on the Java class path (outside ``assets/`` and ``res/``), the
  message bundles libraries ship (``org/apache/…/Messages.properties``);
* ``schema_location``: DTD/XSD files, and URLs that name a schema (``….xsd``, ``….dtd``, ``<!DOCTYPE``,
  ``schemaLocation``, ``$schema``);
* ``xml_identifier``: namespace URIs (``xmlns="…"``) and XML parser feature/property identifiers
  (``http://apache.org/xml/features/…``, ``http://java.sun.com/xml/jaxp/properties/…``);
* ``oauth_scope``: OAuth scope identifiers (``https://www.googleapis.com/auth/…``);
* ``link_in_text``: a URL or bare host inside a sentence or a comment ("See https://netty.io/wiki/… for more
  information", "Visit google.co.uk/accounts/recovery.", ``// https://…``): a link shown or logged, not fetched;
* ``licence_link``: a URL to a licence text (``…/licenses/LICENSE-2.0``, ``…/legal/epl-2.0``);
* ``documentation_link``: a page of a source-code host (``https://github.com/<org>/<repo>/blob/…``) or a Markdown
  document (``…/Troubleshooting.md#``), the targets of "see …" messages built by concatenation.
"""

from __future__ import annotations

import functools
import posixpath
import re

LICENCE_NAMES = ("license", "licence", "notice", "readme", "copying", "copyright", "authors", "changelog",
                 "third_party_licen", "third-party-licen", "thirdpartynotices", "third_party_notices", "lgpl",
                 "gpl", "apache-2", "al2.0", "mpl", "epl")
SCHEMA_EXTENSIONS = frozenset({"xsd", "dtd", "rng", "ent", "mod"})
CREDITS_NAMES = ("licensing", "credits", "acknowledg", "attribution", "open_source", "opensource", "oss_licen",
                 "oss-licen", "about_libraries", "third_party", "thirdparty")
# Configuration files where "#" starts a comment wherever it stands after white space.
HASH_COMMENT_EXTENSIONS = frozenset({"yaml", "yml", "properties", "ini", "cfg", "conf", "toml", "sh", "prop", "env"})
# Documentation pages libraries name in their log and exception messages (host -> path prefixes). slf4j:
# org.slf4j.helpers.Util's CODES_PREFIX "http://www.slf4j.org/codes.html", prefixed to every warning it prints.
LIBRARY_DOCUMENTATION = {"www.slf4j.org": ("/codes.html",), "slf4j.org": ("/codes.html",)}

_URL_END = re.compile(r"[\s\"'<>`\\]")
_SCHEME_BACKWARDS = re.compile(r"[A-Za-z0-9+.\-]*")  # matched on the reversed text before "://"
# Two words, each followed by white space, right before the URL: "for more information, see https://…",
# "Please follow/upvote https://…"; or one word that introduces a link ("Visit google.co.uk/accounts/recovery").
_PROSE_BEFORE = (
    r"(?:(?:(?<![\w.\-])[(<\[]?[A-Za-z][A-Za-z'/\-]+[,.:;!?]?\s+){2}[(<\[]?"
    r"|(?:^|\s)[(<\[]?(?:see|visit|at|read|consult|refer\s+to|documentation:?|docs:?)\s+[(<\[]?)\Z", re.IGNORECASE)
# Before a bare host (no scheme): one word of any script and a space ("Visita google.com/accounts/recovery.",
# "访问 example.cn"). A host an app connects to stands alone in its string, or after "=", ":" or a quote.
_WORD_BEFORE = (r"(?<![\w.\-/])[^\W\d_]{2,}[,.:;!?]?\s+\Z", 0)
# A comment marker, then text: "// https://…", "/* see https://… */", "# https://…", "<!-- … -->". A protocol-relative
# "//host" has no space after the slashes and stays a URL.
_COMMENT_BEFORE = (r"(?:(?:^|\s)//+\s|/\*+\s|^\s*\*\s|<!--\s*|(?:^|\s)#\s)[^\n\"'=]{0,80}\Z", 0)
_NAMESPACE_BEFORE = (r"(?:xmlns(?::[\w.\-]+)?|targetNamespace|namespace|NAMESPACE|_NS|Namespace)\s*[=:(,]?\s*[\"']?\Z", 0)
# SYSTEM and PUBLIC are DTD keywords only in capitals (XML is case-sensitive): a quick app's JS names its modules
# "system.fetch" / "@system.network", and a URL after such a name is fetched, not a schema.
_SCHEMA_BEFORE = (r"(?:DOCTYPE|(?-i:\bSYSTEM\b|\bPUBLIC\b)|schemaLocation|\$schema|\bdtd\b|\bxsd\b)"
                  r"[^\n]{0,120}\Z", re.IGNORECASE)
# Anything in a URL that one of the path rules below could match; most URLs have none and are judged in one search.
# Written in lowercase: the scanner also searches it case-sensitively on lowercased bytes.
PATH_HINT_SOURCE = (r"/auth/|\.(?:xsd|dtd|rng|ent|mod|md)\b|featur|propert|licen[cs]|/copying|/legal/"
                    r"|/(?:blob|tree|wiki|issues|pull)/|/codes\.html")
_PATH_HINT = re.compile(r"^http://|" + PATH_HINT_SOURCE, re.IGNORECASE)
# The same, for the scanner's fast path over raw bytes (authority and path of an https/wss/… URL).
URL_NEEDS_JUDGING = re.compile(rb"\s|" + PATH_HINT_SOURCE.encode(), re.IGNORECASE)
# http:// identifiers: the first path segment of a namespace or API-identifier URI (``http://relaxng.org/ns/…``,
# ``http://apache.org/xml/serializer``, ``http://java.sun.com/jaxp/xpath/dom``). Identifiers keep the old scheme.
_IDENTIFIER_SEGMENTS = frozenset(
    "xml ns namespace namespaces jaxp sax dom xpath xsl xslt xmlns schema schemas xmlschema dtd".split())
# Organisations whose http:// URIs in code are standard identifiers, not services (registrable domains).
NAMESPACE_AUTHORITIES = frozenset({
    "apache.org", "sun.com", "relaxng.org", "oasis-open.org", "xmlsoap.org", "jcp.org", "json-schema.org",
    "openxmlformats.org", "xml.org", "saxproject.org", "xmlpull.org", "w3.org", "purl.org", "adobe.com"})
_CODE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org"})
_CODE_PAGE = (r"^/[^/]+/[^/]+/(?:blob|tree|wiki|issues|pull)/", 0)
_LICENCE_PATH = re.compile(r"/licen[cs]es?(?:/|[-_.]|\Z)|/copying|/legal/", re.IGNORECASE)
# Literal words the context rules need: without one of them the (slower) rule cannot match.
SCHEMA_WORDS = re.compile(r"DOCTYPE|SYSTEM|PUBLIC|schemaLocation|\$schema|dtd|xsd", re.IGNORECASE)
NAMESPACE_WORDS = re.compile(r"ns|NS|amespace|AMESPACE")
_COMMENT_MARKS = (r"//|/\*|^\s*\*|<!--|#", 0)
# Feature/property identifiers of XML parsers (SAX, Xerces, JAXP, XmlPull): http URIs, never fetched.
_XML_IDENTIFIER_PATH = re.compile(r"/(?:[\w.\-]+/)*(?:features?|properties|property)(?:/|\.html#)", re.IGNORECASE)


@functools.cache
def _compiled(rule: tuple[str, int]) -> re.Pattern[str]:
    """A context rule above (source, flags), compiled on first use. Most packages never need them: a URL that is a
    whole string is judged by its path alone, and most URLs in code follow a quote. Compiling them all at import
    cost ~1 ms of every process's start-up."""
    return re.compile(*rule)


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
    if lowered.startswith("assets/") and base.startswith(CREDITS_NAMES) and extension in ("html", "htm", "txt"):
        return "credits_page"
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
    if _LICENCE_PATH.search(bare_path):
        return "licence_link"
    if SCHEMA_WORDS.search(before) and _compiled(_SCHEMA_BEFORE).search(before):
        return "schema_location"
    if NAMESPACE_WORDS.search(before[-40:]) and _compiled(_NAMESPACE_BEFORE).search(before[-40:]):
        return "xml_identifier"
    if scheme.lower() == "http" and _XML_IDENTIFIER_PATH.search(path):
        return "xml_identifier"
    if scheme.lower() == "http" and (path.split("/", 2)[1:2] or [""])[0].lower() in _IDENTIFIER_SEGMENTS:
        return "xml_identifier"
    if scheme.lower() == "http" and ".".join(host.split(".")[-2:]) in NAMESPACE_AUTHORITIES:
        return "xml_identifier"
    if (host in _CODE_HOSTS and _compiled(_CODE_PAGE).search(path)) or bare_path.lower().endswith(".md"):
        return "documentation_link"
    if bare_path.startswith(LIBRARY_DOCUMENTATION.get(host, ("\0",))):
        return "documentation_page"
    return _in_text(before, words=False)


_HASH_COMMENT = re.compile(rb"(?:^|[ \t])#")


def in_hash_comment(line_before: bytes) -> bool:
    """Whether an occurrence whose line starts with ``line_before`` is inside a ``#`` comment of a configuration
    file (``key: value #搜索 … https://developer.android.com/…``)."""
    return b"#" in line_before and _HASH_COMMENT.search(line_before) is not None


def scheme_start(text: str, separator: int) -> int:
    """Where the scheme of the URL whose ``://`` is at ``separator`` begins."""
    match = _SCHEME_BACKWARDS.match(text[max(0, separator - 16):separator][::-1])
    return separator - match.end() if match else separator  # it matches the empty string: never None


def text_reference(text: str, start: int) -> str | None:
    """Why a bare host at ``text[start:]`` is only a reference: in a sentence ("Visit google.co.uk/…")."""
    return _in_text(text[max(0, start - 160):start], words=True)


def _in_text(before: str, *, words: bool) -> str | None:
    """``link_in_text`` when the text before an occurrence is a comment or a sentence (cheap checks first: most
    URLs in code follow a quote, where neither can end)."""
    if not before or before[-1] in "\"'=":
        return None
    if _compiled(_COMMENT_MARKS).search(before) and _compiled(_COMMENT_BEFORE).search(before):
        return "link_in_text"
    if before[-1].isspace() or before[-1] in "(<[":
        near = before[-100:]
        if _compiled(_PROSE_BEFORE).search(near) or (words and _compiled(_WORD_BEFORE).search(near)):
            return "link_in_text"
    return None
