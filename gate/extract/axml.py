"""Android binary XML (AXML) read the way the platform's ResXMLTree reads it — and refused wherever tools disagree.

The device (libandroidfw ``ResXMLTree``/``ResXMLParser``, ``XmlBlock``) is lenient: it skips unknown chunks, lets a
later string pool replace an earlier one, honours any ``attributeStart``/``attributeSize`` and finds android
attributes by *resource id* (the resource map), not by name. Tools (androguard, apktool, jadx) make other choices, and
attackers craft manifests in the gaps so that a reviewer's tool shows one package or version and the device another.
This reader accepts what every reader reads alike — including layouts other build tools write (undeclared namespace
prefixes, android attributes whose namespace is written as the prefix "android", padding after a node's content,
UTF-8 or UTF-16 string pools) — and raises ``ManifestError`` (a stable
code, see ``REFUSALS``; docs/readers.md says which reader could disagree for each) where readers part ways.

Public API:

    parse_xml(data, *, domain="manifest") -> XmlDocument
    XmlDocument: root (Element), strings, iter() over all elements in document order
    Element: namespace, name, attributes, children, line; get(name, namespace=ANDROID_NS), by_id(resource_id)
    Attribute: namespace, name, resource_id, raw, value (TypedValue)
    TypedValue: type, data, string (the pool string when type is TYPE_STRING)
    StringPool / read_string_pool / ChunkReader: shared with ``gate.extract.arsc``
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from gate.errors import GateError, LimitExceeded, ManifestError
from gate.records import record

ANDROID_NS = "http://schemas.android.com/apk/res/android"
# The android namespace written as its customary prefix instead of its URI. Some build tools write attributes so
# (Godot's Android export, for the <uses-permission> elements it adds); see ``_DocumentParser.attribute``.
ANDROID_PREFIX = "android"

# --- limits ------------------------------------------------------------------------------------------------------
# Real manifests are tens of kilobytes with a few thousand elements and a depth below ten; the platform refuses
# oversized manifests as well. These bounds keep a crafted file from costing us memory or time.
MAX_XML_SIZE = 4 * 1024 * 1024
MAX_ELEMENTS = 65_536
MAX_ATTRIBUTES = 262_144  # over the whole document
MAX_DEPTH = 128
MAX_STRINGS = 1_000_000
# Decoding work allowed per string pool, as a multiple of its string data. aapt writes each string once, so an honest
# pool decodes each byte once; strings whose offsets overlap (string k starting inside string j) would make the cost
# grow with the square of the pool size — minutes of CPU for a 4 MiB manifest.
MAX_DECODE_FACTOR = 4

# --- refusals ----------------------------------------------------------------------------------------------------
# The stable error code is "<domain>_<kind>"; the domain is "manifest" for AndroidManifest.xml (other binary XML
# files such as res/xml/network_security_config.xml may be read with their own domain). Keep these stable.
REFUSALS: dict[str, str] = {
    "not_binary_xml": "the bytes are not a binary XML document (plain-text XML, random bytes, wrong first chunk)",
    "truncated": "a chunk or structure extends past the end of the data",
    "bad_chunk": "a chunk header is impossible: header size other than aapt's, size overrunning its parent or too "
                 "small for its content, misaligned, unknown chunk type, repeated or misplaced string pool/resource "
                 "map, bytes after the document",
    "string_pool": "string pool counts, offsets, flags, lengths or encodings are inconsistent (tools and the device "
                   "would read different strings), or a string index is out of range",
    "resource_map": "the resource map disagrees with the attribute names: an id on a non-android attribute, an "
                    "android attribute without id, or an id that belongs to another attribute name (an attribute "
                    "whose namespace is written as the prefix \"android\" counts as an android attribute)",
    "attribute_layout": "attributeStart/attributeSize other than 20, or attributes out of aapt's sorted order "
                        "(the platform's attribute finder assumes that order)",
    "duplicate_attribute": "an element carries the same attribute (namespace+name, or resource id) twice",
    "value_invalid": "a typed value with size other than 8, res0 other than 0, an unknown type, or a string value "
                     "whose raw and typed strings differ",
    "structure": "elements do not nest (end without start, mismatched end, unclosed element), or text outside the "
                 "root element. Namespace declarations are not checked: the platform matches attributes by "
                 "namespace URI and resource id, so an undeclared or unbalanced prefix changes nothing",
    "root_invalid": "no root element, or more than one root element",
    "too_large": "a named limit (size, element or attribute count, depth) is exceeded",
}

# --- chunk types and sizes (frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h) ---------------------
RES_STRING_POOL_TYPE = 0x0001
RES_TABLE_TYPE = 0x0002
RES_XML_TYPE = 0x0003
RES_XML_START_NAMESPACE_TYPE = 0x0100
RES_XML_END_NAMESPACE_TYPE = 0x0101
RES_XML_START_ELEMENT_TYPE = 0x0102
RES_XML_END_ELEMENT_TYPE = 0x0103
RES_XML_CDATA_TYPE = 0x0104
RES_XML_RESOURCE_MAP_TYPE = 0x0180

CHUNK_HEADER_SIZE = 8
STRING_POOL_HEADER_SIZE = 28
XML_NODE_HEADER_SIZE = 16  # ResChunk_header + lineNumber + comment
ATTRIBUTE_EXT_SIZE = 20  # ResXMLTree_attrExt
ATTRIBUTE_SIZE = 20  # ResXMLTree_attribute, which aapt and aapt2 always write
# Smallest chunk sizes of the fixed-size nodes: header + extension (namespace: prefix+uri, end: ns+name, cdata:
# data+value). ResXMLParser::nextNode checks only this minimum and steps to the next node by the chunk size, as the
# other readers do, so padding after the extension is read alike everywhere.
_FIXED_NODE_SIZES = {
    RES_XML_START_NAMESPACE_TYPE: XML_NODE_HEADER_SIZE + 8,
    RES_XML_END_NAMESPACE_TYPE: XML_NODE_HEADER_SIZE + 8,
    RES_XML_END_ELEMENT_TYPE: XML_NODE_HEADER_SIZE + 8,
    RES_XML_CDATA_TYPE: XML_NODE_HEADER_SIZE + 4 + 8,
}

NO_INDEX = 0xFFFFFFFF

# ResStringPool_header flags
SORTED_FLAG = 0x001
UTF8_FLAG = 0x100

# Res_value data types
TYPE_NULL = 0x00
TYPE_REFERENCE = 0x01
TYPE_ATTRIBUTE = 0x02
TYPE_STRING = 0x03
TYPE_FLOAT = 0x04
TYPE_DIMENSION = 0x05
TYPE_FRACTION = 0x06
TYPE_DYNAMIC_REFERENCE = 0x07
TYPE_DYNAMIC_ATTRIBUTE = 0x08
TYPE_INT_DEC = 0x10
TYPE_INT_HEX = 0x11
TYPE_INT_BOOLEAN = 0x12
TYPE_FIRST_INT = 0x10
TYPE_LAST_INT = 0x1F
KNOWN_VALUE_TYPES = frozenset({TYPE_NULL, TYPE_REFERENCE, TYPE_ATTRIBUTE, TYPE_STRING, TYPE_FLOAT, TYPE_DIMENSION,
                               TYPE_FRACTION, TYPE_DYNAMIC_REFERENCE, TYPE_DYNAMIC_ATTRIBUTE, TYPE_INT_DEC,
                               TYPE_INT_HEX, TYPE_INT_BOOLEAN, 0x1C, 0x1D, 0x1E, 0x1F})
RES_VALUE_SIZE = 8

# android.R.attr ids of the attributes the gate reads (from framework-res: `aapt dump resources`). The platform
# finds these by id; tools find them by name. A name/id pair that disagrees with this table is an attack.
ANDROID_ATTRIBUTE_IDS: dict[str, int] = {
    "label": 0x01010001, "icon": 0x01010002, "name": 0x01010003, "permission": 0x01010006,
    "sharedUserId": 0x0101000B, "debuggable": 0x0101000F, "exported": 0x01010010, "value": 0x01010024,
    "resource": 0x01010025, "mimeType": 0x01010026, "scheme": 0x01010027, "host": 0x01010028, "port": 0x01010029,
    "path": 0x0101002A, "pathPrefix": 0x0101002B, "pathPattern": 0x0101002C, "minSdkVersion": 0x0101020C,
    "versionCode": 0x0101021B, "versionName": 0x0101021C, "targetSdkVersion": 0x01010270,
    "maxSdkVersion": 0x01010271, "testOnly": 0x01010272, "allowBackup": 0x01010280, "required": 0x0101028E,
    "installLocation": 0x010102B7, "usesCleartextTraffic": 0x010104EC, "networkSecurityConfig": 0x01010527,
    "roundIcon": 0x0101052C, "compileSdkVersion": 0x01010572, "compileSdkVersionCodename": 0x01010573,
    "versionCodeMajor": 0x01010576, "isSplitRequired": 0x01010591, "targetSandboxVersion": 0x0101054C,
}
_ANDROID_ATTRIBUTE_NAMES = {v: k for k, v in ANDROID_ATTRIBUTE_IDS.items()}
_ANDROID_PACKAGE_ID = 0x01


# --- shared binary reading -------------------------------------------------------------------------------------------

class ChunkReader:
    """Bounds-checked little-endian reads over one buffer; every failure raises ``error`` with "<domain>_<kind>"."""

    def __init__(self, data: bytes, *, error: type[GateError], domain: str) -> None:
        self.data = data
        self.error = error
        self.domain = domain

    def fail(self, kind: str, message: str) -> GateError:
        return self.error(message, code=f"{self.domain}_{kind}")

    def unpack(self, fmt: str, offset: int, end: int) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > end:
            raise self.fail("truncated", f"{size} bytes at offset {offset} run past {end}")
        return struct.unpack_from(fmt, self.data, offset)

    def chunk(self, offset: int, end: int) -> tuple[int, int, int]:
        """(type, header size, size) of the chunk at ``offset``, which must fit inside ``[offset, end)``.

        Mirrors libandroidfw's validate_chunk (header size <= size, both 4-aligned, inside the parent) — but where
        the device only warns and skips, we refuse.
        """
        ctype, header_size, size = self.unpack("<HHI", offset, end)
        if header_size < CHUNK_HEADER_SIZE or header_size > size:
            raise self.fail("bad_chunk", f"chunk 0x{ctype:04x} at {offset}: header size {header_size}, size {size}")
        if (header_size | size) & 3:
            raise self.fail("bad_chunk", f"chunk 0x{ctype:04x} at {offset} is not 4-byte aligned")
        if offset + size > end:
            kind = "truncated" if end >= len(self.data) else "bad_chunk"
            raise self.fail(kind, f"chunk 0x{ctype:04x} at {offset} (size {size}) overruns its parent end {end}")
        return ctype, header_size, size

    def expect_header(self, ctype: int, header_size: int, expected: int | tuple[int, ...], offset: int) -> None:
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if header_size not in allowed:
            raise self.fail("bad_chunk", f"chunk 0x{ctype:04x} at {offset}: header size {header_size}, "
                                         f"aapt writes {' or '.join(map(str, allowed))}")


class StringPool:
    """A ResStringPool whose strings are decoded (and validated) on first use.

    A string is accepted only when every reader would decode it alike: canonical length prefixes, the declared
    UTF-16 length matching the decoded text (the device checks this for UTF-8 pools), a terminating NUL right after
    the text, strict UTF-8/UTF-16 (no lone surrogates), all inside the string data.
    """

    def __init__(self, reader: ChunkReader, offsets: tuple[int, ...], data_start: int, data_end: int,
                 utf8: bool, style_count: int) -> None:
        self._reader = reader
        self._offsets = offsets
        self._data_start = data_start
        self._data_end = data_end
        self.utf8 = utf8
        self.style_count = style_count
        # Keyed by offset, not index: a million indices naming one long string decode it once.
        self._by_offset: dict[int, str] = {}
        self._decode_budget = MAX_DECODE_FACTOR * (data_end - data_start) + 4096

    def __len__(self) -> int:
        return len(self._offsets)

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._offsets):
            raise self._reader.fail("string_pool", f"string index {index} out of range ({len(self)} strings)")
        offset = self._offsets[index]
        cached = self._by_offset.get(offset)
        if cached is None:
            cached = self._decode(index)
            self._by_offset[offset] = cached
        return cached

    def optional(self, index: int) -> str | None:
        """The string at ``index``, or None for the 0xFFFFFFFF "no string" index."""
        return None if index == NO_INDEX else self[index]

    def validate_all(self) -> tuple[str, ...]:
        return tuple(self[i] for i in range(len(self)))

    def _decode(self, index: int) -> str:
        start = self._data_start + self._offsets[index]
        text = self._decode_utf8(index, start) if self.utf8 else self._decode_utf16(index, start)
        self._decode_budget -= len(text)
        if self._decode_budget < 0:
            raise self._bad(index, "strings overlap one another (decoding them would cost more than the pool holds)")
        return text

    def _bad(self, index: int, why: str) -> GateError:
        return self._reader.fail("string_pool", f"string #{index}: {why}")

    def _decode_utf8(self, index: int, pos: int) -> str:
        data, end = self._reader.data, self._data_end
        utf16_length, pos = self._utf8_length(index, pos)
        byte_length, pos = self._utf8_length(index, pos)
        if pos + byte_length >= end:
            raise self._bad(index, "runs past the string data")
        if data[pos + byte_length] != 0:
            raise self._bad(index, "is not NUL-terminated where its length says")
        try:
            # aapt2 writes modified UTF-8 (a supplementary character as two 3-byte surrogates, which the device's
            # utf8_to_utf16 pairs up); standard 4-byte sequences are read alike. Unpaired surrogates are refused.
            text = bytes(data[pos:pos + byte_length]).decode("utf-8", "surrogatepass")
            if not text.isascii() and any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):  # ASCII has no surrogate
                text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except (UnicodeDecodeError, UnicodeEncodeError) as exc:
            raise self._bad(index, f"invalid UTF-8 ({exc.reason})") from None
        # The device refuses a UTF-8 string whose declared UTF-16 length disagrees with its content
        # (ResStringPool::stringAt, "decoded length is not correct"); tools use one length or the other.
        if _utf16_units(text) != utf16_length:
            raise self._bad(index, f"declared UTF-16 length {utf16_length} does not match its text")
        return text

    def _utf8_length(self, index: int, pos: int) -> tuple[int, int]:
        data = self._reader.data
        if pos >= self._data_end:
            raise self._bad(index, "length runs past the string data")
        first = data[pos]
        if not first & 0x80:
            return first, pos + 1
        if pos + 1 >= self._data_end:
            raise self._bad(index, "length runs past the string data")
        value = ((first & 0x7F) << 8) | data[pos + 1]
        if value < 0x80:
            raise self._bad(index, "non-canonical two-byte length")
        return value, pos + 2

    def _decode_utf16(self, index: int, pos: int) -> str:
        data, end = self._reader.data, self._data_end
        if self._offsets[index] & 1:
            raise self._bad(index, "odd offset in a UTF-16 pool")
        if pos + 2 > end:
            raise self._bad(index, "length runs past the string data")
        length = data[pos] | data[pos + 1] << 8
        pos += 2
        if length & 0x8000:
            if pos + 2 > end:
                raise self._bad(index, "length runs past the string data")
            length = ((length & 0x7FFF) << 16) | data[pos] | data[pos + 1] << 8
            pos += 2
            if length < 0x8000:
                raise self._bad(index, "non-canonical two-word length")
        stop = pos + 2 * length
        if stop + 2 > end:
            raise self._bad(index, "runs past the string data")
        if data[stop] or data[stop + 1]:
            raise self._bad(index, "is not NUL-terminated where its length says")
        try:
            return bytes(data[pos:stop]).decode("utf-16-le")
        except UnicodeDecodeError:
            raise self._bad(index, "invalid UTF-16 (lone surrogate)") from None


def _utf16_units(text: str) -> int:
    if text.isascii():  # nearly every string of a pool; the count below is a Python loop per character
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def read_string_pool(reader: ChunkReader, offset: int, header_size: int, size: int) -> StringPool:
    """Parse the ResStringPool chunk at ``offset`` (its chunk header already checked by ``reader.chunk``)."""
    reader.expect_header(RES_STRING_POOL_TYPE, header_size, STRING_POOL_HEADER_SIZE, offset)
    end = offset + size
    string_count, style_count, flags, strings_start, styles_start = reader.unpack("<IIIII", offset + 8, end)

    def bad(why: str) -> GateError:
        return reader.fail("string_pool", f"string pool at {offset}: {why}")

    if flags & ~(SORTED_FLAG | UTF8_FLAG):
        raise bad(f"unknown flags 0x{flags:x}")
    if string_count > MAX_STRINGS or style_count > string_count:
        raise bad(f"{string_count} strings / {style_count} styles")
    index_end = offset + header_size + 4 * (string_count + style_count)
    if index_end > end:
        raise bad("offset arrays run past the chunk")
    offsets = struct.unpack_from(f"<{string_count}I", reader.data, offset + header_size)
    style_offsets = struct.unpack_from(f"<{style_count}I", reader.data, offset + header_size + 4 * string_count)
    utf8 = bool(flags & UTF8_FLAG)

    data_start = offset + strings_start
    if style_count:
        if not strings_start <= styles_start < size:
            raise bad("styles start outside the chunk or before the strings")
        data_end = offset + styles_start
    else:
        if styles_start != 0:
            raise bad("styles start set without styles")
        data_end = end
    if string_count:
        # The string data sits between the offset arrays and the styles (or the chunk end); the device requires
        # it to end with a NUL ("last string is not 0-terminated").
        if data_start < index_end or data_start >= data_end:
            raise bad("strings start outside the chunk")
        unit = 1 if utf8 else 2
        if (data_end - data_start) % unit or any(reader.data[data_end - unit:data_end]):
            raise bad("string data is not NUL-terminated")
        span = data_end - data_start
        if offsets and max(offsets) >= span:
            raise bad("a string offset points outside the string data")
    elif strings_start not in (0, header_size) or style_count:
        raise bad("strings start set without strings")
    pool = StringPool(reader, offsets, data_start, data_end, utf8, style_count)
    if style_count:
        _check_styles(reader, pool, offset + styles_start, end, style_offsets)
    return pool


def _check_styles(reader: ChunkReader, pool: StringPool, start: int, end: int, style_offsets: tuple[int, ...]) -> None:
    """Each style is a list of spans (name, firstChar, lastChar) closed by 0xFFFFFFFF, inside the style data.

    Positions already checked are remembered: styles that share or overlap span lists (a crafted pool can point a
    million styles into one long list) are walked once in total, not once per style.
    """
    checked: set[int] = set()
    for number, relative in enumerate(style_offsets):
        pos = start + relative
        if relative % 4:
            raise reader.fail("string_pool", f"style #{number} is misaligned")
        walked = []
        while pos not in checked:
            if pos + 4 > end:
                raise reader.fail("string_pool", f"style #{number} runs past the pool")
            (name,) = struct.unpack_from("<I", reader.data, pos)
            if name == NO_INDEX:
                break
            if pos + 12 > end:
                raise reader.fail("string_pool", f"style #{number} runs past the pool")
            if name >= len(pool):
                raise reader.fail("string_pool", f"style #{number} names string {name}, out of range")
            walked.append(pos)
            pos += 12
        checked.update(walked)


# --- the document ----------------------------------------------------------------------------------------------------

@record
class TypedValue:
    """A Res_value: ``type`` (TYPE_*), 32-bit ``data``; ``string`` is the pool string when type is TYPE_STRING."""

    type: int
    data: int
    string: str | None = None

    def __init__(self, type: int, data: int, string: str | None = None) -> None:
        object.__setattr__(self, "__dict__", {"type": type, "data": data, "string": string})

    @property
    def is_int(self) -> bool:
        return TYPE_FIRST_INT <= self.type <= TYPE_LAST_INT

    @property
    def signed(self) -> int:
        return self.data - (1 << 32) if self.data & 0x80000000 else self.data


@record
class Attribute:
    """One attribute. ``namespace`` is the URI the platform reads it under: an android attribute whose namespace is
    written as the prefix ``android`` carries ANDROID_NS here and ``namespace_as_prefix`` True (read by resource id,
    as the device's full parse and aapt read it; lookups by URI and name do not see it, see gate.extract.manifest)."""

    namespace: str | None
    name: str
    resource_id: int | None
    raw: str | None
    value: TypedValue
    namespace_as_prefix: bool = False

    def __init__(self, namespace: str | None, name: str, resource_id: int | None, raw: str | None, value: TypedValue,
                 namespace_as_prefix: bool = False) -> None:
        object.__setattr__(self, "__dict__", {
            "namespace": namespace, "name": name, "resource_id": resource_id, "raw": raw, "value": value,
            "namespace_as_prefix": namespace_as_prefix
        })


@record
class Element:
    """One element: its namespace URI and name, attributes, children, and the line the document gives it."""

    namespace: str | None
    name: str
    attributes: tuple[Attribute, ...]
    children: tuple[Element, ...]
    line: int

    def __init__(self, namespace: str | None, name: str, attributes: tuple[Attribute, ...],
                 children: tuple[Element, ...], line: int) -> None:
        object.__setattr__(self, "__dict__", {
            "namespace": namespace, "name": name, "attributes": attributes, "children": children, "line": line
        })

    def get(self, name: str, namespace: str | None = ANDROID_NS) -> Attribute | None:
        """The attribute with this namespace URI (None: no namespace) and name."""
        for attribute in self.attributes:
            if attribute.name == name and attribute.namespace == namespace:
                return attribute
        return None

    def by_id(self, resource_id: int) -> Attribute | None:
        """The attribute the platform reads for ``resource_id`` (android attributes are found by id on device)."""
        for attribute in self.attributes:
            if attribute.resource_id == resource_id:
                return attribute
        return None

    def iter(self) -> Iterator[Element]:
        """This element and all below it, in document order."""
        stack = [self]
        while stack:
            element = stack.pop()
            yield element
            stack.extend(reversed(element.children))


@record
class XmlDocument:
    """A binary XML document: the root element, the string pool, and whether the pool is UTF-8."""

    root: Element
    strings: tuple[str, ...]
    utf8: bool

    def __init__(self, root: Element, strings: tuple[str, ...], utf8: bool) -> None:
        object.__setattr__(self, "__dict__", {"root": root, "strings": strings, "utf8": utf8})

    def iter(self) -> Iterator[Element]:
        return self.root.iter()


@record(frozen=False)
class _OpenElement:
    namespace: str | None
    name: str
    attributes: tuple[Attribute, ...]
    line: int
    children: list[Element]

    def __init__(self, namespace: str | None, name: str, attributes: tuple[Attribute, ...], line: int,
                 children: list[Element]) -> None:
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.line = line
        self.children = children


def parse_xml(data: bytes, *, domain: str = "manifest", error: type[GateError] = ManifestError) -> XmlDocument:
    """Parse one binary XML document, refusing anything aapt would not have written (see ``REFUSALS``)."""
    if len(data) > MAX_XML_SIZE:
        raise LimitExceeded(f"binary XML of {len(data)} bytes exceeds {MAX_XML_SIZE}", code=f"{domain}_too_large")
    data = bytes(data)
    reader = ChunkReader(data, error=error, domain=domain)
    if len(data) < CHUNK_HEADER_SIZE or struct.unpack_from("<H", data, 0)[0] != RES_XML_TYPE:
        hint = " (plain-text XML)" if data.lstrip()[:1] == b"<" else ""
        raise reader.fail("not_binary_xml", f"not a binary XML document{hint}")
    ctype, header_size, size = reader.chunk(0, len(data))
    reader.expect_header(ctype, header_size, CHUNK_HEADER_SIZE, 0)
    if size != len(data):
        # The device ignores bytes after the document; aapt never writes any, and they can hide a second document.
        raise reader.fail("bad_chunk", f"document size {size} but {len(data)} bytes")
    return _DocumentParser(reader, header_size, size).parse()


class _DocumentParser:
    def __init__(self, reader: ChunkReader, start: int, end: int) -> None:
        self.r = reader
        self.start = start
        self.end = end
        self.pool: StringPool | None = None
        self.resource_ids: tuple[int, ...] = ()
        self.open: list[_OpenElement] = []
        self.root: Element | None = None
        self.elements = 0
        self.attributes = 0

    def fail(self, kind: str, message: str) -> GateError:
        return self.r.fail(kind, message)

    def parse(self) -> XmlDocument:
        offset = self.start
        seen_node = False
        while offset < self.end:
            ctype, header_size, size = self.r.chunk(offset, self.end)
            if ctype == RES_STRING_POOL_TYPE:
                # The device lets a later pool replace an earlier one; tools take the first. Exactly one, first.
                if self.pool is not None or seen_node:
                    raise self.fail("bad_chunk", f"extra or misplaced string pool at {offset}")
                self.pool = read_string_pool(self.r, offset, header_size, size)
                self.strings = self.pool.validate_all()
            elif ctype == RES_XML_RESOURCE_MAP_TYPE:
                if self.pool is None or self.resource_ids or seen_node:
                    raise self.fail("bad_chunk", f"extra or misplaced resource map at {offset}")
                self.r.expect_header(ctype, header_size, CHUNK_HEADER_SIZE, offset)
                count = (size - header_size) // 4
                self.resource_ids = struct.unpack_from(f"<{count}I", self.r.data, offset + header_size)
                if count > len(self.pool):
                    raise self.fail("resource_map", "resource map longer than the string pool")
            elif ctype in _NODE_TYPES:
                if self.pool is None:
                    raise self.fail("bad_chunk", f"XML node at {offset} before the string pool")
                seen_node = True
                self.node(ctype, header_size, offset, size)
            else:
                raise self.fail("bad_chunk", f"unknown chunk type 0x{ctype:04x} at {offset}")
            offset += size
        if self.open:
            raise self.fail("structure", "document ends inside an element")
        if self.root is None:
            raise self.fail("root_invalid", "document has no element")
        assert self.pool is not None
        return XmlDocument(root=self.root, strings=self.strings, utf8=self.pool.utf8)

    # -- nodes

    def string(self, index: int) -> str:
        assert self.pool is not None
        return self.pool[index]

    def optional_string(self, index: int) -> str | None:
        assert self.pool is not None
        return self.pool.optional(index)

    def node(self, ctype: int, header_size: int, offset: int, size: int) -> None:
        self.r.expect_header(ctype, header_size, XML_NODE_HEADER_SIZE, offset)
        line, comment = self.r.unpack("<II", offset + 8, offset + size)
        if comment != NO_INDEX:
            self.string(comment)
        ext = offset + header_size
        end = offset + size
        expected = _FIXED_NODE_SIZES.get(ctype)
        if expected is not None and size < expected:
            raise self.fail("bad_chunk", f"node 0x{ctype:04x} at {offset}: size {size}, less than {expected}")
        if ctype in (RES_XML_START_NAMESPACE_TYPE, RES_XML_END_NAMESPACE_TYPE):
            # Namespace nodes only name a prefix for a URI. The platform (XmlBlock, ResXMLParser::indexOfAttribute)
            # matches attributes by the URI string each attribute carries and android ones by resource id, so
            # whether, where and how often a prefix is declared changes no fact: the strings must merely exist.
            prefix, uri = self.r.unpack("<II", ext, end)
            self.optional_string(prefix)
            self.string(uri)
        elif ctype == RES_XML_START_ELEMENT_TYPE:
            self.start_element(ext, end, line, offset)
        elif ctype == RES_XML_END_ELEMENT_TYPE:
            ns, name = self.r.unpack("<II", ext, end)
            if not self.open:
                raise self.fail("structure", f"element end at {offset} without a start")
            current = self.open.pop()
            if (self.namespace(ns), self.string(name)) != (current.namespace, current.name):
                raise self.fail("structure", f"element end at {offset} does not match <{current.name}>")
            element = Element(current.namespace, current.name, current.attributes, tuple(current.children),
                              current.line)
            if self.open:
                self.open[-1].children.append(element)
            else:
                self.root = element
        else:  # CDATA: text between elements; aapt writes it with a string value
            if not self.open:
                raise self.fail("structure", "text outside the root element")
            data_index, = self.r.unpack("<I", ext, end)
            self.string(data_index)
            self.typed_value(ext + 4)

    def namespace(self, index: int) -> str | None:
        """The namespace URI an element or attribute carries (declared or not: the platform does not look)."""
        return None if index == NO_INDEX else self.string(index)

    def start_element(self, ext: int, end: int, line: int, offset: int) -> None:
        ns, name, attr_start, attr_size, count, id_index, class_index, style_index = \
            self.r.unpack("<IIHHHHHH", ext, end)
        if self.root is not None and not self.open:
            raise self.fail("root_invalid", f"a second root element at {offset}")
        # aapt/aapt2 always write attributeStart = attributeSize = 20. The device honours other values (and so
        # would skip or overlap bytes), tools often assume 20: refusing any other layout removes the disagreement.
        if attr_start != ATTRIBUTE_EXT_SIZE or attr_size != ATTRIBUTE_SIZE:
            raise self.fail("attribute_layout", f"element at {offset}: attributeStart {attr_start}, "
                                                f"attributeSize {attr_size} (aapt writes 20 and 20)")
        if end - ext < ATTRIBUTE_EXT_SIZE + ATTRIBUTE_SIZE * count:
            # Padding after the attributes is skipped by every reader (they step by the chunk size); too little
            # room would make the device read the next node's bytes as attributes.
            raise self.fail("bad_chunk", f"element at {offset}: size does not hold its {count} attributes")
        if max(id_index, class_index, style_index) > count:
            raise self.fail("attribute_layout", f"element at {offset}: id/class/style index past the attributes")
        self.elements += 1
        self.attributes += count
        if self.elements > MAX_ELEMENTS or self.attributes > MAX_ATTRIBUTES or len(self.open) >= MAX_DEPTH:
            raise LimitExceeded(f"binary XML exceeds {MAX_ELEMENTS} elements, {MAX_ATTRIBUTES} attributes or "
                                f"depth {MAX_DEPTH}", code=f"{self.r.domain}_too_large")
        attributes = tuple(self.attribute(ext + attr_start + i * attr_size, end) for i in range(count))
        _check_attribute_set(self, attributes, offset)
        self.open.append(_OpenElement(self.namespace(ns), self.string(name), attributes, line, []))

    def attribute(self, pos: int, end: int) -> Attribute:
        ns_index, name_index, raw_index = self.r.unpack("<III", pos, end)
        namespace = self.namespace(ns_index)
        name = self.string(name_index)
        raw = self.optional_string(raw_index)
        value = self.typed_value(pos + 12)
        resource_id = self.resource_ids[name_index] if name_index < len(self.resource_ids) else 0
        # The namespace written as the prefix "android" rather than the URI: the device's full parse (TypedArray)
        # and aapt find android attributes by resource id alone, and aapt's xmltree prints it as android:<name>,
        # so it is held to every rule of an android attribute (an id, and the id of that very name) and read as one.
        as_prefix = namespace == ANDROID_PREFIX
        if as_prefix:
            namespace = ANDROID_NS
        self.check_resource_id(namespace, name, resource_id)
        if value.type == TYPE_STRING and raw != value.string:
            # The device reads typed strings for android attributes and raw strings for plain ones; tools pick
            # either. aapt writes the same string in both places.
            raise self.fail("value_invalid", f"attribute {name!r}: raw and typed strings differ")
        return Attribute(namespace, name, resource_id or None, raw, value, as_prefix)

    def check_resource_id(self, namespace: str | None, name: str, resource_id: int) -> None:
        """The platform identifies android attributes by the resource map id alone; the name must agree with it."""
        if resource_id == 0:
            if namespace == ANDROID_NS:
                raise self.fail("resource_map", f"android:{name} has no resource id")
            return
        if namespace is None:
            raise self.fail("resource_map", f"un-namespaced attribute {name!r} carries resource id "
                                            f"0x{resource_id:08x} (the device reads it as that attribute)")
        is_framework_id = resource_id >> 24 == _ANDROID_PACKAGE_ID
        if (namespace == ANDROID_NS) != is_framework_id:
            raise self.fail("resource_map", f"attribute {name!r} in {namespace!r} has id 0x{resource_id:08x}")
        if namespace == ANDROID_NS:
            known_id = ANDROID_ATTRIBUTE_IDS.get(name)
            known_name = _ANDROID_ATTRIBUTE_NAMES.get(resource_id)
            if (known_id is not None and known_id != resource_id) or (known_name is not None and known_name != name):
                raise self.fail("resource_map", f"android:{name} carries the id 0x{resource_id:08x} "
                                                f"of android:{known_name or '?'}")

    def typed_value(self, pos: int) -> TypedValue:
        size, res0, data_type, data = self.r.unpack("<HBBI", pos, pos + RES_VALUE_SIZE)
        if size != RES_VALUE_SIZE or res0 != 0:
            raise self.fail("value_invalid", f"Res_value at {pos}: size {size}, res0 {res0}")
        if data_type not in KNOWN_VALUE_TYPES:
            raise self.fail("value_invalid", f"Res_value at {pos}: unknown type 0x{data_type:02x}")
        return TypedValue(data_type, data, self.string(data) if data_type == TYPE_STRING else None)


_NODE_TYPES = frozenset({RES_XML_START_NAMESPACE_TYPE, RES_XML_END_NAMESPACE_TYPE, RES_XML_START_ELEMENT_TYPE,
                         RES_XML_END_ELEMENT_TYPE, RES_XML_CDATA_TYPE})


def _check_attribute_set(parser: _DocumentParser, attributes: tuple[Attribute, ...], offset: int) -> None:
    """No attribute twice (by namespace+name or by id); aapt's order: ids ascending first, then the id-less ones.

    The platform's XmlAttributeFinder walks attributes assuming that order, so an out-of-order attribute can be
    invisible on the device yet shown by a tool.
    """
    names = {(a.namespace, a.name) for a in attributes}
    ids = [a.resource_id for a in attributes if a.resource_id is not None]
    if len(names) != len(attributes) or len(set(ids)) != len(ids):
        raise parser.fail("duplicate_attribute", f"element at {offset} repeats an attribute")
    order = [a.resource_id if a.resource_id is not None else 1 << 32 for a in attributes]
    if order != sorted(order):
        raise parser.fail("attribute_layout", f"element at {offset}: attributes not in resource-id order")
