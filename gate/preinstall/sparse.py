"""Android sparse images (``img2simg`` output, libsparse's format), read in place without expanding them.

Format (libsparse ``sparse_format.h``, little-endian): a 28-byte file header — magic 0xED26FF3A, major version 1,
minor version, file header size, chunk header size, block size, total blocks, total chunks, CRC — then chunks,
each a 12-byte header (type, reserved, size in blocks, total size in bytes including the header) and its data:
RAW (block data), FILL (a 4-byte pattern repeated), DONT_CARE (nothing: zeros) and CRC32 (4 bytes, ignored as
``simg2img`` does). Every chunk must account for exactly its blocks and the blocks must add up to the total: a
file that disagrees with itself is refused, never guessed at.

``SparseImage`` indexes the chunk headers once (their data is skipped, not read) and then serves any byte range of
the raw image: a super image's metadata is read from it directly and each logical partition is written out once,
from the sparse file, so no expanded copy of the whole image is ever made.
"""

from __future__ import annotations

import bisect
import os
import shutil
import struct

from gate.errors import ImageError

SPARSE_MAGIC = 0xED26FF3A
FILE_HEADER = struct.Struct("<IHHHHIIII")
CHUNK_HEADER = struct.Struct("<HHII")
CHUNK_RAW, CHUNK_FILL, CHUNK_DONT_CARE, CHUNK_CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4
# Free space kept on the work volume beyond what a copy needs, so the scan never fills the disk.
FREE_SPACE_MARGIN = 256 * 1024 * 1024
COPY_STEP = 8 * 1024 * 1024
ZERO_FILL = b"\0\0\0\0"
# img2simg writes ~10 chunks per MB of a build image (23,160 for 2.2 GB); the index costs ~150 bytes a chunk.
MAX_CHUNKS = 2_000_000


def is_sparse(path: str | os.PathLike) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return len(head) == 4 and struct.unpack("<I", head)[0] == SPARSE_MAGIC


def ensure_free_space(directory: str | os.PathLike, needed: int, *, partition: str) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed + FREE_SPACE_MARGIN:
        raise ImageError(f"needs {needed / 2**30:.1f} GiB of work space, {directory} has "
                         f"{free / 2**30:.1f} GiB free (choose another with --work-dir)",
                         code="image_too_large", partition=partition)


def copy_file_range_fully(src_fd: int, dst_fd: int, length: int, src_offset: int, dst_offset: int) -> None:
    done = 0
    while done < length:  # in the kernel: no trip through Python buffers
        moved = os.copy_file_range(src_fd, dst_fd, min(COPY_STEP * 8, length - done), src_offset + done,
                                   dst_offset + done)
        if moved <= 0:
            raise OSError(f"the file ended {length - done} bytes early")
        done += moved


def _fill(fd: int, offset: int, pattern: bytes, inside: int, length: int) -> None:
    """Write ``length`` bytes of the 4-byte ``pattern`` repeated, as it continues ``inside`` bytes into its chunk.

    The buffer is only as long as the piece (at most COPY_STEP): a build's ext4 image has about ten thousand
    one-block FILL chunks (full bitmaps, 0xFFFFFFFF), and building an 8 MiB buffer for each cost seconds."""
    turn = inside % 4
    step = memoryview((pattern[turn:] + pattern[:turn]) * -(-min(length, COPY_STEP) // 4))
    done = 0
    while done < length:
        written = os.pwrite(fd, step[:min(length - done, len(step))], offset + done)
        if written <= 0:
            raise OSError(f"the work file took no more bytes at {offset + done}")
        done += written


class SparseImage:
    """The raw image a sparse file describes: ``size``, ``read_at`` and ``copy_to``, from the sparse file."""

    def __init__(self, path: str | os.PathLike, *, partition: str) -> None:
        self.partition = partition
        self._file = open(path, "rb")
        try:
            self._index(os.path.getsize(path))
        except BaseException:
            self._file.close()
            raise

    def _fail(self, message: str, code: str = "image_sparse_invalid") -> ImageError:
        return ImageError(message, code=code, partition=self.partition)

    def _index(self, size_on_disk: int) -> None:
        raw = self._file.read(FILE_HEADER.size)
        if len(raw) < FILE_HEADER.size:
            raise self._fail("sparse image shorter than its header", "image_truncated")
        magic, major, _minor, file_hdr_sz, chunk_hdr_sz, blk_sz, total_blocks, total_chunks, _crc = \
            FILE_HEADER.unpack(raw)
        if magic != SPARSE_MAGIC or major != 1:
            raise self._fail(f"not a version 1 sparse image (magic {magic:#x}, version {major})")
        if file_hdr_sz < FILE_HEADER.size or chunk_hdr_sz < CHUNK_HEADER.size or blk_sz == 0 or blk_sz % 4:
            raise self._fail(f"sparse header sizes are inconsistent (header {file_hdr_sz}, chunk header "
                             f"{chunk_hdr_sz}, block {blk_sz})")
        # Each entry: (raw offset, raw length, kind, offset of its data in the sparse file or the fill pattern).
        if total_chunks > MAX_CHUNKS:
            raise self._fail(f"{total_chunks} chunks: more than any real image has ({MAX_CHUNKS})")
        self.starts: list[int] = []
        self.chunks: list[tuple[int, int, int, int | bytes]] = []
        position, block = file_hdr_sz, 0
        fd = self._file.fileno()
        for index in range(total_chunks):
            # One pread per chunk, the header with a FILL chunk's pattern: a seek and read of the buffered file
            # read 8 KiB for each of a build image's ~23,000 chunk headers.
            raw = os.pread(fd, chunk_hdr_sz + 4, position)
            if len(raw) < CHUNK_HEADER.size:
                raise self._fail(f"sparse image ends inside chunk {index} of {total_chunks}", "image_truncated")
            kind, _reserved, blocks, total_size = CHUNK_HEADER.unpack_from(raw)
            data_at, data_size = position + chunk_hdr_sz, total_size - chunk_hdr_sz
            expected = {CHUNK_RAW: blocks * blk_sz, CHUNK_FILL: 4, CHUNK_DONT_CARE: 0, CHUNK_CRC32: 4}.get(kind)
            if expected is None or data_size != expected:
                raise self._fail(f"sparse chunk {index} is malformed (type {kind:#x}, {data_size} data bytes)")
            if data_at + data_size > size_on_disk:
                raise self._fail(f"sparse image ends inside the data of chunk {index}", "image_truncated")
            position = data_at + data_size
            if kind == CHUNK_CRC32:
                continue
            if block + blocks > total_blocks:
                raise self._fail(f"sparse chunk {index} runs past the {total_blocks} blocks the header declares")
            if blocks:
                source: int | bytes = data_at
                if kind == CHUNK_FILL:  # its 4 data bytes lie within the file (checked above)
                    source = raw[chunk_hdr_sz:chunk_hdr_sz + 4]
                elif kind == CHUNK_DONT_CARE:
                    kind, source = CHUNK_FILL, ZERO_FILL  # reads as zeros, like simg2img's output
                self.starts.append(block * blk_sz)
                self.chunks.append((block * blk_sz, blocks * blk_sz, kind, source))
            block += blocks
        if block != total_blocks:
            raise self._fail(f"sparse chunks cover {block} blocks, the header declares {total_blocks}")
        self.size = total_blocks * blk_sz

    def _pieces(self, offset: int, length: int):
        """(chunk, offset inside it, length) covering [offset, offset + length) of the raw image."""
        if offset < 0 or offset + length > self.size:
            raise self._fail(f"bytes {offset}–{offset + length} lie outside the {self.size}-byte image",
                             "image_truncated")
        i = max(bisect.bisect_right(self.starts, offset) - 1, 0)
        while length > 0:
            start, size, kind, source = self.chunks[i]
            inside = offset - start
            take = min(size - inside, length)
            yield kind, source, inside, take
            offset, length, i = offset + take, length - take, i + 1

    def read_at(self, offset: int, length: int) -> bytes:
        out = bytearray()
        for kind, source, inside, take in self._pieces(offset, min(length, max(self.size - offset, 0))):
            if kind == CHUNK_RAW:  # pread: partitions are read from one image by several threads
                out += os.pread(self._file.fileno(), take, source + inside)
            else:
                pattern = source * (-(-(inside % 4 + take) // 4))
                out += pattern[inside % 4:inside % 4 + take]
        return bytes(out)

    def copy_to(self, dst, dst_offset: int, offset: int, length: int) -> None:
        """Write raw bytes [offset, offset + length) into the open file ``dst`` at ``dst_offset``; zeros stay
        holes (the caller sizes the file)."""
        for kind, source, inside, take in self._pieces(offset, length):
            if kind == CHUNK_RAW:
                copy_file_range_fully(self._file.fileno(), dst.fileno(), take, source + inside, dst_offset)
            elif source != ZERO_FILL:
                _fill(dst.fileno(), dst_offset, source, inside, take)
            dst_offset += take

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SparseImage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def expand(source: str | os.PathLike, target: str | os.PathLike, *, partition: str) -> int:
    """Write the raw image of sparse ``source`` to ``target`` (zeros stay holes); returns its size in bytes."""
    with SparseImage(source, partition=partition) as image, open(target, "wb") as dst:
        ensure_free_space(os.path.dirname(os.path.abspath(target)), image.size, partition=partition)
        image.copy_to(dst, 0, 0, image.size)
        dst.truncate(image.size)
        return image.size
