"""A tiny ZIP writer with every field under the test's control, for building archives real tools refuse to make.

Attackers write their archives by hand too: duplicate names, NUL bytes in names, headers that disagree. Each
``Member`` field left as None takes the value a correct writer would put there.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field


@dataclass
class Member:
    name: bytes
    data: bytes = b""
    method: int = 8
    flags: int = 0
    version_needed: int = 20
    crc: int | None = None
    compressed: bytes | None = None  # raw stored/deflated bytes; default derived from data and method
    usize: int | None = None
    csize: int | None = None
    local_name: bytes | None = None
    local_method: int | None = None
    local_crc: int | None = None
    local_usize: int | None = None
    local_csize: int | None = None
    local_offset: int | None = None  # override the central directory's pointer
    cd_extra: bytes = b""
    local_extra: bytes = b""
    descriptor: bytes = b""


@dataclass
class Archive:
    members: list[Member] = field(default_factory=list)
    prefix: bytes = b""
    comment: bytes = b""
    comment_length: int | None = None
    gap_before_cd: bytes = b""
    gap_after_cd: bytes = b""
    count: int | None = None
    cd_size_delta: int = 0
    suffix: bytes = b""

    def build(self) -> bytes:
        out = bytearray(self.prefix)
        central = bytearray()
        for m in self.members:
            raw = m.compressed if m.compressed is not None else _compress(m.data, m.method)
            crc = m.crc if m.crc is not None else zlib.crc32(m.data)
            usize = m.usize if m.usize is not None else len(m.data)
            csize = m.csize if m.csize is not None else len(raw)
            offset = len(out)
            lname = m.local_name if m.local_name is not None else m.name
            out += struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, m.version_needed, m.flags,
                m.local_method if m.local_method is not None else m.method, 0, 0x21,
                m.local_crc if m.local_crc is not None else crc,
                m.local_csize if m.local_csize is not None else csize,
                m.local_usize if m.local_usize is not None else usize,
                len(lname), len(m.local_extra)) + lname + m.local_extra
            out += raw + m.descriptor
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, m.version_needed, m.flags, m.method, 0, 0x21, crc, csize,
                usize, len(m.name), len(m.cd_extra), 0, 0, 0, 0,
                m.local_offset if m.local_offset is not None else offset) + m.name + m.cd_extra
        out += self.gap_before_cd
        cd_offset = len(out)
        out += central + self.gap_after_cd
        count = self.count if self.count is not None else len(self.members)
        comment_len = self.comment_length if self.comment_length is not None else len(self.comment)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central) + self.cd_size_delta,
                           cd_offset, comment_len) + self.comment
        return bytes(out + self.suffix)


def _compress(data: bytes, method: int) -> bytes:
    if method == 8:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    return data


def simple(*names: str, data: bytes = b"hello, gate\n" * 4, method: int = 8) -> Archive:
    return Archive([Member(n.encode(), data, method=method) for n in names])
