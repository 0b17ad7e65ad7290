"""The dynamic-partition ``super`` image: its logical-partition metadata (AOSP liblp, metadata format 10.x).

Layout (liblp ``metadata_format.h``; all little-endian): 4096 reserved bytes; the geometry (``LpMetadataGeometry``,
52 bytes, magic 0x616C4467, SHA-256 of itself with the checksum zeroed) at 4096 and its backup at 8192; then
``metadata_slot_count`` metadata copies of ``metadata_max_size`` bytes each, then as many backups. A metadata copy
is a header (``LpMetadataHeader``, magic 0x414C5030, major version 10, 128 bytes or 256 from minor 2 on; SHA-256 of
the header with its checksum zeroed, SHA-256 of the tables) followed by four tables — partitions (52-byte entries:
name[36], attributes, first extent index, extent count, group index), extents (24: sectors, target type, target
sector, block device index), groups (48) and block devices (64). A partition's bytes are its extents in order:
LINEAR extents map 512-byte sectors of the super image, ZERO extents read as zeros.

As liblp does, a copy whose checksums fail is passed over for its backup; only slot 0 is read (a build's
``super.img`` carries the same tables in every slot). Partitions without extents (the empty ``_b`` slot of an A/B
build) hold nothing to check and are left out.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from dataclasses import dataclass

from gate.errors import ImageError
from gate.preinstall.sparse import copy_file_range_fully

SECTOR = 512
RESERVED_BYTES = 4096
GEOMETRY_SIZE = 4096
GEOMETRY_MAGIC = 0x616C4467
HEADER_MAGIC = 0x414C5030
MAJOR_VERSION = 10
MAX_MINOR_VERSION = 2
GEOMETRY = struct.Struct("<II32sIII")
HEADER = struct.Struct("<IHHI32sI32s")  # the 80 bytes before the table descriptors
DESCRIPTOR = struct.Struct("<III")
PARTITION = struct.Struct("<36sIIII")
EXTENT = struct.Struct("<QIQI")
TARGET_LINEAR, TARGET_ZERO = 0, 1
# liblp caps the metadata at 64 KiB per copy in practice; refuse absurd geometry before allocating anything.
MAX_METADATA_SIZE = 1024 * 1024
MAX_SLOTS = 8
PARTITION_NAME = re.compile(r"[A-Za-z0-9_]{1,36}")


@dataclass(frozen=True)
class Extent:
    """``length`` bytes of the partition: at ``offset`` in the super image, or zeros when ``offset`` is None."""

    offset: int | None
    length: int


@dataclass(frozen=True)
class LogicalPartition:
    name: str
    extents: tuple[Extent, ...]

    @property
    def size(self) -> int:
        return sum(e.length for e in self.extents)

    @property
    def contiguous_offset(self) -> int | None:
        """Where the partition starts in the super image when it is one linear run (readable in place)."""
        if len(self.extents) == 1 and self.extents[0].offset is not None:
            return self.extents[0].offset
        return None


class RawImage:
    """A raw image file with the interface of ``sparse.SparseImage``: ``size``, ``read_at``, ``copy_to``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._file = open(path, "rb")
        self.size = os.fstat(self._file.fileno()).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self._file.fileno(), length, offset)  # several threads read one image

    def copy_to(self, dst, dst_offset: int, offset: int, length: int) -> None:
        if offset + length > self.size:
            raise OSError(f"the image ends {offset + length - self.size} bytes early")
        copy_file_range_fully(self._file.fileno(), dst.fileno(), length, offset, dst_offset)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RawImage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_super(image) -> bool:
    head = image.read_at(RESERVED_BYTES, 4)
    return len(head) == 4 and struct.unpack("<I", head)[0] == GEOMETRY_MAGIC


def read_partitions(image, *, name: str = "super") -> list[LogicalPartition]:
    """The logical partitions of a super image (``RawImage`` or ``SparseImage``), with their extents checked
    against the image's size."""
    geometry = _geometry(image, name)
    max_size, slots = geometry[3], geometry[4]
    metadata_start = RESERVED_BYTES + 2 * GEOMETRY_SIZE
    problems = []
    for copy in (0, slots):  # slot 0, then its backup
        try:
            partitions = _metadata(image.read_at(metadata_start + copy * max_size, max_size), name)
            break
        except ImageError as exc:
            problems.append(exc)
    else:
        first = problems[0]
        raise ImageError(f"{first.message.split(': ', 1)[-1]} (the backup copy is unreadable too)",
                         code=first.code, partition=name)
    for partition in partitions:
        for extent in partition.extents:
            if extent.offset is not None and extent.offset + extent.length > image.size:
                raise ImageError(f"partition {partition.name} extends to byte {extent.offset + extent.length}, "
                                 f"the image has {image.size}", code="image_truncated", partition=partition.name)
    return partitions


def _geometry(image, name: str) -> tuple:
    problems = []
    for offset in (RESERVED_BYTES, RESERVED_BYTES + GEOMETRY_SIZE):
        raw = image.read_at(offset, GEOMETRY.size)
        if len(raw) < GEOMETRY.size:
            problems.append(("image_truncated", "the image ends before the partition geometry"))
            continue
        fields = GEOMETRY.unpack(raw)
        magic, struct_size, checksum, max_size, slots, block_size = fields
        if magic != GEOMETRY_MAGIC:
            problems.append(("image_super_invalid", "no logical-partition geometry (magic)"))
            continue
        if struct_size != GEOMETRY.size or hashlib.sha256(raw[:8] + bytes(32) + raw[40:]).digest() != checksum:
            problems.append(("image_super_invalid", "the partition geometry fails its checksum"))
            continue
        if (not 0 < max_size <= MAX_METADATA_SIZE or max_size % SECTOR or not 0 < slots <= MAX_SLOTS
                or block_size == 0 or block_size % SECTOR):
            problems.append(("image_super_invalid", f"implausible geometry (metadata {max_size} bytes, "
                                                    f"{slots} slots, block {block_size})"))
            continue
        return fields
    code, message = problems[0]
    raise ImageError(message, code=code, partition=name)


def _metadata(blob: bytes, name: str) -> list[LogicalPartition]:
    def bad(message: str, code: str = "image_super_invalid") -> ImageError:
        return ImageError(message, code=code, partition=name)

    if len(blob) < 128:
        raise bad("the image ends inside the partition metadata", "image_truncated")
    magic, major, minor, header_size, header_sum, tables_size, tables_sum = HEADER.unpack_from(blob)
    if magic != HEADER_MAGIC:
        raise bad("no partition metadata header (magic)")
    if major != MAJOR_VERSION or minor > MAX_MINOR_VERSION:
        raise bad(f"metadata version {major}.{minor} is not one this reader knows (10.0–10.{MAX_MINOR_VERSION})")
    if header_size not in (128, 256) or header_size + tables_size > len(blob):
        raise bad(f"metadata sizes do not fit (header {header_size}, tables {tables_size})")
    header = blob[:header_size]
    if hashlib.sha256(header[:12] + bytes(32) + header[44:]).digest() != header_sum:
        raise bad("the metadata header fails its checksum")
    tables = blob[header_size:header_size + tables_size]
    if hashlib.sha256(tables).digest() != tables_sum:
        raise bad("the metadata tables fail their checksum")
    (p_off, p_count, p_size), (e_off, e_count, e_size) = (DESCRIPTOR.unpack_from(blob, 80 + 12 * i) for i in (0, 1))
    for offset, count, entry, want in ((p_off, p_count, p_size, PARTITION.size), (e_off, e_count, e_size,
                                                                                  EXTENT.size)):
        if entry != want or offset + count * entry > tables_size:
            raise bad("a metadata table lies outside the tables or has an unknown entry size")
    extents = [EXTENT.unpack_from(tables, e_off + i * e_size) for i in range(e_count)]
    partitions, seen = [], set()
    for i in range(p_count):
        raw_name, _attributes, first, count, _group = PARTITION.unpack_from(tables, p_off + i * p_size)
        part_name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        if not PARTITION_NAME.fullmatch(part_name) or part_name in seen:
            raise bad(f"partition entry {i} has an invalid or repeated name {part_name!r}")
        seen.add(part_name)
        if first + count > e_count:
            raise bad(f"partition {part_name} names extents beyond the extent table")
        mapped = []
        for sectors, target_type, target, source in extents[first:first + count]:
            if target_type == TARGET_LINEAR and source == 0:
                mapped.append(Extent(target * SECTOR, sectors * SECTOR))
            elif target_type == TARGET_ZERO:
                mapped.append(Extent(None, sectors * SECTOR))
            else:  # another block device (retrofit devices) or an unknown target: not in this file
                raise ImageError(f"extent on block device {source} (type {target_type}) is not in this image",
                                 code="image_super_invalid", partition=part_name)
        if mapped:
            partitions.append(LogicalPartition(part_name, tuple(mapped)))
    return partitions


def carve(image, partition: LogicalPartition, target: str | os.PathLike) -> None:
    """Write one logical partition as a file of its own (for readers that cannot start at an offset)."""
    with open(target, "wb") as dst:
        position = 0
        try:
            for extent in partition.extents:
                if extent.offset is not None:
                    image.copy_to(dst, position, extent.offset, extent.length)
                position += extent.length
        except OSError as exc:
            raise ImageError(f"the image ended while copying the partition ({exc})", code="image_truncated",
                             partition=partition.name) from None
        dst.truncate(position)
