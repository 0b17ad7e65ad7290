"""Mach-O executables (thin or universal) through lief: the slices, their code signatures and their string data.

lief reads the load commands; the gate keeps only offsets from it (slice offset and size, ``LC_CODE_SIGNATURE``'s
data offset and size, the sections that hold strings), so the bytes that are hashed and verified are always the
file's own. lief's own exceptions and its "nothing parsed" answers become ``MachOError`` problems.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from gate.errors import PackageError

MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce")
FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")
# Sections whose bytes are (mostly) strings: C strings, Objective-C/Swift string data, constant data.
STRING_SECTIONS = frozenset({"__cstring", "__objc_methname", "__objc_classname", "__ustring", "__const",
                             "__cfstring", "__swift5_reflstr", "__oslogstring", "__data"})


class MachOError(PackageError):
    code = "ios_executable_malformed"


@dataclass(frozen=True)
class Slice:
    arch: str
    offset: int
    size: int
    signature: tuple[int, int] | None  # (offset, size) of the code signature inside the slice
    string_regions: tuple[tuple[int, int], ...]  # (start, end) inside the slice


def is_macho(data: bytes) -> bool:
    return data[:4] in MACHO_MAGICS or data[:4] in FAT_MAGICS


def read_slices(data: bytes) -> tuple[Slice, ...]:
    """Every architecture slice of a thin or universal Mach-O. Raises MachOError."""
    if not is_macho(data):
        raise MachOError("the main executable is not a Mach-O file", code="ios_executable_not_macho")
    import lief

    lief.logging.disable()
    config = lief.MachO.ParserConfig.quick  # load commands and sections only: no dyld info, no symbol tables
    try:
        parsed = lief.MachO.parse(io.BytesIO(data), config)
    except Exception as exc:  # lief raises its own and builtin types; none may cross gate.extract
        raise MachOError(f"lief cannot read the executable ({type(exc).__name__})") from None
    if parsed is None or parsed.size == 0:
        raise MachOError("lief finds no Mach-O slice in the executable")
    slices = []
    for binary in parsed:
        offset, size = int(binary.fat_offset), int(binary.original_size)
        if offset + size > len(data):
            raise MachOError("a slice runs past the end of the executable", code="ios_executable_truncated")
        signature = None
        command = binary.code_signature if binary.has_code_signature else None
        if command is not None:
            signature = (int(command.data_offset), int(command.data_size))
            if signature[0] + signature[1] > size:
                raise MachOError("the code signature runs past the end of its slice", code="ios_executable_truncated")
        regions = tuple((int(s.offset), int(s.offset) + int(s.size)) for s in binary.sections
                        if s.name in STRING_SECTIONS and s.offset and 0 < s.offset + s.size <= size)
        slices.append(Slice(str(binary.header.cpu_type).rsplit(".", 1)[-1].lower(), offset, size, signature,
                            regions))
    return tuple(slices)
