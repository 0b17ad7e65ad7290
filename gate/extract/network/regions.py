"""Where the strings are: byte regions of DEX, ELF and Android resource files that hold string data.

Scanning only these regions keeps the scan fast (bytecode, machine code and pixel data are skipped) and precise
(random bytes in code rarely, but sometimes, spell ``x.cn``). Every reader here is defensive: a structure that does
not add up yields no region or the fallback region — never an exception — because a malformed file must not stop the
scan of the rest of the package (the container and manifest readers are the ones that refuse malformed packages).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

DEX_MAGIC = b"dex\n"
ELF_MAGIC = b"\x7fELF"

# DEX (https://source.android.com/docs/core/runtime/dex-format): header fields and the map item type of the
# string_data_item section, where all MUTF-8 strings sit back to back as <uleb128 length><bytes><NUL>.
_DEX_HEADER_SIZE = 0x70
_DEX_MAP_OFF = 0x34
_DEX_DATA_SIZE = 0x68
_TYPE_STRING_DATA_ITEM = 0x2002
_MAX_MAP_ITEMS = 64  # the format defines 20-odd section types; more items means a broken or hostile map

# Resource chunks (frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h).
RES_STRING_POOL_TYPE = 0x0001
RES_TABLE_TYPE = 0x0002
RES_XML_TYPE = 0x0003
_UTF8_FLAG = 0x100
_MAX_TOP_CHUNKS = 4096

# ELF section header fields (System V gABI).
_SHT_PROGBITS = 1
_SHF_EXECINSTR = 0x4
_MAX_SECTIONS = 4096


class Region(NamedTuple):
    """``data[start:end]`` holds strings; ``prefix_len`` bytes precede each string (after the previous NUL)."""

    start: int
    end: int
    prefix_len: int = 0


def dex_string_data(data: bytes) -> Region | None:
    """The string_data_item section of a DEX file, found through its map_list; None if the map does not add up."""
    try:
        (map_off,) = struct.unpack_from("<I", data, _DEX_MAP_OFF)
        (count,) = struct.unpack_from("<I", data, map_off)
        if count > _MAX_MAP_ITEMS:
            return None
        items = [struct.unpack_from("<HHII", data, map_off + 4 + 12 * n) for n in range(count)]
    except struct.error:
        return None
    offsets = sorted({offset for _type, _unused, _size, offset in items})
    for item_type, _unused, size, offset in items:
        if item_type != _TYPE_STRING_DATA_ITEM or size == 0:
            continue
        later = [o for o in offsets if o > offset]
        end = later[0] if later else len(data)
        if _DEX_HEADER_SIZE <= offset < end <= len(data):
            # Strings shorter than 128 UTF-16 units (nearly all hosts and URLs) have a one-byte uleb128 length.
            return Region(offset, end, 1)
    return None


def dex_fallback(data: bytes) -> Region:
    """The DEX data section as a whole, when the map cannot be trusted: slower and noisier, but nothing is missed."""
    try:
        size, offset = struct.unpack_from("<II", data, _DEX_DATA_SIZE)
    except struct.error:
        return Region(0, len(data))
    if _DEX_HEADER_SIZE <= offset < len(data) and size:
        return Region(offset, min(len(data), offset + size))
    return Region(0, len(data))


def elf_read_only_data(data: bytes) -> list[Region] | None:
    """Non-executable data sections (.rodata*, .data*, Dart snapshot data in Flutter's libapp.so ...).

    None when the section headers are missing or inconsistent (stripped or packed libraries): the caller then scans
    the whole file.
    """
    try:
        elf_class, encoding = data[4], data[5]
        endian = "<" if encoding == 1 else ">" if encoding == 2 else None
        if endian is None or elf_class not in (1, 2):
            return None
        if elf_class == 2:
            shoff, = struct.unpack_from(endian + "Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", data, 0x3A)
            header = struct.Struct(endian + "IIQQQQ")
        else:
            shoff, = struct.unpack_from(endian + "I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", data, 0x2E)
            header = struct.Struct(endian + "IIIIII")
        if (not 0 < shoff < len(data) or not 0 < shnum <= _MAX_SECTIONS or shentsize < header.size
                or shstrndx >= shnum):
            return None  # a 64-bit offset past the file would also overflow the unpacking below
        sections = [header.unpack_from(data, shoff + n * shentsize) for n in range(shnum)]
    except (struct.error, IndexError):
        return None
    _n, _t, _f, _a, names_off, names_size = sections[shstrndx]
    names = data[names_off:names_off + names_size]
    regions = []
    for name_off, sh_type, flags, _addr, offset, size in sections:
        if sh_type != _SHT_PROGBITS or flags & _SHF_EXECINSTR or not size:
            continue
        name = names[name_off:names.find(b"\0", name_off)]
        if name.startswith((b".rodata", b".data", b".lrodata")) or name in (b".const", b""):
            if offset + size <= len(data):
                regions.append(Region(offset, offset + size))
    return regions


def resource_string_pools(data: bytes) -> list[Region]:
    """The string pools at the top level of a resources.arsc (global values) or binary XML file.

    UTF-16 pools are returned as regions of a transcoded copy (see ``pool_bytes``); UTF-8 pools carry two length
    bytes (UTF-16 units, then bytes) before each string.
    """
    regions: list[Region] = []
    try:
        kind, header_size, total = struct.unpack_from("<HHI", data, 0)
        if kind not in (RES_TABLE_TYPE, RES_XML_TYPE) or header_size < 8:
            return regions
        end = min(total, len(data))
        pos = header_size
        for _ in range(_MAX_TOP_CHUNKS):
            if pos + 8 > end:
                break
            chunk_type, chunk_header, chunk_size = struct.unpack_from("<HHI", data, pos)
            if chunk_size < 8 or pos + chunk_size > end:
                break
            if chunk_type == RES_STRING_POOL_TYPE and chunk_header >= 28:
                count, styles, flags, strings_start, styles_start = struct.unpack_from("<IIIII", data, pos + 8)
                first = pos + strings_start
                last = pos + styles_start if styles and styles_start else pos + chunk_size
                if count and pos < first < last <= pos + chunk_size:
                    regions.append(Region(first, last, 2 if flags & _UTF8_FLAG else -1))
            pos += chunk_size
    except struct.error:
        pass
    return regions


def pool_bytes(data: bytes, region: Region) -> tuple[bytes, Region]:
    """A region the finder can scan: UTF-8 pools as they are, UTF-16 pools transcoded to one byte per unit.

    Transcoding keeps the layout the finder relies on: each UTF-16 unit becomes one byte (non-ASCII becomes "?"),
    so the terminating 0x0000 becomes NUL and the one-unit length before each string becomes one prefix byte.
    """
    if region.prefix_len != -1:
        return data, region
    text = data[region.start:region.end].decode("utf-16-le", "replace")
    flat = text.encode("ascii", "replace")
    return flat, Region(0, len(flat), 1)
