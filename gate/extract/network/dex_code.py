"""Which classes load a string: ``const-string`` cross-references read from DEX code items.

A host that only a third-party SDK's classes use (``com.umeng.…``, ``com.tencent.bugly.…``) is that SDK's, even when
no host table knows it. To tell, the gate finds the ``const-string``/``const-string/jumbo`` instructions that load
each string holding the host and the classes whose methods contain them
(https://source.android.com/docs/core/runtime/dalvik-bytecode, /dex-format).

Cost is kept to the few strings that matter: instructions are 16-bit units and every ``insns`` array starts 4-byte
aligned, so the opcode byte of every instruction sits at an even file offset. ``data[a:b:2]`` (one C-level slice)
gives the low byte of every code unit; its ``0x1a``/``0x1b`` bytes are the candidates, and only a candidate whose
string index is a wanted one costs Python work: its method is found by offset (``class_data_item`` walk, once per
DEX) and decoded from the start so that an operand unit that happens to read ``0x1a`` is never taken for an
instruction. androguard's cross-references check this reader on the fixtures (tests/unit/test_network_dex_code.py).
"""

from __future__ import annotations

import bisect
import functools
import re
import struct
from collections import defaultdict
from collections.abc import Callable, Collection

from gate.extract.network.finder import trie_pattern

# Units per instruction, by opcode (Dalvik formats: 10x/11x/12x… = 1, 2x = 2, 3x = 3, 45cc/4rcc = 4, 51l = 5).
_WIDTHS = bytearray(256)
for _first, _last, _units in (
        (0x00, 0x01, 1), (0x02, 0x02, 2), (0x03, 0x03, 3), (0x04, 0x04, 1), (0x05, 0x05, 2), (0x06, 0x06, 3),
        (0x07, 0x07, 1), (0x08, 0x08, 2), (0x09, 0x09, 3), (0x0a, 0x12, 1), (0x13, 0x13, 2), (0x14, 0x14, 3),
        (0x15, 0x16, 2), (0x17, 0x17, 3), (0x18, 0x18, 5), (0x19, 0x1a, 2), (0x1b, 0x1b, 3), (0x1c, 0x1c, 2),
        (0x1d, 0x1e, 1), (0x1f, 0x20, 2), (0x21, 0x21, 1), (0x22, 0x23, 2), (0x24, 0x26, 3), (0x27, 0x28, 1),
        (0x29, 0x29, 2), (0x2a, 0x2c, 3), (0x2d, 0x3d, 2), (0x3e, 0x43, 1), (0x44, 0x6d, 2), (0x6e, 0x72, 3),
        (0x73, 0x73, 1), (0x74, 0x78, 3), (0x79, 0x7a, 1), (0x7b, 0x8f, 1), (0x90, 0xaf, 2), (0xb0, 0xcf, 1),
        (0xd0, 0xe2, 2), (0xe3, 0xf9, 1), (0xfa, 0xfb, 4), (0xfc, 0xfd, 3), (0xfe, 0xff, 2)):
    for _op in range(_first, _last + 1):
        _WIDTHS[_op] = _units

CONST_STRING, CONST_STRING_JUMBO = 0x1A, 0x1B
_PACKED_SWITCH, _SPARSE_SWITCH, _FILL_ARRAY = 0x0100, 0x0200, 0x0300
_TYPE_CODE_ITEM = 0x2001
_ULEB = re.compile(rb"[\x80-\xff]{0,4}[\x00-\x7f]", re.DOTALL)
_MAX_CLASSES = 1 << 20


class DexCodeIndex:
    """The code of one DEX file, read on demand: string lookup, methods by offset, const-string loads."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        string_count, string_off = struct.unpack_from("<II", data, 0x38)
        type_count, type_off = struct.unpack_from("<II", data, 0x40)
        class_count, class_off = struct.unpack_from("<II", data, 0x60)
        if string_off + 4 * string_count > len(data) or type_off + 4 * type_count > len(data) \
                or class_off + 32 * class_count > len(data) or class_count > _MAX_CLASSES:
            raise ValueError("DEX index tables out of bounds")
        self._string_ids = (string_count, string_off)
        self._type_ids = (type_count, type_off)
        self.class_defs = [struct.unpack_from("<8I", data, class_off + 32 * n) for n in range(class_count)]

    # The id tables are unpacked on first use: deciding that a DEX has no class of a known SDK reads one descriptor
    # per class, and unpacking tens of thousands of string offsets for that cost most of the check.
    @functools.cached_property
    def string_offsets(self) -> tuple[int, ...]:
        count, offset = self._string_ids
        return struct.unpack_from(f"<{count}I", self.data, offset)

    @functools.cached_property
    def type_strings(self) -> tuple[int, ...]:
        count, offset = self._type_ids
        return struct.unpack_from(f"<{count}I", self.data, offset)

    def string(self, index: int) -> str:
        """String ``index`` (MUTF-8 read as UTF-8, which it is for the ASCII of hosts and class names)."""
        pos = _after_uleb(self.data, self.string_offsets[index])
        return self.data[pos:self.data.find(b"\0", pos)].decode("utf-8", "replace")

    def type_name(self, type_index: int) -> str:
        return self.string(self.type_strings[type_index])

    def strings_containing(self, needles: dict[bytes, str]) -> dict[int, set[str]]:
        """String index -> the values of ``needles`` (host bytes -> host) found in it."""
        if not needles or not self.string_offsets:
            return {}
        order = sorted(range(len(self.string_offsets)), key=self.string_offsets.__getitem__)
        starts = [self.string_offsets[i] for i in order]
        lo, hi = starts[0], self.data.find(b"\0", starts[-1]) + 1 or len(self.data)
        pattern = re.compile(trie_pattern(needles))
        found: defaultdict[int, set[str]] = defaultdict(set)
        for match in pattern.finditer(self.data, lo, hi):
            index = order[bisect.bisect_right(starts, match.start()) - 1]
            found[index].add(needles[match.group()])
        return found

    def class_name_bytes(self, class_index: int) -> bytes:
        type_index = self.class_defs[class_index][0]
        if type_index >= self._type_ids[0]:
            raise IndexError("class type out of range")
        (string_index,) = struct.unpack_from("<I", self.data, self._type_ids[1] + 4 * type_index)
        if string_index >= self._string_ids[0]:
            raise IndexError("type descriptor out of range")
        (offset,) = struct.unpack_from("<I", self.data, self._string_ids[1] + 4 * string_index)
        pos = _after_uleb(self.data, offset)
        return self.data[pos:self.data.find(b"\0", pos)]

    def loads(self, wanted: set[int], classes: set[int] | None = None) -> dict[int, set[int | None]]:
        """String index -> who runs ``const-string`` on it: class indices (into ``class_defs``) among ``classes``
        (all when None), and None for code elsewhere.

        A load inside a method of ``classes`` is exact (the method is decoded from its start). One outside them is
        only a candidate (an operand may read as the opcode) and is reported as None, "some other code": that can
        only keep a host from being attributed, never attribute it wrongly.
        """
        section = self._code_section()
        if not wanted or section is None:
            return {}
        lo, hi = section
        starts, ends, owners = self._method_table(classes)
        data = self.data
        pattern = re.compile(b"\\x1a[\\x00-\\xff](?:" + _index_pattern(wanted, 2) + b")|\\x1b[\\x00-\\xff](?:"
                             + _index_pattern(wanted, 4) + b")", re.DOTALL)
        out: defaultdict[int, set[int | None]] = defaultdict(set)
        decoded: dict[int, set[int]] = {}  # method start -> offsets where instructions begin
        for match in pattern.finditer(data, lo, hi):
            at = match.start()
            if at & 1:
                continue  # opcodes sit at even offsets (insns arrays are 4-byte aligned)
            size = 2 if data[at] == CONST_STRING else 4
            index = int.from_bytes(data[at + 2:at + 2 + size], "little")
            k = bisect.bisect_right(starts, at) - 1
            if k < 0 or at >= ends[k]:
                out[index].add(None)
                continue
            aligned = decoded.get(starts[k])
            if aligned is None:
                aligned = decoded[starts[k]] = _instruction_starts(data, starts[k], ends[k])
            if at in aligned:
                out[index].add(owners[k])
        return out

    def _code_section(self) -> tuple[int, int] | None:
        """(start, end) of the code_item section, from the map_list."""
        try:
            (map_off,) = struct.unpack_from("<I", self.data, 0x34)
            (count,) = struct.unpack_from("<I", self.data, map_off)
            items = sorted(struct.unpack_from("<HHII", self.data, map_off + 4 + 12 * n) for n in range(min(count, 64)))
        except struct.error:
            return None
        offsets = sorted({offset for _t, _u, _s, offset in items} | {len(self.data)})
        for item_type, _unused, size, offset in items:
            if item_type == _TYPE_CODE_ITEM and size and offset < len(self.data):
                return offset, next(o for o in offsets if o > offset)  # len(data) is among them
        return None

    def _method_table(self, classes: set[int] | None) -> tuple[list[int], list[int], list[int]]:
        """(insns start, insns end, class index) of every method with code of ``classes``, sorted by offset."""
        rows = []
        data = self.data
        for class_index in sorted(classes) if classes is not None else range(len(self.class_defs)):
            class_data_off = self.class_defs[class_index][6]
            if class_data_off:
                for code_off in _code_offsets(data, class_data_off):
                    if code_off + 16 <= len(data):
                        (units,) = struct.unpack_from("<I", data, code_off + 12)
                        end = code_off + 16 + 2 * units
                        if end <= len(data):
                            rows.append((code_off + 16, end, class_index))
        rows.sort()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def find_strings(data: bytes, wanted: Collection[bytes]) -> dict[bytes, int]:
    """Where each of ``wanted`` (MUTF-8 bytes, ASCII) stands in the DEX string table: string index by exact match;
    a string the table lacks is left out. The string_ids table is sorted by content (dex-format: "sorted by string
    contents", UTF-16 code points, in which ASCII sorts as its bytes), so each look-up is a bisection that reads
    only the offsets it visits. struct.error or ValueError when the table is malformed."""
    count, offset = struct.unpack_from("<II", data, 0x38)
    if offset + 4 * count > len(data):
        raise ValueError("string_ids out of bounds")

    def string_at(index: int) -> bytes:
        (at,) = struct.unpack_from("<I", data, offset + 4 * index)
        at = _after_uleb(data, at)
        end = data.find(b"\0", at)
        return data[at:end if end >= 0 else len(data)]

    found = {}
    for needle in wanted:
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            if string_at(mid) < needle:
                lo = mid + 1
            else:
                hi = mid
        if lo < count and string_at(lo) == needle:
            found[needle] = lo
    return found


def _after_uleb(data: bytes, pos: int) -> int:
    """Where the string data after a string's ULEB128 length starts; ValueError when there is no length there
    (an offset past the end, or five continuation bytes), like every other malformed table here."""
    match = _ULEB.match(data, pos)
    if match is None:
        raise ValueError(f"no string length at offset {pos}")
    return match.end()


def _index_pattern(wanted: set[int], size: int) -> bytes:
    """An alternation matching the little-endian ``size``-byte encoding of each wanted string index."""
    words = [index.to_bytes(size, "little") for index in wanted if index < 1 << (8 * size)]
    if not words:
        return b"(?!)"
    return trie_pattern(words)


def _code_offsets(data: bytes, pos: int) -> list[int]:
    """The code_off of every method in the class_data_item at ``pos``."""
    values = []
    match = _ULEB.match
    for _ in range(4):
        token = match(data, pos)
        if token is None:
            return []
        values.append(_uleb_value(token.group()))
        pos = token.end()
    static_fields, instance_fields, direct, virtual = values
    for _ in range(2 * (static_fields + instance_fields)):
        token = match(data, pos)
        if token is None:
            return []
        pos = token.end()
    out: list[int] = []
    for _ in range(direct + virtual):
        token = None
        for _field in range(3):  # method_idx_diff, access_flags, code_off
            token = match(data, pos)
            if token is None:
                return out
            pos = token.end()
        assert token is not None  # the code_off just read
        code_off = _uleb_value(token.group())
        if code_off:
            out.append(code_off)
    return out


def _uleb_value(raw: bytes) -> int:
    if len(raw) == 1:
        return raw[0]
    value = 0
    for shift, byte in enumerate(raw):
        value |= (byte & 0x7F) << (7 * shift)
    return value


def _instruction_starts(data: bytes, start: int, end: int) -> set[int]:
    """File offsets where the instructions of one ``insns`` array begin (payload tables skipped whole)."""
    out = set()
    pos = start
    while pos + 2 <= end:
        out.add(pos)
        opcode = data[pos]
        if opcode == 0 and data[pos + 1]:
            ident = data[pos] | data[pos + 1] << 8
            if ident == _PACKED_SWITCH:
                size = int.from_bytes(data[pos + 2:pos + 4], "little")
                units = size * 2 + 4
            elif ident == _SPARSE_SWITCH:
                size = int.from_bytes(data[pos + 2:pos + 4], "little")
                units = size * 4 + 2
            elif ident == _FILL_ARRAY:
                width = int.from_bytes(data[pos + 2:pos + 4], "little")
                size = int.from_bytes(data[pos + 4:pos + 8], "little")
                units = (size * width + 1) // 2 + 4
            else:
                units = 1
            out.discard(pos)  # a payload is data, not an instruction
        else:
            units = _WIDTHS[opcode]
        pos += 2 * units
    return out


def classes_loading(data: bytes, hosts: set[str] | Callable[[], set[str]], prefixes: tuple[bytes, ...] | None = None
                    ) -> dict[str, set[str | None]] | None:
    """Host -> descriptors of the classes (``Lcom/umeng/analytics/A;``) whose code loads a string holding it, and
    None when other code may load it too.

    With ``prefixes`` (class descriptor prefixes such as ``b"Lcom/umeng/"``) only classes under them are read
    exactly; everything else counts as None. Without, every class is read exactly (slower; the tests compare it
    with androguard). Empty when the DEX cannot be indexed: attribution by code is an addition, never a refusal.
    None when no class is under ``prefixes`` (then nothing in this DEX can be attributed, whatever ``hosts`` are).
    ``hosts`` may be a callable giving the hosts, so the caller computes them only when needed.
    """
    try:
        index = DexCodeIndex(data)
        classes = None
        if prefixes is not None:
            classes = {c for c in range(len(index.class_defs)) if index.class_name_bytes(c).startswith(prefixes)}
            if not classes:
                return None  # no class of any known SDK in this DEX: nothing can be attributed by code
        if callable(hosts):
            hosts = hosts()
        holding = index.strings_containing({host.encode("ascii"): host for host in hosts if host.isascii()})
        loads = index.loads(set(holding), classes)
        out: defaultdict[str, set[str | None]] = defaultdict(set)
        for string_index, class_indices in loads.items():
            names = {None if c is None else index.type_name(index.class_defs[c][0]) for c in class_indices}
            for host in holding.get(string_index, ()):
                out[host].update(names)
    except (struct.error, ValueError, IndexError):
        return {}
    return out
