"""Protocol Buffers wire format, the reading half: enough to decode the aapt2 messages an App Bundle carries.

A message is a sequence of (field number, wire type, value). ``read_message`` returns, for each field number, the
list of its values in order: an int for varint and fixed-width fields, bytes for length-delimited ones (a nested
message, a string or packed scalars — the schema, known to the caller, says which). Unknown fields are kept and
ignored by callers, as protobuf readers do. Malformed input raises ``ProtoError``; nothing else escapes.
"""

from __future__ import annotations

import struct

from gate.errors import PackageError

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_VARINT_BYTES = 10


class ProtoError(PackageError):
    code = "protobuf_malformed"


# A message as read: each field number with its values in order (varints and fixed ints as int, the rest bytes).
Fields = dict[int, list[int | bytes]]


def read_message(data: bytes | memoryview) -> Fields:
    view = memoryview(data)
    fields: Fields = {}
    value: int | bytes
    pos, end = 0, len(view)
    while pos < end:
        key, pos = _varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("a protobuf field has number 0")
        if wire == VARINT:
            value, pos = _varint(view, pos)
        elif wire == LENGTH:
            length, pos = _varint(view, pos)
            if length > end - pos:
                raise ProtoError("a length-delimited protobuf field runs past its message")
            value, pos = bytes(view[pos:pos + length]), pos + length
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtoError("a fixed32 protobuf field runs past its message")
            value, pos = struct.unpack_from("<I", view, pos)[0], pos + 4
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtoError("a fixed64 protobuf field runs past its message")
            value, pos = struct.unpack_from("<Q", view, pos)[0], pos + 8
        else:  # groups are deprecated and never written by aapt2
            raise ProtoError(f"protobuf wire type {wire} is not supported")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(view: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    for index in range(MAX_VARINT_BYTES):
        if pos + index >= len(view):
            raise ProtoError("a protobuf varint runs past its message")
        byte = view[pos + index]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + index + 1
        shift += 7
    raise ProtoError("a protobuf varint is longer than 10 bytes")


def first(fields: Fields, number: int) -> int | bytes | None:
    values = fields.get(number)
    return values[-1] if values else None  # the last value wins for a non-repeated field (protobuf merging)


def integer(fields: Fields, number: int, default: int = 0) -> int:
    """A varint or fixed field; bytes where a number belongs is a malformed message, not a TypeError later."""
    value = first(fields, number)
    if value is None:
        return default
    if not isinstance(value, int):
        raise ProtoError(f"protobuf field {number} is not a number")
    return value


def text(fields: Fields, number: int) -> str | None:
    value = first(fields, number)
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise ProtoError(f"protobuf field {number} is not a UTF-8 string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtoError(f"protobuf field {number} is not a UTF-8 string") from None


def message(fields: Fields, number: int) -> Fields:
    value = first(fields, number)
    if value is None:
        return {}
    if not isinstance(value, bytes):
        raise ProtoError(f"protobuf field {number} is not a message")
    return read_message(value)


def messages(fields: Fields, number: int) -> list[Fields]:
    out: list[Fields] = []
    for value in fields.get(number, ()):
        if not isinstance(value, bytes):
            raise ProtoError(f"protobuf field {number} is not a message")
        out.append(read_message(value))
    return out


def signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
