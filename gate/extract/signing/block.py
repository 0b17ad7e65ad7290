"""The APK Signing Block: where it is, its ID-value pairs, and the content digests that v2/v3 signers sign.

Layout (source.android.com/security/apksigning/v2): the block sits right before the ZIP Central Directory:
``uint64 size | pairs (uint64 length, uint32 id, value) | uint64 size | "APK Sig Block 42"``. Android and apksig
treat every malformation of the block or of the pair list *before the wanted pair* as "no such signature": the
APK then falls back to the older schemes, which is why the v1 ``X-Android-APK-Signed`` attribute and the v2
stripping-protection attribute exist.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from gate.records import FACTORY, record

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer

MAGIC = b"APK Sig Block 42"
MIN_BLOCK_SIZE = 32  # footer (24) + header (8)

V2_BLOCK_ID = 0x7109871A
V3_BLOCK_ID = 0xF05368C0
V31_BLOCK_ID = 0x1B93AD61

CHUNK_SIZE = 1024 * 1024  # content digests are over 1 MiB chunks
VERITY_BLOCK_SIZE = 4096  # fs-verity Merkle tree block size (and the page alignment it requires)

# Content digest algorithms (apksig ContentDigestAlgorithm).
CHUNKED_SHA256 = "CHUNKED_SHA256"
CHUNKED_SHA512 = "CHUNKED_SHA512"
VERITY_CHUNKED_SHA256 = "VERITY_CHUNKED_SHA256"


@record
class SigningBlock:
    """Location of the APK Signing Block and the ZIP sections around it (offsets into the file)."""

    offset: int  # first byte of the block
    data: memoryview  # the whole block, header to magic
    cd_offset: int
    eocd_offset: int
    file_size: int
    # Content digests already computed for this APK, so v2 and v3 (which sign the same bytes) read the file once.
    digests: dict[str, Any] = field(default_factory=dict[str, Any], compare=False, repr=False)

    def __init__(self, offset: int, data: memoryview, cd_offset: int, eocd_offset: int, file_size: int,
                 digests: dict[str, Any] = FACTORY) -> None:
        object.__setattr__(self, "__dict__", {
            "offset": offset, "data": data, "cd_offset": cd_offset, "eocd_offset": eocd_offset, "file_size": file_size,
            "digests": {} if digests is FACTORY else digests
        })


def find_signing_block(container: ApkContainer) -> SigningBlock | None:
    """The APK Signing Block right before the Central Directory, or None where Android finds none."""
    cd_offset = container.central_directory_offset
    cd_size = container.central_directory_size
    eocd_offset = container.eocd_offset
    if cd_offset + cd_size != eocd_offset:
        return None  # Android requires the CD to be immediately followed by the EOCD
    if cd_offset < MIN_BLOCK_SIZE:
        return None
    footer = bytes(container.view(cd_offset - 24, cd_offset))
    if footer[8:24] != MAGIC:
        return None
    (size_in_footer,) = struct.unpack_from("<Q", footer, 0)
    if size_in_footer < 24 or size_in_footer > 0x7FFFFFFF - 8:
        return None
    total = size_in_footer + 8
    offset = cd_offset - total
    if offset < 0:
        return None
    (size_in_header,) = struct.unpack_from("<Q", bytes(container.view(offset, offset + 8)), 0)
    if size_in_header != size_in_footer:
        return None
    return SigningBlock(offset, container.view(offset, cd_offset), cd_offset, eocd_offset, container.size)


def find_pair(block: SigningBlock, block_id: int) -> memoryview | None:
    """The value of the first pair with ``block_id``; None if absent or if the pair list breaks before it."""
    pairs = block.data[8:len(block.data) - 24]
    pos = 0
    while pos < len(pairs):
        if len(pairs) - pos < 8:
            return None
        (length,) = struct.unpack_from("<Q", pairs, pos)
        pos += 8
        if length < 4 or length > 0x7FFFFFFF or length > len(pairs) - pos:
            return None
        (pair_id,) = struct.unpack_from("<I", pairs, pos)
        if pair_id == block_id:
            return pairs[pos + 4:pos + length]
        pos += length
    return None


# --- content digests -----------------------------------------------------------------------------------------------

def _digested_sections(container: ApkContainer, block: SigningBlock) -> list[memoryview | bytes]:
    """What v2/v3 signers digest: the ZIP entries, the Central Directory, and the EOCD as if the CD started where
    the signing block starts (the block itself cannot be covered by signatures inside it)."""
    eocd = bytearray(container.view(block.eocd_offset, block.file_size))
    struct.pack_into("<I", eocd, 16, block.offset)
    return [container.view(0, block.offset), container.view(block.cd_offset, block.eocd_offset), bytes(eocd)]


def _chunked(sections: Sequence[bytes | memoryview], hash_name: str) -> bytes:
    chunk_digests = []
    for section in sections:
        for start in range(0, len(section), CHUNK_SIZE):
            chunk = section[start:start + CHUNK_SIZE]
            h = hashlib.new(hash_name, b"\xa5" + struct.pack("<I", len(chunk)))
            h.update(chunk)
            chunk_digests.append(h.digest())
    top = hashlib.new(hash_name, b"\x5a" + struct.pack("<I", len(chunk_digests)))
    top.update(b"".join(chunk_digests))
    return top.digest()


def _verity(sections: Sequence[bytes | memoryview]) -> bytes:
    """fs-verity style Merkle root over the sections (4 KiB blocks, SHA-256, 8 zero bytes of salt), followed by
    the total data length as little-endian int64 — apksig's VERITY_CHUNKED_SHA256."""
    salt = b"\x00" * 8
    total = sum(len(s) for s in sections)
    data = b"".join(bytes(s) for s in sections)
    level = data
    while True:
        digests = bytearray()
        for start in range(0, max(len(level), 1), VERITY_BLOCK_SIZE):
            block = bytes(level[start:start + VERITY_BLOCK_SIZE]).ljust(VERITY_BLOCK_SIZE, b"\x00")
            digests += hashlib.sha256(salt + block).digest()
        unpadded = len(digests)
        if len(digests) % VERITY_BLOCK_SIZE:
            digests += b"\x00" * (VERITY_BLOCK_SIZE - len(digests) % VERITY_BLOCK_SIZE)
        level = bytes(digests)
        if unpadded <= VERITY_BLOCK_SIZE:
            break
    root = hashlib.sha256(salt + level[:VERITY_BLOCK_SIZE]).digest()
    return root + struct.pack("<q", total)


def content_digests(container: ApkContainer, block: SigningBlock, algorithms: set[str]) -> dict[str, bytes | None]:
    """Compute the requested content digests; a verity digest is None when the layout forbids it (Android requires
    the signing block to start and end on 4 KiB boundaries for verity)."""
    missing = set(algorithms) - set(block.digests)
    if missing:
        block.digests.update(_compute(container, block, missing))
    return {alg: block.digests[alg] for alg in algorithms}


def _compute(container: ApkContainer, block: SigningBlock, algorithms: set[str]) -> dict[str, bytes | None]:
    sections = _digested_sections(container, block)
    out: dict[str, bytes | None] = {}
    if CHUNKED_SHA256 in algorithms:
        out[CHUNKED_SHA256] = _chunked(sections, "sha256")
    if CHUNKED_SHA512 in algorithms:
        out[CHUNKED_SHA512] = _chunked(sections, "sha512")
    if VERITY_CHUNKED_SHA256 in algorithms:
        aligned = block.offset % VERITY_BLOCK_SIZE == 0 and (block.cd_offset - block.offset) % VERITY_BLOCK_SIZE == 0
        out[VERITY_CHUNKED_SHA256] = _verity(sections) if aligned else None
    return out
