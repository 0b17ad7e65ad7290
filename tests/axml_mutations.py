"""Byte-level mutations of a real aapt-built binary manifest, for testing each refusal rule on real input.

This module walks the AXML chunks itself (independently of ``gate.extract.axml``, the code under test) so that each
test can say "change exactly this field of that real manifest" and assert the error code.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_FIXTURES = ROOT / "fixtures" / "manifests"

STRING_POOL, XML, RESOURCE_MAP = 0x0001, 0x0003, 0x0180
START_NS, END_NS, START_ELEMENT, END_ELEMENT = 0x0100, 0x0101, 0x0102, 0x0103


def apk_member(apk: str, name: str) -> bytes:
    with zipfile.ZipFile(MANIFEST_FIXTURES / apk) as archive:
        return archive.read(name)


def manifest_of(apk: str = "locales.apk") -> bytes:
    return apk_member(apk, "AndroidManifest.xml")


@dataclass(frozen=True)
class Chunk:
    offset: int
    type: int
    header_size: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def chunks(data: bytes) -> list[Chunk]:
    """The chunks directly inside the XML document, in order."""
    found, offset = [], struct.unpack_from("<H", data, 2)[0]
    while offset < len(data):
        ctype, header_size, size = struct.unpack_from("<HHI", data, offset)
        found.append(Chunk(offset, ctype, header_size, size))
        offset += size
    return found


def of_type(data: bytes, ctype: int) -> list[Chunk]:
    return [c for c in chunks(data) if c.type == ctype]


def strings(data: bytes) -> list[str]:
    pool = of_type(data, STRING_POOL)[0]
    count, _styles, flags, start = struct.unpack_from("<IIII", data, pool.offset + 8)
    result = []
    for i in range(count):
        (off,) = struct.unpack_from("<I", data, pool.offset + 28 + 4 * i)
        pos = pool.offset + start + off
        if flags & 0x100:
            pos += 2 if data[pos] < 0x80 else 3  # utf-16 length (short strings only in fixtures)
            length = data[pos]
            result.append(data[pos + 1:pos + 1 + length].decode("utf-8", "surrogatepass"))
        else:
            (length,) = struct.unpack_from("<H", data, pos)
            result.append(data[pos + 2:pos + 2 + 2 * length].decode("utf-16-le"))
    return result


def string_index(data: bytes, text: str) -> int:
    return strings(data).index(text)


def string_offset(data: bytes, index: int) -> int:
    """Absolute offset of string ``index``'s length prefix."""
    pool = of_type(data, STRING_POOL)[0]
    start = struct.unpack_from("<I", data, pool.offset + 20)[0]
    return pool.offset + start + struct.unpack_from("<I", data, pool.offset + 28 + 4 * index)[0]


def rewrite_string(data: bytes, index: int, text: str) -> bytes:
    """Overwrite a UTF-16 pool string in place with a text no longer than the original."""
    out = bytearray(data)
    pos = string_offset(data, index)
    (old,) = struct.unpack_from("<H", data, pos)
    assert len(text) <= old, "the new text must fit in place"
    struct.pack_into("<H", out, pos, len(text))
    out[pos + 2:pos + 2 + 2 * len(text) + 2] = text.encode("utf-16-le") + b"\0\0"
    return bytes(out)


def element(data: bytes, name: str, nth: int = 0) -> Chunk:
    wanted = string_index(data, name)
    hits = [c for c in of_type(data, START_ELEMENT) if struct.unpack_from("<I", data, c.offset + 20)[0] == wanted]
    return hits[nth]


def attribute_offset(data: bytes, element_name: str, attribute_name: str) -> int:
    """Offset of the ResXMLTree_attribute named ``attribute_name`` on the first ``element_name``."""
    chunk = element(data, element_name)
    count = struct.unpack_from("<H", data, chunk.offset + 28)[0]
    wanted = string_index(data, attribute_name)
    for i in range(count):
        pos = chunk.offset + 36 + 20 * i
        if struct.unpack_from("<I", data, pos + 4)[0] == wanted:
            return pos
    raise KeyError(attribute_name)


def put(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def with_document_size(body: bytearray) -> bytes:
    struct.pack_into("<I", body, 4, len(body))
    return bytes(body)


def insert(data: bytes, offset: int, blob: bytes) -> bytes:
    """Insert ``blob`` at ``offset`` and fix the document size."""
    return with_document_size(bytearray(data[:offset] + blob + data[offset:]))


def element_bytes(data: bytes, name: str) -> bytes:
    """The start chunk of a leaf element ``name`` together with its end chunk."""
    start = element(data, name)
    following = next(c for c in chunks(data) if c.offset == start.end)
    assert following.type == END_ELEMENT, "only leaf elements"
    return data[start.offset:following.end]


def resource_map_index(data: bytes, resource_id: int) -> int:
    chunk = of_type(data, RESOURCE_MAP)[0]
    ids = struct.unpack_from(f"<{(chunk.size - 8) // 4}I", data, chunk.offset + 8)
    return chunk.offset + 8 + 4 * ids.index(resource_id)
