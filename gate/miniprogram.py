"""Mini-program declarations (小程序): what a mini-program platform holds instead of a package.

A mini-program platform never receives an installable package it could read: it holds the mini program's declared
identity — the AppID it issued, the name and the subject (主体, the registered entity) — and the server domains the
developer declared in the platform's console (request, socket, upload, download and business (业务) domains; the
client refuses any other). Notice 105 binds such platforms like app stores, so the gate decides on the declaration
against filings with platform ``miniprogram`` (the AppID as identifier).

``declaration_facts`` turns a declaration into ``PackageFacts`` of format and platform ``miniprogram``: the AppID is
the package, the name the label, every declared domain a ``contact`` host (evidence ``how: "declaration"``, the
source naming its list, e.g. ``request_domain``), and the declaration itself in ``details["miniprogram"]``. The
decision engine then takes it like a package (gate.decide: steps 2 and 5 do not apply — the AppID is the platform's
own, and there is no signature — so an unfiled AppID blocks, an unfiled domain asks for review, a filed one allows),
and the check is stored, audited, listed and shown like any other. ``sha256`` is the digest of the canonical
declaration, so the same declaration checked twice is the same input.

Pure: no I/O. Bad input raises ``DeclarationInvalid`` (400, ``declaration_invalid``) naming the field.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Mapping

from gate.errors import GateError
from gate.extract.facts import Evidence, HostFact, NetworkFacts, PackageFacts
from gate.filings.validate import MINIPROGRAM_APPID

FORMAT = PLATFORM = "miniprogram"
# The lists a mini-program platform keeps (WeChat's 服务器域名 and 业务域名; other platforms name the same lists).
DOMAIN_LISTS = ("request_domain", "socket_domain", "upload_domain", "download_domain", "business_domain")
SCHEMES = {"request_domain": ("https",), "socket_domain": ("wss",), "upload_domain": ("https",),
           "download_domain": ("https",), "business_domain": ("https",)}
MAX_DOMAINS = 200  # per list: the platforms allow a few dozen; more is not a declaration a person wrote
MAX_TEXT = 255
MAX_BATCH = 1000  # declarations in one CLI file
_HOST = re.compile(r"(?=.{1,253}\Z)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)")


class DeclarationInvalid(GateError):
    """A declaration the gate cannot decide on: a missing AppID, a domain that is no host name, …"""

    code = "declaration_invalid"
    status = 400


def _text(body: Mapping, name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DeclarationInvalid(f"`{name}` is required / 必须填写 {name}")
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise DeclarationInvalid(f"`{name}` must be a string of at most {MAX_TEXT} characters / {name} 须为不超过 "
                                 f"{MAX_TEXT} 个字符的字符串")
    return value.strip()


def declared_host(value, where: str, schemes: tuple[str, ...] = ("https",)) -> str:
    """``https://api.example.cn`` or ``api.example.cn`` (as the platforms show them) -> ``api.example.cn``.

    A scheme, when written, must be one the list takes (``SCHEMES``: the client reaches a request domain over
    HTTPS, a socket domain over WSS, and refuses anything else, so ``http://`` there is a declaration mistake).
    """
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise DeclarationInvalid(f"{where}: a domain is a non-empty string / 域名须为非空字符串")
    text = value.strip()
    parsed = urllib.parse.urlsplit(text if "://" in text else f"{schemes[0]}://{text}")
    if parsed.scheme.lower() not in schemes:
        raise DeclarationInvalid(f"{where}: {text!r} is not {' or '.join(s + '://' for s in schemes)} (the list's "
                                 f"only scheme) / 该域名列表只接受 {'、'.join(schemes)} 协议")
    try:
        host = (parsed.hostname or "").rstrip(".")
        parsed.port  # noqa: B018 - a port some platforms allow; only a malformed one (ValueError) matters here
    except ValueError:
        host = ""
    if not host or parsed.path not in ("", "/") or parsed.query or parsed.fragment or parsed.username:
        raise DeclarationInvalid(f"{where}: {text!r} is not a domain (scheme://host[:port]) / 不是合法的域名")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:  # the platforms accept host names only; an IP address here is a mistake, not a declaration
        raise DeclarationInvalid(f"{where}: {text!r} is an IP address; mini-program platforms accept domains "
                                 "only / 小程序服务器域名不能是IP地址")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise DeclarationInvalid(f"{where}: {text!r} is not a valid host name / 不是合法的主机名") from None
    if "." not in host:
        raise DeclarationInvalid(f"{where}: {text!r} is not a fully qualified domain / 不是完整域名")
    if not _HOST.fullmatch(host):  # no wildcards: the platforms take exact host names
        raise DeclarationInvalid(f"{where}: {text!r} is not a valid host name (letters, digits, hyphens; no "
                                 "wildcards) / 不是合法的主机名（不支持通配符）")
    return host


def declaration_facts(body) -> PackageFacts:
    """A declaration (a JSON object) -> facts the decision engine takes (module docstring)."""
    from gate.extract.network.domains import registrable_domain

    if not isinstance(body, Mapping):
        raise DeclarationInvalid("the declaration must be a JSON object / 声明须为JSON对象")
    appid = _text(body, "appid", required=True)
    if appid is None or not MINIPROGRAM_APPID.match(appid):  # None never: required=True raises
        raise DeclarationInvalid(f"`appid` {appid!r} is not a mini-program AppID (letters, digits, _ and -; 4-64) "
                                 "/ AppID 格式不正确")
    name = _text(body, "name", required=True)
    subject = _text(body, "subject", required=False)
    unknown = sorted(set(body) - {"appid", "name", "subject", "version", *DOMAIN_LISTS})
    if unknown:
        raise DeclarationInvalid(f"unknown fields: {', '.join(unknown)} / 未知字段")
    version = _text(body, "version", required=False)
    declared: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    for field in DOMAIN_LISTS:
        values = body.get(field) or []
        if not isinstance(values, list) or len(values) > MAX_DOMAINS:
            raise DeclarationInvalid(f"`{field}` must be a list of at most {MAX_DOMAINS} domains / {field} 须为域名列表")
        field_hosts = [declared_host(v, f"{field}[{i}]", SCHEMES[field]) for i, v in enumerate(values)]
        declared[field] = sorted(set(field_hosts))
        for host in declared[field]:
            sources.setdefault(host, []).append(field)
    hosts = tuple(HostFact(host, registrable_domain(host), tuple(where),
                           evidence=tuple(Evidence(w, "declaration", host) for w in where))
                  for host, where in sorted(sources.items()))
    canonical = {"appid": appid, "name": name, "subject": subject, "version": version, **declared}
    digest = hashlib.sha256(json.dumps(canonical, ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")).encode("utf-8")).hexdigest()
    return PackageFacts(path=f"miniprogram:{appid}", format=FORMAT, platform=PLATFORM, package=appid,
                        version_name=version, label=name, network=NetworkFacts(hosts=hosts), sha256=digest,
                        details={"miniprogram": canonical})


def declared_subject(facts: PackageFacts) -> str | None:
    """The subject (主体) the declaration names: step 8 compares it with the filing's unit."""
    return (facts.details.get("miniprogram") or {}).get("subject")
