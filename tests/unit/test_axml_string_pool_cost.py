"""Regressions: a string pool crafted so that decoding or checking it costs far more than its size.

The input is the real aapt-built manifest of fixtures/manifests/locales.apk with its (UTF-16) string pool grown by
strings whose offsets overlap (string k starts inside string k-1, so N strings cost N^2/2 to decode) or by styles
that all point into one long span list. Android itself would read such a pool (it decodes lazily); the gate reads
every manifest string and must neither hang nor give up on honest pools that merely share strings.
"""

from __future__ import annotations

import struct

import pytest

from gate.errors import GateError
from gate.extract.axml import parse_xml
from tests import axml_mutations as m

NO_INDEX = 0xFFFFFFFF


def _grow_pool(data: bytes, extra_data: bytes, extra_offsets: list[int], *, style_offsets: list[int] = (),
               style_data: bytes = b"") -> bytes:
    """The manifest with ``extra_data`` appended to its string data, strings at ``extra_offsets`` (relative to
    ``extra_data``) appended to its index and, optionally, styles (offsets relative to ``style_data``)."""
    pool = m.of_type(data, m.STRING_POOL)[0]
    count, styles, flags, strings_start, styles_start = struct.unpack_from("<IIIII", data, pool.offset + 8)
    assert styles == 0 and styles_start == 0 and not flags & 0x100, "fixture pool: UTF-16, no styles"
    offsets = list(struct.unpack_from(f"<{count}I", data, pool.offset + 28))
    old_data = data[pool.offset + strings_start:pool.end]
    new_offsets = offsets + [len(old_data) + o for o in extra_offsets]
    string_data = old_data + extra_data
    string_data += b"\0" * (-len(string_data) % 4)
    header_end = 28 + 4 * (len(new_offsets) + len(style_offsets))
    new_styles_start = header_end + len(string_data) if style_offsets else 0
    body = (struct.pack(f"<{len(new_offsets)}I", *new_offsets) + struct.pack(f"<{len(style_offsets)}I", *style_offsets)
            + string_data + style_data)
    header = struct.pack("<HHIIIIII", m.STRING_POOL, 28, 28 + len(body), len(new_offsets), len(style_offsets),
                         flags, header_end, new_styles_start)
    return m.with_document_size(bytearray(data[:pool.offset] + header + body + data[pool.end:]))


def _code(data: bytes) -> str:
    with pytest.raises(GateError) as caught:
        parse_xml(data)
    return caught.value.code


def test_overlapping_strings_are_refused_instead_of_decoded_quadratically():
    # UTF-16 units u[i] = M-1-i, u[M] = 0: the string at unit i has length M-1-i and ends at the same NUL, so the
    # M strings hold M^2/2 units (1 GiB for M = 32767) in 64 KiB.
    units = 32767
    chain = struct.pack(f"<{units + 1}H", *[units - 1 - i for i in range(units)], 0)
    data = _grow_pool(m.manifest_of("locales.apk"), chain, [2 * i for i in range(units)])
    assert _code(data) == "manifest_string_pool"


def test_many_indices_naming_one_long_string_are_read_once():
    # Sharing an offset is harmless (each index reads the same text): it must parse, and quickly.
    text = "x" * 30000
    one = struct.pack("<H", len(text)) + text.encode("utf-16-le") + b"\0\0"
    data = _grow_pool(m.manifest_of("locales.apk"), one, [0] * 100_000)
    document = parse_xml(data)
    assert document.strings[-1] == text and len(document.strings) == 35 + 100_000


def test_styles_sharing_one_long_span_list_are_checked_once():
    spans = 40_000
    span_list = struct.pack("<III", 0, 0, 0) * spans + struct.pack("<I", NO_INDEX)
    empty = struct.pack("<H", 0) + b"\0\0"
    # Every style starts at a different span of the same list: walked style by style that is spans^2/2 steps.
    data = _grow_pool(m.manifest_of("locales.apk"), empty, [0] * spans, style_offsets=[12 * i for i in range(spans)],
                      style_data=span_list)
    assert len(parse_xml(data).strings) == 35 + spans
