"""Android sparse images (``img2simg`` output, libsparse's format) expanded to a raw image, streamed.

Format (libsparse ``sparse_format.h``, little-endian): a 28-byte file header — magic 0xED26FF3A, major version 1,
minor version, file header size, chunk header size, block size, total blocks, total chunks, CRC — then chunks,
each a 12-byte header (type, reserved, size in blocks, total size in bytes including the header) and its data:
RAW (block data), FILL (a 4-byte pattern repeated), DONT_CARE (nothing: a hole) and CRC32 (4 bytes, ignored as
``simg2img`` does). Every chunk must account for exactly its blocks and the blocks must add up to the total: a
file that disagrees with itself is refused, never guessed at.
"""

from __future__ import annotations

import os
import shutil
import struct

from gate.errors import ImageError

SPARSE_MAGIC = 0xED26FF3A
FILE_HEADER = struct.Struct("<IHHHHIIII")
CHUNK_HEADER = struct.Struct("<HHII")
CHUNK_RAW, CHUNK_FILL, CHUNK_DONT_CARE, CHUNK_CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4
# Free space kept on the work volume beyond what an expansion needs, so the scan never fills the disk.
FREE_SPACE_MARGIN = 256 * 1024 * 1024
COPY_STEP = 8 * 1024 * 1024


def is_sparse(path: str | os.PathLike) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return len(head) == 4 and struct.unpack("<I", head)[0] == SPARSE_MAGIC


def expanded_size(path: str | os.PathLike, *, partition: str) -> int:
    with open(path, "rb") as f:
        header = _file_header(f, partition)
    return header[5] * header[6]


def ensure_free_space(directory: str | os.PathLike, needed: int, *, partition: str) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed + FREE_SPACE_MARGIN:
        raise ImageError(f"needs {needed / 2**30:.1f} GiB of work space, {directory} has "
                         f"{free / 2**30:.1f} GiB free (choose another with --work-dir)",
                         code="image_too_large", partition=partition)


def _file_header(f, partition: str) -> tuple:
    raw = f.read(FILE_HEADER.size)
    if len(raw) < FILE_HEADER.size:
        raise ImageError("sparse image shorter than its header", code="image_truncated", partition=partition)
    header = FILE_HEADER.unpack(raw)
    magic, major, _minor, file_hdr_sz, chunk_hdr_sz, blk_sz, _blocks, _chunks, _crc = header
    if magic != SPARSE_MAGIC or major != 1:
        raise ImageError(f"not a version 1 sparse image (magic {magic:#x}, version {major})",
                         code="image_sparse_invalid", partition=partition)
    if file_hdr_sz < FILE_HEADER.size or chunk_hdr_sz < CHUNK_HEADER.size or blk_sz == 0 or blk_sz % 4:
        raise ImageError(f"sparse header sizes are inconsistent (header {file_hdr_sz}, chunk header "
                         f"{chunk_hdr_sz}, block {blk_sz})", code="image_sparse_invalid", partition=partition)
    f.seek(file_hdr_sz)
    return header


def expand(source: str | os.PathLike, target: str | os.PathLike, *, partition: str) -> int:
    """Write the raw image of sparse ``source`` to ``target`` (holes stay holes); returns its size in bytes."""
    size_on_disk = os.path.getsize(source)
    with open(source, "rb") as src, open(target, "wb") as dst:
        _magic, _maj, _min, _fh, chunk_hdr_sz, blk_sz, total_blocks, total_chunks, _crc = _file_header(src, partition)
        ensure_free_space(os.path.dirname(os.path.abspath(target)), total_blocks * blk_sz, partition=partition)
        block = 0
        for index in range(total_chunks):
            raw = src.read(CHUNK_HEADER.size)
            if len(raw) < CHUNK_HEADER.size:
                raise ImageError(f"sparse image ends inside chunk {index} of {total_chunks}",
                                 code="image_truncated", partition=partition)
            kind, _reserved, blocks, total_size = CHUNK_HEADER.unpack(raw)
            src.seek(chunk_hdr_sz - CHUNK_HEADER.size, os.SEEK_CUR)
            data_size = total_size - chunk_hdr_sz
            expected = {CHUNK_RAW: blocks * blk_sz, CHUNK_FILL: 4, CHUNK_DONT_CARE: 0, CHUNK_CRC32: 4}.get(kind)
            if expected is None or data_size != expected:
                raise ImageError(f"sparse chunk {index} is malformed (type {kind:#x}, {data_size} data bytes)",
                                 code="image_sparse_invalid", partition=partition)
            if kind == CHUNK_CRC32:
                src.seek(4, os.SEEK_CUR)
                continue
            if block + blocks > total_blocks:
                raise ImageError(f"sparse chunk {index} runs past the {total_blocks} blocks the header declares",
                                 code="image_sparse_invalid", partition=partition)
            if src.tell() + data_size > size_on_disk:
                raise ImageError(f"sparse image ends inside the data of chunk {index}", code="image_truncated",
                                 partition=partition)
            offset = block * blk_sz
            if kind == CHUNK_RAW:
                _copy(src, dst, offset, data_size)
            elif kind == CHUNK_FILL:
                pattern = src.read(4)
                if pattern != b"\0\0\0\0":  # zeros stay a hole, like DONT_CARE
                    _fill(dst, offset, pattern, blocks * blk_sz)
            block += blocks
        if block != total_blocks:
            raise ImageError(f"sparse chunks cover {block} blocks, the header declares {total_blocks}",
                             code="image_sparse_invalid", partition=partition)
        dst.truncate(total_blocks * blk_sz)
    return total_blocks * blk_sz


def _copy(src, dst, offset: int, length: int) -> None:
    start = src.tell()
    done = 0
    while done < length:  # in the kernel: no trip through Python buffers
        moved = os.copy_file_range(src.fileno(), dst.fileno(), min(COPY_STEP * 8, length - done),
                                   start + done, offset + done)
        if moved <= 0:
            raise OSError("copy_file_range made no progress")
        done += moved
    src.seek(start + length)


def _fill(dst, offset: int, pattern: bytes, length: int) -> None:
    dst.seek(offset)
    step = pattern * (COPY_STEP // 4)
    while length > 0:
        dst.write(step[:length])
        length -= min(length, len(step))
