"""Every domain and IP literal a package contains, with the entries it came from.

A filing (备案) lists the domains and IPs an app uses; each must itself be filed. ``NetworkScanner`` is fed every
entry the pipeline inflates (once) and looks only where strings live:

* DEX string data (``classes*.dex`` and DEX inside nested APK/JAR/ZIP files, one level deep);
* string pools of ``resources.arsc`` and binary XML (``res/xml/*`` network security configs, layouts), and the
  parsed manifest (deep-link ``android:host``, meta-data values);
* text assets and raw resources (HTML, JS, JSON, XML, properties …, also React Native JS bundles);
* read-only data of native libraries (ELF ``.rodata``/``.data``; Flutter's ``libapp.so`` keeps its Dart strings there);
* Hermes bytecode bundles and Unity ``global-metadata.dat`` are scanned as a whole (see docs/network.md for limits).

Images, media, fonts and signature files are skipped without being inflated (``wants``). Nothing here raises on bad
bytes: a structure that does not add up is scanned as plain bytes or skipped.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import posixpath
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from gate.errors import GateError
from gate.extract.facts import Evidence, HostFact, IpFact, NetworkFacts, Problem
from gate.extract.network import core, regions
from gate.extract.network.addresses import ip_scope
from gate.extract.network.dex_code import classes_loading
from gate.extract.network.dex_flow import CONTACT, UNKNOWN, sink_kinds
from gate.extract.network.domains import registrable_domains, url_host
from gate.extract.network.finder import (
    MAX_SCAN_ANCHORS,
    Findings,
    ScanBudget,
    ScanBudgetExhausted,
    StringCache,
    scan_region,
    scan_strings,
    scan_whole_string,
)
from gate.extract.network.references import HASH_COMMENT_EXTENSIONS, entry_reference
from gate.extract.network.sdk_hosts import SDK_DESCRIPTOR_PREFIXES, sdk_for_class, sdk_for_host, sdk_for_hosts

__all__ = ["NetworkScanner", "scan_entry"]

MANIFEST_NAME = "AndroidManifest.xml"
SCAN_BUDGET_PROBLEM = "network_scan_budget"
SCAN_BUDGET_MESSAGE = ("网络资源扫描在 {entry} 处用尽了扫描预算（已判断 {anchors} 个候选位置），其余内容未扫描 / the network "
                       "scan used up its budget at {entry} ({anchors} candidate positions judged); the rest of the "
                       "package was not scanned")
NESTED_SEPARATOR = "!/"  # "assets/plugin.apk!/classes.dex", the jar: URL convention
MAX_NESTING = 1  # nested packages are opened one level deep; a zip inside a nested zip is not opened

ZIP_MAGIC = b"PK\x03\x04"
HERMES_MAGIC = b"\xc6\x1f\xbc\x03\xc1\x03\x19\x1f"  # HBC file magic 0x1F1903C103BC1FC6, little-endian
UNITY_METADATA_MAGIC = b"\xaf\x1b\xb1\xfa"  # global-metadata.dat sanity 0xFAB11BAF, little-endian

# Never inflated: pixels, sound, video, fonts and archives we do not open carry no host names worth the time.
SKIPPED_EXTENSIONS = frozenset(
    "png jpg jpeg webp gif bmp ico heic avif mp3 mp4 m4a aac ogg oga opus wav flac amr 3gp webm mkv avi mov "
    "ttf otf woff woff2 ttc gz bz2 xz 7z br lz4 zst kotlin_builtins kotlin_metadata kotlin_module".split())
TEXT_EXTENSIONS = frozenset(
    "html htm xhtml js mjs cjs jsbundle bundle json json5 xml properties txt conf cfg config ini yml yaml toml "
    "plist csv css svg lua env md".split())
# v1 signature files list digests of entry names, not hosts.
SIGNATURE_FILE_EXTENSIONS = frozenset({"sf", "rsa", "dsa", "ec"})
TEXT_SNIFF_BYTES = 4096
MIN_TEXT_RATIO = 0.95  # share of printable / UTF-8 bytes in the first TEXT_SNIFF_BYTES for "text"

_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n" + bytes(range(0x80, 0x100))
MAX_EVIDENCE = 5  # occurrences kept per host or IP (contact candidates first); ``sources`` lists every entry
# Where a value was found, when the place says more than the shape of the string (README "Facts": evidence ``how``).
HOW_BY_READER = {"elf": "native", "text": "asset", "whole": "asset"}
RESOURCE_READERS = frozenset({"resources", "xml", "manifest"})
BARE_SHAPES = frozenset({"bare_host", "bare_ip"})  # occurrences judged by the code that loads them (DEX)

# An occurrence kept while scanning: the fields of ``Evidence`` in the order its ``__init__`` takes and sets them;
# ``facts()`` builds the public objects once, from rows of their fields (``_instances``).
EvidenceRow = tuple[str, str, str, str | None, str | None]  # (source, how, excerpt, reference, origin)
EVIDENCE_FIELDS = tuple(f.name for f in dataclasses.fields(Evidence))
HOST_FACT_FIELDS = tuple(f.name for f in dataclasses.fields(HostFact))
_T = TypeVar("_T")
# ``_hostcore.instances`` with the compiled core: the objects built in C, without a Python ``__init__`` call each.
_compiled_instances: Callable[[type[Any], tuple[str, ...], Sequence[tuple[Any, ...]]], list[Any]] | None = None


def _instances(cls: type[_T], fields: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> list[_T]:
    """``[cls(*row) for row in rows]``: the Python path, and the oracle of the compiled one."""
    build = _compiled_instances
    if build is not None:
        built: list[_T] = build(cls, fields, rows)
        return built
    return [cls(*row) for row in rows]


# ``_hostcore.host_fact_rows`` with the compiled core: ``facts()``' loop over the host names, in C.
_compiled_fact_rows: Callable[..., list[tuple[Any, ...]]] | None = None
# ``_hostcore.add_source`` and ``note_values``: ``_record``'s and ``_note``'s loops over an entry's values, in C.
_compiled_add_source: Callable[[dict[str, set[str]], Iterable[str], str], None] | None = None
_compiled_note_values: Callable[..., None] | None = None


def _bind() -> None:
    global _compiled_instances, _compiled_fact_rows, _compiled_add_source, _compiled_note_values
    compiled = core.compiled_core
    if core.active() == "compiled" and compiled is not None:
        _compiled_instances, _compiled_fact_rows = compiled.instances, compiled.host_fact_rows
        _compiled_add_source, _compiled_note_values = compiled.add_source, compiled.note_values
    else:
        _compiled_instances = _compiled_fact_rows = _compiled_add_source = _compiled_note_values = None


core.on_select(_bind)


class NetworkScanner:
    """Collects hosts and IPs over the entries of one package, remembering which entries each came from."""

    def __init__(self, *, budget: int = MAX_SCAN_ANCHORS) -> None:
        self._budget = ScanBudget(budget)
        # Problems of the scan itself, as (code, message): the pipeline adds them to the package's problems.
        self.problems: list[tuple[str, str]] = []
        self._host_sources: defaultdict[str, set[str]] = defaultdict(set)
        self._ip_sources: defaultdict[str, set[str]] = defaultdict(set)
        # host or IP -> occurrences, as rows of ``Evidence`` fields: the public type is built once, by ``facts()``
        self._evidence: dict[str, list[EvidenceRow]] = {}
        self._contacts: set[str] = set()  # values with at least one contact occurrence
        # host -> (DEX entry, class descriptor or None for "other code") of the code that loads it
        self._loaders: defaultdict[str, set[tuple[str, str | None]]] = defaultdict(set)
        self._other_code_hosts: list[set[str]] = []  # hosts of DEX files without any SDK class
        self.unreadable: list[str] = []  # entries whose structure could not be read (scanned as far as possible)
        self._strings: StringCache = {}  # string bytes -> (hosts, ips), shared by all entries of the package
        self._own_versions: set[str] = set()  # the manifest's versionName: BuildConfig.VERSION_NAME in DEX too

    def wants(self, name: str) -> bool:
        """Whether ``name`` is worth inflating for the scan (decided on the name alone, before inflating)."""
        if name.endswith("/"):
            return False
        extension = _extension(name)
        if extension in SKIPPED_EXTENSIONS:
            return False
        if name.startswith("META-INF/") and (extension in SIGNATURE_FILE_EXTENSIONS or name == "META-INF/MANIFEST.MF"):
            return False
        return True

    def feed(self, name: str, data: bytes) -> None:
        """Scan one inflated entry. Decides what it is from its first bytes and its name; never raises."""
        self._feed(name, bytes(data), depth=0)

    def feed_string_regions(self, name: str, data: bytes, regions: Iterable[tuple[int, int]]) -> None:
        """Scan the NUL-terminated strings in ``data[start:end]`` for each ``(start, end)`` of ``regions``: string
        sections of an executable format the caller located (Mach-O ``__cstring`` and kin, read through lief)."""
        if self.budget_exhausted:
            return
        findings = Findings(budget=self._budget)
        try:
            for start, end in regions:
                scan_strings(data, findings, start, end, cache=self._strings)
        except ScanBudgetExhausted:
            self._exhausted(name)
        self._record(name, findings, "elf")  # native string data, found the way ELF .rodata is

    def feed_hosts(self, name: str, hosts: Iterable[str], *, how: str = "network_config") -> None:
        """Record web host names the caller read from a structure that names hosts as such (an iOS app's
        associated-domains entitlement, its App Transport Security exception domains): like App Links, any ICANN
        TLD counts."""
        findings = Findings()
        for host in hosts:
            valid = url_host(host.removeprefix("*."))
            if valid:
                findings.hosts.add(valid)
                findings.evidence.setdefault(valid, (how, host, None))
        self._record(name, findings)

    def feed_manifest(self, document: object, name: str = MANIFEST_NAME) -> None:
        """Scan the parsed manifest (``gate.extract.axml.XmlDocument``): deep-link hosts and every string value.
        ``name``: the source to record (``<APK>!/AndroidManifest.xml`` for an APK inside a split set)."""
        findings = Findings()
        elements = _elements(document)
        for element in elements:
            if getattr(element, "name", None) == "intent-filter":
                _deep_link_hosts(element, findings)
        # The app's own version ("1.0.0.68") is in the pool as a string like any other; it is never an address.
        version = next((_attribute_text(e, "versionName") for e in elements[:1]
                        if getattr(e, "name", None) == "manifest"), None)
        if version:
            self._own_versions.add(version)
        for text in getattr(document, "strings", ()) or ():
            if isinstance(text, str) and text != version:
                _scan_text_value(text, findings)
        self._record(name, findings, "manifest")

    def facts(self) -> NetworkFacts:
        """The hosts and IPs found so far."""
        code_sdks = self._sdks_by_code()
        contacts, kept_evidence, host_sources = self._contacts, self._evidence, self._host_sources
        # A package can have thousands of hosts: no Python call per host. The registrable domains and the table's
        # SDK labels are looked up in bulk, and the evidence and the facts are built in one call each (``_instances``:
        # in C with the compiled core) from rows of their fields.
        names = sorted(host_sources)
        rows: list[EvidenceRow] = []
        counts = []
        for host in names:
            kept = kept_evidence.get(host, ())
            rows.extend(_in_order(kept))
            counts.append(len(kept))
        built = _instances(Evidence, EVIDENCE_FIELDS, rows)
        by_table_of = sdk_for_hosts(names)
        if _compiled_fact_rows is not None:  # the loop below in C
            rows_of = _compiled_fact_rows(names, registrable_domains(names), built, counts, host_sources, by_table_of,
                                          code_sdks, contacts, MAX_EVIDENCE)
            return NetworkFacts(hosts=tuple(_instances(HostFact, HOST_FACT_FIELDS, rows_of)), ips=self._ip_facts())
        facts: list[tuple[Any, ...]] = []
        append, at = facts.append, 0
        for host, domain, count in zip(names, registrable_domains(names), counts):
            evidence = tuple(built[at:at + count])
            at += count
            by_table = by_table_of.get(host)
            by_code = code_sdks.get(host) if code_sdks else None
            if by_table is None and by_code is not None:
                evidence = evidence + by_code[1][:MAX_EVIDENCE]
            append((host, domain, tuple(sorted(host_sources[host])),
                    by_table or (by_code[0] if by_code else None), "contact" if host in contacts else "reference",
                    evidence, "host" if by_table else "code" if by_code else None))
        return NetworkFacts(hosts=tuple(_instances(HostFact, HOST_FACT_FIELDS, facts)), ips=self._ip_facts())

    def _ip_facts(self) -> tuple[IpFact, ...]:
        contacts = self._contacts
        return tuple(
            IpFact(ip=ip, sources=_sorted(sources), kind="contact" if ip in contacts else "reference",
                   evidence=self._evidence_of(ip), scope=ip_scope(ip))
            for ip, sources in sorted(self._ip_sources.items(), key=lambda item: _ip_order(item[0]))
            if not self._is_own_version(ip))

    # -- internals -----------------------------------------------------------------------------------------------

    def problem_facts(self) -> tuple[Problem, ...]:
        """The scan's own problems (``network_scan_budget``) as package problems."""
        return tuple(Problem(code, message) for code, message in self.problems)

    @property
    def budget_exhausted(self) -> bool:
        return self._budget.remaining < 0

    def _feed(self, name: str, data: bytes, *, depth: int) -> None:
        if self.budget_exhausted:
            return  # the problem is recorded; the rest of the package is not scanned
        if data.startswith(ZIP_MAGIC):
            if depth < MAX_NESTING:
                self._feed_nested(name, data, depth=depth)
            return
        findings = Findings(known_contacts=self._contacts, budget=self._budget)
        reader = None
        try:
            reader = scan_entry(name, data, findings, self._strings)
        except ScanBudgetExhausted:
            self._exhausted(name)
        except (struct.error, ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - defensive
            # The readers are written not to raise; should one still do, keep what was found and go on.
            self.unreadable.append(f"{name}: {type(exc).__name__}")
        if reader == "dex" and findings:
            try:
                self._judge_by_code(data, findings)
            except (struct.error, ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - defensive
                self.unreadable.append(f"{name}: {type(exc).__name__}")
        if reader == "dex" and findings.hosts:
            try:
                self._attribute_by_code(name, data, findings.hosts)
            except (struct.error, ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - defensive
                self.unreadable.append(f"{name}: {type(exc).__name__}")
        if reader == "xml" and (b"network-security-config" in data or b"n\0e\0t\0w\0o\0r\0k\0-\0s" in data):
            reader = "network_config"
        self._record(name, findings, reader)

    def _exhausted(self, name: str) -> None:
        """Bounded work per package: an entry made of one repeated anchor ("1.1.1.1 1.1.1.1 …") must not keep a CPU
        busy. What was found so far is kept, and the package is not read as completely scanned (a problem)."""
        self.problems.append((SCAN_BUDGET_PROBLEM, SCAN_BUDGET_MESSAGE.format(entry=name,
                                                                             anchors=self._budget.spent - 1)))

    def _feed_nested(self, name: str, data: bytes, *, depth: int) -> None:
        # Imported lazily: the container module is heavy only for the nested case.
        from gate.extract.container import ApkContainer

        try:
            container = ApkContainer.from_bytes(data)
        except GateError as exc:
            self.unreadable.append(f"{name}: {exc.code}")
            return
        with container:
            for entry in container.entries:
                if entry.is_directory or not self.wants(entry.name):
                    continue
                try:
                    inner = container.read(entry)
                except GateError as exc:
                    self.unreadable.append(f"{name}{NESTED_SEPARATOR}{entry.name}: {exc.code}")
                    continue
                self._feed(f"{name}{NESTED_SEPARATOR}{entry.name}", inner, depth=depth + 1)

    def _record(self, source: str, findings: Findings, reader: str | None = None) -> None:
        entry_why = entry_reference(source)
        how_here = HOW_BY_READER.get(reader or "")
        host_sources = self._host_sources
        if _compiled_add_source is not None:
            _compiled_add_source(host_sources, findings.hosts, source)
        else:
            for value in findings.hosts:
                host_sources[value].add(source)
        # Values with a contact occurrence already are decided (``sources`` still lists this entry): one C-level
        # set difference instead of a test per value, since a large app repeats most hosts in every DEX file.
        self._note(source, findings, findings.hosts - self._contacts, entry_why, how_here, reader)
        ips = []
        for value in findings.ips:
            how, excerpt, _why = findings.evidence.get(value) or ("", "", None)
            if reader in RESOURCE_READERS and how == "bare_ip" and excerpt == value and ip_scope(value) != "public":
                continue  # "10.2.33.4" as a whole resource value reads as a version, not an address
            self._ip_sources[value].add(source)
            if value not in self._contacts:
                ips.append(value)
        self._note(source, findings, ips, entry_why, how_here, reader)

    def _note(self, source: str, findings: Findings, values: Iterable[str], entry_why: str | None, how_here: str | None,
              reader: str | None) -> None:
        """Keep this entry's occurrence of each of ``values`` (not yet decided) as evidence."""
        evidence, contacts, found = self._evidence, self._contacts, findings.evidence
        default = (how_here or "string", "", None)
        forced_how = how_here or ("network_config" if reader == "network_config" else None)
        if _compiled_note_values is not None:  # the loop below in C
            _compiled_note_values(values, found, evidence, contacts, source, forced_how, default, entry_why,
                                  MAX_EVIDENCE)
            return
        for value in values:
            how, excerpt, why = found.get(value) or default
            why = entry_why or why
            item = (source, forced_how or ("resource" if how == "whole_string" else how), excerpt, why, None)
            kept = evidence.get(value)
            if kept is None:
                evidence[value] = [item]
            elif len(kept) < MAX_EVIDENCE:
                kept.append(item)
            elif why is None:
                kept[-1] = item  # a contact occurrence is worth more than a fifth reference
            else:
                continue
            if why is None:
                contacts.add(value)

    def _judge_by_code(self, data: bytes, findings: Findings) -> None:
        """Bare hosts and dotted quads of this DEX (no scheme, no port: their shape says nothing) are judged by the
        code that loads them (``dex_flow``): a network API makes a contact, even of a string of words ("ping
        www.qq.com" run by ``Runtime.exec``); only logs, property look-ups, file names, comparisons or certificate
        code make a reference; anything else leaves the judgement of the text as it is."""
        wanted: dict[str, list[bytes]] = {}
        for value, (how, excerpt, _why) in findings.evidence.items():
            if how in BARE_SHAPES and value not in self._contacts and excerpt.isascii():
                wanted[value] = [value.encode("ascii")] + ([excerpt.encode("ascii")] if excerpt != value else [])
        if not wanted:
            return
        quads = frozenset(value for value in wanted if ":" not in value and value[-1].isdigit())
        for value, kind in sink_kinds(data, wanted, certificate_context=quads).items():
            how, excerpt, why = findings.evidence[value]
            if kind == CONTACT and why is not None:
                findings.evidence[value] = (how, excerpt, None)
            elif kind not in (CONTACT, UNKNOWN) and why is None:
                findings.evidence[value] = (how, excerpt, kind)

    def _attribute_by_code(self, name: str, data: bytes, hosts: set[str]) -> None:
        """Remember which classes of this DEX load each host the host table does not attribute."""
        unknown: set[str] = set()

        def wanted() -> set[str]:
            unknown.update(host for host in hosts if sdk_for_host(host) is None)
            return unknown

        loaders = classes_loading(data, wanted, SDK_DESCRIPTOR_PREFIXES)
        if loaders is None:
            # No SDK class in this DEX: its strings are there for other code (kept as one set, no per-host work).
            self._other_code_hosts.append(hosts)
            return
        for host in unknown:
            # A string in a DEX is there for its code; with no SDK class loading it, other code does.
            for loader in loaders.get(host) or (None,):
                self._loaders[host].add((name, loader))

    def _sdks_by_code(self) -> dict[str, tuple[str, tuple[Evidence, ...]]]:
        """Host -> (SDK, evidence) when only one SDK's classes load it."""
        out: dict[str, tuple[str, tuple[Evidence, ...]]] = {}
        for host, loaders in self._loaders.items():
            if any(host in others for others in self._other_code_hosts):
                continue
            labels = {sdk_for_class(loader) if loader else None for _source, loader in loaders}
            label = labels.pop() if len(labels) == 1 else None
            if label is None:  # classes of several SDKs, or of code no SDK is known by
                continue
            by_source: defaultdict[str, list[str]] = defaultdict(list)
            for source, loader in sorted(loaders):
                if loader is not None:
                    by_source[source].append(loader)
            evidence = tuple(
                Evidence(source, "code", "loaded by " + ", ".join(names[:3])
                         + (f" (+{len(names) - 3} more)" if len(names) > 3 else ""))
                for source, names in by_source.items())
            out[host] = (label, evidence)
        return out

    def _is_own_version(self, ip: str) -> bool:
        """The app's versionName ("1.0.0.68"), standing alone wherever it is (the manifest, BuildConfig in DEX), is
        its version, never an address; in a URL or with a port it would still count."""
        return ip in self._own_versions and all(row[1] in ("bare_ip", "manifest") for row in self._evidence.get(ip, ()))

    def _evidence_of(self, value: str) -> tuple[Evidence, ...]:
        return tuple(_instances(Evidence, EVIDENCE_FIELDS, _in_order(self._evidence.get(value, ()))))


def scan_entry(name: str, data: bytes, findings: Findings, cache: StringCache | None = None) -> str | None:
    """Add the hosts and IPs of one (non-archive) entry to ``findings``, choosing the reader by content.

    This is the scan's stable entry point for other readers (any byte string whose strings may hold hosts).
    ``cache`` remembers the answer for each string already analysed (shared over the entries of one package).
    Returns the reader used: ``dex``, ``elf``, ``xml``, ``resources``, ``whole``, ``text``, or None (skipped).
    """
    cache = {} if cache is None else cache
    head = data[:8]
    if head.startswith(regions.DEX_MAGIC):
        findings.markup_links = True  # HTML for Html.fromHtml: "Text with a <a href=\"http://…\">link</a>"
        region = regions.dex_string_data(data) or regions.dex_fallback(data)
        scan_strings(data, findings, region.start, region.end, prefix_len=region.prefix_len, cache=cache)
        return "dex"
    if head.startswith(regions.ELF_MAGIC):
        sections = regions.elf_read_only_data(data)
        if sections is None:
            scan_strings(data, findings, cache=cache)
        for section in sections or ():
            scan_strings(data, findings, section.start, section.end, cache=cache)
        return "elf"
    if head[:2] in (b"\x02\x00", b"\x03\x00") and len(data) >= 8:
        is_xml = head[:2] == b"\x03\x00"
        findings.markup_links = not is_xml  # string resources may be HTML shown as text
        _scan_resource_file(data, findings, cache, is_xml=is_xml)
        return "xml" if is_xml else "resources"
    if head.startswith((HERMES_MAGIC, UNITY_METADATA_MAGIC)):
        # Both keep strings back to back without separators; scanned whole (docs/network.md has the plan to parse
        # their string tables).
        scan_region(data, findings)
        return "whole"
    if _is_text(name, data):
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            data = data.decode("utf-16", "replace").encode("ascii", "replace")
        findings.hash_comments = _extension(name) in HASH_COMMENT_EXTENSIONS
        scan_region(data, findings)
        return "text"
    return None


def _scan_resource_file(data: bytes, findings: Findings, cache: StringCache, *, is_xml: bool) -> None:
    for region in regions.resource_string_pools(data):
        flat, flat_region = regions.pool_bytes(data, region)
        scan_strings(flat, findings, flat_region.start, flat_region.end, prefix_len=flat_region.prefix_len,
                     cache=cache)
        if is_xml:
            # Binary XML pools are small, and a whole pool string that is a domain (``<domain>`` in a network
            # security config) is a host even under TLDs that are not believed in running text.
            for text in _pool_strings(flat, flat_region):
                scan_whole_string(text, findings)


def _pool_strings(flat: bytes, region: regions.Region) -> list[str]:
    """The strings of a (flattened) pool region, split at NULs with their length prefix removed."""
    prefix_len = region.prefix_len
    # Most strings of a layout's pool hold no dot at all: the filter runs on whole pieces first (no slice per
    # string), and the length prefix is cut only from the few that may (a prefix byte can be a dot too).
    dotted = [raw for raw in flat[region.start:region.end].split(b"\0") if b"." in raw]
    return [text.decode("utf-8", "replace") for raw in dotted if b"." in (text := raw[prefix_len:])]


def _deep_link_hosts(intent_filter: object, findings: Findings) -> None:
    """``<data android:host>`` of an intent filter; App Links (http/https) accept any ICANN TLD."""
    schemes, hosts = set(), []
    for child in getattr(intent_filter, "children", ()) or ():
        if getattr(child, "name", None) != "data":
            continue
        scheme, host = _attribute_text(child, "scheme"), _attribute_text(child, "host")
        if scheme:
            schemes.add(scheme.lower())
        if host:
            hosts.append(host)
    web = not schemes or bool(schemes & {"http", "https"})
    for host in hosts:
        if web:
            name = url_host(host)
            if name:
                findings.hosts.add(name)
                findings.note(name, "deep_link", host, None)
        else:
            scan_whole_string(host.removeprefix("*."), findings, "deep_link")


def _attribute_text(element: object, name: str) -> str | None:
    get = getattr(element, "get", None)
    attribute = get(name) if callable(get) else None
    if attribute is None:
        return None
    value = getattr(attribute, "value", None)
    text = getattr(value, "string", None) or getattr(attribute, "raw", None)
    return text if isinstance(text, str) else None


def _scan_text_value(text: str, findings: Findings) -> None:
    if "." not in text and ":" not in text:
        return
    scan_region(text.encode("utf-8", "replace"), findings)
    scan_whole_string(text, findings)
    for value, (how, excerpt, why) in list(findings.evidence.items()):
        if how in ("url", "url_in_text", "bare_host", "bare_ip", "ip_port", "whole_string"):
            findings.evidence[value] = ("manifest", excerpt, why)


def _elements(document: object) -> list[Any]:
    iterate = getattr(document, "iter", None)
    return list(iterate()) if callable(iterate) else []


def _is_text(name: str, data: bytes) -> bool:
    if _extension(name) in TEXT_EXTENSIONS:
        return True
    head = data[:TEXT_SNIFF_BYTES]
    if not head or b"\0" in head:
        return False
    printable = len(head) - len(head.translate(None, _PRINTABLE))
    return printable >= MIN_TEXT_RATIO * len(head)


def _in_order(rows: Sequence[EvidenceRow]) -> Sequence[EvidenceRow]:
    """A value's occurrences in the order its facts list them: contact candidates first (no ``reference``), then
    by entry (``source``)."""
    return rows if len(rows) < 2 else sorted(rows, key=lambda row: (row[3] is not None, row[0]))


def _sorted(sources: set[str]) -> tuple[str, ...]:
    return tuple(sources) if len(sources) == 1 else tuple(sorted(sources))


def _extension(name: str) -> str:
    return posixpath.splitext(name)[1][1:].lower()


def _ip_order(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return address.version, int(address)
