"""Bounds-checked reading of the little-endian, uint32-length-prefixed structures of the APK Signing Block.

Every read checks its bounds and raises WireError, never struct.error or IndexError: apksig maps the same
conditions (BufferUnderflowException, ApkFormatException) to "malformed" issues.
"""

from __future__ import annotations

import struct


class WireError(Exception):
    """A length prefix or fixed-size field runs past the end of its enclosing structure."""


class Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data) if not isinstance(data, memoryview) else data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u32(self) -> int:
        return self._int32("<I", "uint32")

    def i32(self) -> int:
        return self._int32("<i", "int32")

    def _int32(self, fmt: str, what: str) -> int:
        if self.remaining() < 4:
            raise WireError(f"truncated {what}")
        value: int = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += 4
        return value

    def prefixed(self) -> Reader:
        """The next uint32-length-prefixed slice, as a Reader of its own."""
        if self.remaining() < 4:
            raise WireError("truncated length prefix")
        (length,) = struct.unpack_from("<i", self.data, self.pos)
        if length < 0:
            raise WireError("negative length")
        if length > self.remaining() - 4:
            raise WireError(f"length {length} exceeds the {self.remaining() - 4} bytes left")
        start = self.pos + 4
        self.pos = start + length
        return Reader(self.data[start:start + length])

    def prefixed_bytes(self) -> bytes:
        return bytes(self.prefixed().data)

    def rest(self) -> bytes:
        value = bytes(self.data[self.pos:])
        self.pos = len(self.data)
        return value
