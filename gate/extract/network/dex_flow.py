"""Where a string goes after ``const-string`` loads it: a network API, or only a log, a property look-up, a file name,
a comparison or certificate code.

A bare host or dotted quad in DEX string data (no scheme, no port) says nothing by its shape: ``x5.tbs.org`` can be a
server or a file name, ``2.5.29.15`` an address or an X.509 extension OID, ``ro.miui.ui.version.name`` a host or a
system property. The code that loads it tells. For each ``const-string`` of a wanted string the instructions that
follow are read in a straight line (``goto`` followed, at most ``MAX_STEPS`` instructions) until the register is
used: the method it is passed to (``invoke-*``) is its *sink*. A sink in ``NETWORK_SINKS`` makes the value a contact;
a sink in ``REFERENCE_SINKS`` (or a load inside certificate code) makes that load a reference; anything else — a
field, an array, a return, an app method, a branch — is *unknown*. A value is a reference by code only when every
load of it is a reference load, so the reading can only fail towards counting a host, never towards hiding one.

Instruction formats: https://source.android.com/docs/core/runtime/dalvik-bytecode (35c/3rc invokes, 12x/22x/32x
moves, 10t/20t/30t gotos). Loads are found as in ``dex_code`` (opcode bytes at even offsets); a candidate that is
really an operand ends at an unknown sink, which keeps the value a contact.
"""

from __future__ import annotations

import re
import struct
from collections import defaultdict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from gate.extract.network import core
from gate.extract.network.dex_code import _WIDTHS, DexCodeIndex, _index_pattern, find_strings

MAX_STEPS = 12  # instructions read after a load before giving up (straight-line code, gotos followed)

CONTACT, UNKNOWN = "contact", "unknown"  # every other kind of load is a reference reason (``REFERENCE_SINKS``)

# (class descriptor prefix, method name or None for any): the value reaches the network.
NETWORK_SINKS: tuple[tuple[bytes, bytes | None], ...] = (
    (b"Ljava/net/", None),                 # URL, URI, InetAddress.getByName, InetSocketAddress, Socket
    (b"Ljavax/net/", None),                # SSLSocketFactory.createSocket
    (b"Landroid/net/", None),              # Uri.parse, Uri$Builder.authority, SSLCertificateSocketFactory
    (b"Landroid/webkit/WebView;", None),   # loadUrl
    (b"Lokhttp3/", None), (b"Lcom/squareup/okhttp/", None), (b"Lretrofit2/", None), (b"Lcom/android/volley/", None),
    (b"Lorg/apache/http/", None), (b"Lio/netty/bootstrap/", None),
    (b"Ljava/lang/Runtime;", b"exec"),     # "ping www.qq.com"
    (b"Ljava/lang/ProcessBuilder;", None),
    (b"", b"loadUrl"), (b"", b"openConnection"), (b"", b"connect"), (b"", b"getByName"), (b"", b"getAllByName"),
)
# The value only names something: a log line, a property, a file, a comparison, certificate/ASN.1 code.
REFERENCE_SINKS: tuple[tuple[bytes, bytes | None, str], ...] = (
    (b"Landroid/util/Log;", None, "log_message"), (b"Ljava/util/logging/", None, "log_message"),
    (b"Lorg/slf4j/", None, "log_message"), (b"Ljava/io/PrintStream;", None, "log_message"),
    (b"Landroid/os/SystemProperties;", None, "system_property"),
    (b"Ljava/lang/System;", b"getProperty", "system_property"),
    (b"", b"getSystemProperty", "system_property"),  # apps' wrappers around SystemProperties.get
    (b"", b"getSystemProp", "system_property"),
    (b"Ljava/io/File;", b"<init>", "file_name"),
    (b"Ljava/lang/String;", b"equals", "comparison"), (b"Ljava/lang/String;", b"equalsIgnoreCase", "comparison"),
    (b"Ljava/lang/String;", b"contains", "comparison"), (b"Ljava/lang/String;", b"startsWith", "comparison"),
    (b"Ljava/lang/String;", b"endsWith", "comparison"), (b"Ljava/lang/String;", b"indexOf", "comparison"),
    (b"Ljava/lang/String;", b"lastIndexOf", "comparison"), (b"Landroid/text/TextUtils;", b"equals", "comparison"),
    (b"Ljava/security/", None, "certificate_code"), (b"Ljavax/security/", None, "certificate_code"),
    (b"Lorg/bouncycastle/", None, "certificate_code"), (b"Lcom/android/org/bouncycastle/", None, "certificate_code"),
    # For a value stored into an argument array (below): a reflective constructor or method call built at run time,
    # the way libraries probe whether a class works (Netty: SNIHostName("netty.io") through Constructor.newInstance).
    (b"Ljava/lang/reflect/", None, "reflection_probe"),
)
# A load inside a method of certificate code (its class or its parameters name a certificate or ASN.1 type) is a
# reference: there dotted numbers are object identifiers (``checkServerTrusted(X509Certificate[], String)``).
_CERTIFICATE_CODE = re.compile(rb"X509|Certificate|ASN1|Asn1|asn1")

_INVOKE = frozenset(range(0x6E, 0x73))
_INVOKE_RANGE = frozenset(range(0x74, 0x79))
_MOVE_OBJECT, _MOVE_OBJECT_FROM16, _MOVE_OBJECT_16 = 0x07, 0x08, 0x09
_APUT_OBJECT = 0x4D
_GOTO, _GOTO_16, _GOTO_32 = 0x28, 0x29, 0x2A
_STOPS = frozenset({0x0E, 0x0F, 0x10, 0x11, 0x27, 0x2B, 0x2C} | set(range(0x32, 0x3E)) | {0x4D, 0x5B, 0x69}
                   | set(range(0xFA, 0x100)))  # returns, throw, switches, branches, aput/iput/sput-object, invoke-*
# Opcodes whose first operand (vA in the low nibble, or vAA) is written: the loaded value is gone from it.
_WRITES_A_NIBBLE = frozenset({0x01, 0x04, 0x07, 0x12, 0x20, 0x21, 0x23} | set(range(0x52, 0x59))
                             | set(range(0x7B, 0x90)) | set(range(0xB0, 0xD8)))
_WRITES_AA = frozenset({0x02, 0x03, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D} | set(range(0x13, 0x1D))
                       | {0x1F, 0x22} | set(range(0x44, 0x4B)) | set(range(0x60, 0x67)) | set(range(0x90, 0xB0))
                       | set(range(0xD8, 0xE3)))


def sink_kinds(data: bytes, values: dict[str, list[bytes]], *, certificate_context: frozenset[str] = frozenset()
               ) -> dict[str, str]:
    """value -> ``contact``, ``unknown`` or the reason it is a reference (``log_message``, ``system_property``,
    ``file_name``, ``comparison``, ``certificate_code``, ``reflection_probe``), judged by the code that loads the
    strings of ``values``.
    With loads of several reference reasons, the first in sorted order is given.

    ``values`` maps each value to the exact strings that hold it standing alone (``8.8.8.8``, ``ping www.qq.com``).
    A value none of whose strings is loaded (a static field's initial value, an annotation) is ``unknown``.
    For the values in ``certificate_context`` (dotted quads), a load inside certificate code is a reference.
    Empty when the DEX cannot be indexed.
    """
    try:
        index = DexCodeIndex(data)
        flow = _Flow(index)
        by_string = _string_indices(index, values)
        in_certificates = {i for i, names in by_string.items() if names & certificate_context}
        loads = flow.loads(set(by_string), in_certificates)
    except (struct.error, ValueError, IndexError):
        return {}
    verdicts: defaultdict[str, set[str]] = defaultdict(set)
    for string_index, value_names in by_string.items():
        kinds = loads.get(string_index) or {UNKNOWN}
        for value in value_names:
            verdicts[value] |= kinds
    out = {}
    for value in values:
        kinds = verdicts.get(value) or {UNKNOWN}
        out[value] = CONTACT if CONTACT in kinds else UNKNOWN if UNKNOWN in kinds else min(kinds)
    return out


def _string_indices(index: DexCodeIndex, values: dict[str, list[bytes]]) -> dict[int, set[str]]:
    """String index -> the values whose strings it is (exact string match: ``dex_code.find_strings``)."""
    wanted: dict[bytes, set[str]] = defaultdict(set)
    for value, strings in values.items():
        for text in strings:
            wanted[text].add(value)
    return {at: wanted[text] for text, at in find_strings(index.data, wanted).items()}


class _Flow:
    def __init__(self, index: DexCodeIndex) -> None:
        self.index = index
        self.data = index.data
        count, offset = struct.unpack_from("<II", self.data, 0x58)  # method_ids
        if offset + 8 * count > len(self.data):
            raise ValueError("method_ids out of bounds")
        self._method_ids = (count, offset)
        self._sinks: dict[int, str] = {}

    def loads(self, wanted: set[int], in_certificates: AbstractSet[int] = frozenset()) -> dict[int, set[str]]:
        """String index -> the kinds of its loads; for ``in_certificates``, an unknown load inside certificate code
        is a reference."""
        section = self.index._code_section()
        if not wanted or section is None:
            return {}
        data = self.data
        out: defaultdict[int, set[str]] = defaultdict(set)
        for at in _load_sites(data, wanted, *section):
            jumbo = data[at] == 0x1B
            string_index = int.from_bytes(data[at + 2:at + (6 if jumbo else 4)], "little")
            kind = self._follow(at + (6 if jumbo else 4), data[at + 1], section[1])
            if kind == UNKNOWN and string_index in in_certificates and self._in_certificate_code(at):
                kind = "certificate_code"
            out[string_index].add(kind)
        return out

    def _in_certificate_code(self, at: int) -> bool:
        """Whether the method holding the load at ``at`` is certificate code: it calls a method of a certificate
        or ASN.1 class (``X509Certificate.getCriticalExtensionOIDs`` in ``checkServerTrusted``)."""
        body = _method_around(self.data, at, self.index._code_section())
        if body is None:
            return False
        data, (start, end) = self.data, body
        pos = start
        while pos + 2 <= end:
            op = data[pos]
            if op in _INVOKE or op in _INVOKE_RANGE:
                count, offset = self._method_ids
                method = int.from_bytes(data[pos + 2:pos + 4], "little")
                if method < count:
                    (class_index,) = struct.unpack_from("<H", data, offset + 8 * method)
                    if _CERTIFICATE_CODE.search(self.index.type_name(class_index).encode("utf-8", "replace")):
                        return True
            if op == 0 and data[pos + 1]:
                return False  # a payload: the instructions end here
            width = _WIDTHS[op]
            if not width:
                return False
            pos += 2 * width
        return False

    def _follow(self, pos: int, register: int, end: int) -> str:
        """The kind of the first call that takes ``register`` from ``pos`` on (straight-line code)."""
        data = self.data
        registers = {register}
        arrays: set[int] = set()  # the array the value was stored into (aput-object), followed to a reflective call
        for _step in range(MAX_STEPS):
            if pos + 2 > end:
                return UNKNOWN
            op = data[pos]
            if op in _INVOKE or op in _INVOKE_RANGE:
                method = int.from_bytes(data[pos + 2:pos + 4], "little")
                if op in _INVOKE:
                    count, g = data[pos + 1] >> 4, data[pos + 1] & 0xF
                    c, e = data[pos + 4], data[pos + 5]
                    args: Sequence[int] = (c & 0xF, c >> 4, e & 0xF, e >> 4, g)[:count]
                else:
                    first = int.from_bytes(data[pos + 4:pos + 6], "little")
                    args = range(first, first + data[pos + 1])
                if registers.intersection(args):
                    return self._sink(method)
                if arrays.intersection(args):
                    kind = self._sink(method)
                    return kind if kind == "reflection_probe" else UNKNOWN
                pos += 6
                continue
            if op == _APUT_OBJECT and data[pos + 1] in registers and not arrays:
                arrays.add(data[pos + 2])  # aput-object vAA (the value), vBB (the array), vCC (the index)
                pos += 4
                continue
            if op == _MOVE_OBJECT:
                a, b = data[pos + 1] & 0xF, data[pos + 1] >> 4
                registers.add(a) if b in registers else registers.discard(a)
            elif op == _MOVE_OBJECT_FROM16:
                a, b = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "little")
                registers.add(a) if b in registers else registers.discard(a)
            elif op == _MOVE_OBJECT_16:
                a, b = (int.from_bytes(data[pos + k:pos + k + 2], "little") for k in (2, 4))
                registers.add(a) if b in registers else registers.discard(a)
            elif op in (_GOTO, _GOTO_16, _GOTO_32):
                if op == _GOTO:
                    offset = int.from_bytes(data[pos + 1:pos + 2], "little", signed=True)
                else:
                    offset = int.from_bytes(data[pos + 2:pos + (4 if op == _GOTO_16 else 6)], "little", signed=True)
                if offset <= 0:
                    return UNKNOWN  # a loop: not straight-line code
                pos += 2 * offset
                continue
            elif op in _STOPS or (op == 0 and data[pos + 1]):
                return UNKNOWN  # stored, returned, thrown, compared in a branch, or a payload: not followed
            elif op in _WRITES_A_NIBBLE:
                registers.discard(data[pos + 1] & 0xF)
            elif op in _WRITES_AA:
                registers.discard(data[pos + 1])
            if not registers:
                return UNKNOWN
            width = _WIDTHS[op]
            if not width:
                return UNKNOWN
            pos += 2 * width
        return UNKNOWN

    def _sink(self, method: int) -> str:
        kind = self._sinks.get(method)
        if kind is None:
            kind = self._sinks[method] = self._classify(method)
        return kind

    def _classify(self, method: int) -> str:
        count, offset = self._method_ids
        if method >= count:
            return UNKNOWN
        class_index, _proto, name_index = struct.unpack_from("<HHI", self.data, offset + 8 * method)
        owner = self.index.type_name(class_index).encode("utf-8", "replace")
        name = self.index.string(name_index).encode("utf-8", "replace")
        for prefix, wanted_name in NETWORK_SINKS:
            if owner.startswith(prefix) and (wanted_name is None or name == wanted_name):
                return CONTACT
        for prefix, wanted_name, reason in REFERENCE_SINKS:
            if owner.startswith(prefix) and (wanted_name is None or name == wanted_name):
                return reason
        return UNKNOWN



FEW_STRINGS = 24  # up to this many wanted strings, their indices are searched as literals (fast prefix search)


def _load_sites(data: bytes, wanted: set[int], lo: int, hi: int) -> list[int]:
    """Offsets of the ``const-string``/``const-string/jumbo`` instructions (at even offsets) loading ``wanted``."""
    if _compiled_load_sites is not None:  # the same offsets in one pass of C over the code section (``core``)
        return _compiled_load_sites(data, wanted, lo, hi, len(wanted) <= FEW_STRINGS)
    return python_load_sites(data, wanted, lo, hi)


def python_load_sites(data: bytes, wanted: set[int], lo: int, hi: int) -> list[int]:
    """``_load_sites`` in Python, the oracle of the compiled core."""
    sites = []
    if len(wanted) <= FEW_STRINGS:
        # The index bytes are rarer than the opcode byte 0x1a: a literal search for each, checked backwards.
        for index in wanted:
            for size, opcode in ((2, 0x1A), (4, 0x1B)):
                if index >= 1 << (8 * size):
                    continue
                needle, find = index.to_bytes(size, "little"), data.find
                at = find(needle, lo + 2, hi)
                while at >= 0:
                    start = at - 2
                    if not start & 1 and data[start] == opcode:
                        sites.append(start)
                    at = find(needle, at + 1, hi)
        return sorted(sites)
    pattern = re.compile(b"\\x1a[\\x00-\\xff](?:" + _index_pattern(wanted, 2) + b")|\\x1b[\\x00-\\xff](?:"
                         + _index_pattern(wanted, 4) + b")", re.DOTALL)
    return [m.start() for m in pattern.finditer(data, lo, hi) if not m.start() & 1]


_compiled_load_sites: Callable[[bytes, set[int], int, int, bool], list[int]] | None = None


def _bind() -> None:
    global _compiled_load_sites
    compiled = core.compiled_core
    _compiled_load_sites = compiled.load_sites if core.active() == "compiled" and compiled is not None else None


core.on_select(_bind)


MAX_METHOD_BYTES = 1 << 16  # how far back from a load the start of its method is looked for


def _method_around(data: bytes, at: int, section: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """(insns start, insns end) of the method whose code holds the instruction at ``at``, found by looking back
    for a code_item header (16 bytes, 4-byte aligned) whose instructions, decoded from their start, reach ``at``
    exactly. Walking every class_data_item to map offsets to methods costs seconds on a large DEX; this costs a
    backward search over one method. With ``section`` (the code_item section), a header must also end its
    instructions inside it and point its debug info outside it (debug_info_items live in the data section)."""
    lo, hi = section if section is not None else (0, len(data))
    for header in range(at - 16 - ((at - 16) % 4), max(lo - 4, at - MAX_METHOD_BYTES), -4):
        registers, ins, outs, tries = struct.unpack_from("<HHHH", data, header)
        debug_info, units = struct.unpack_from("<II", data, header + 8)
        start, end = header + 16, header + 16 + 2 * units
        if not (ins <= registers and outs <= 255 and tries <= 4096 and start <= at < end <= hi):
            continue
        if debug_info and (lo <= debug_info < hi or debug_info >= len(data)):
            continue
        pos = start
        while pos < at:
            op = data[pos]
            if op == 0 and data[pos + 1]:
                break
            width = _WIDTHS[op]
            if not width:
                break
            pos += 2 * width
        if pos == at:
            return start, end
    return None
