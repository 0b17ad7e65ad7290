"""The image formats the preinstall scan reads itself: Android sparse chunks and liblp super metadata, built by
hand from their specifications (libsparse sparse_format.h, liblp metadata_format.h); report diffs and cells."""

from __future__ import annotations

import struct

import pytest

from fixtures import images as build
from gate.errors import ImageError
from gate.preinstall import layout, report, sparse, superimage

BLOCK = 4096


def sparse_file(chunks, total_blocks, *, chunk_count=None) -> bytes:
    body = b""
    for kind, blocks, data in chunks:
        body += struct.pack("<HHII", kind, 0, blocks, 12 + len(data)) + data
    header = struct.pack("<IHHHHIIII", sparse.SPARSE_MAGIC, 1, 0, 28, 12, BLOCK, total_blocks,
                         len(chunks) if chunk_count is None else chunk_count, 0)
    return header + body


def test_sparse_chunks_expand_to_the_raw_image(tmp_path):
    raw_block = bytes(range(256)) * 16
    chunks = [(sparse.CHUNK_RAW, 1, raw_block), (sparse.CHUNK_FILL, 2, b"\xab\xcd\xef\x01"),
              (sparse.CHUNK_DONT_CARE, 3, b""), (sparse.CHUNK_CRC32, 0, b"\0\0\0\0"), (sparse.CHUNK_FILL, 1, bytes(4))]
    source, target = tmp_path / "s.img", tmp_path / "r.img"
    source.write_bytes(sparse_file(chunks, 7))
    expected = raw_block + b"\xab\xcd\xef\x01" * 2048 + bytes(4 * BLOCK)
    assert sparse.is_sparse(source)
    assert sparse.expand(source, target, partition="p") == 7 * BLOCK
    assert target.read_bytes() == expected
    with sparse.SparseImage(source, partition="p") as image:
        assert image.size == 7 * BLOCK
        for offset, length in ((0, 10), (4090, 20), (4097, 8191), (3 * BLOCK - 3, BLOCK + 6), (7 * BLOCK - 5, 5)):
            assert image.read_at(offset, length) == expected[offset:offset + length]
        with open(tmp_path / "part.img", "wb") as dst:  # a range written elsewhere, starting mid-pattern
            image.copy_to(dst, 0, 4098, 2 * BLOCK)
            dst.truncate(2 * BLOCK)  # zeros are left as a hole: the caller sizes the file
        assert (tmp_path / "part.img").read_bytes() == expected[4098:4098 + 2 * BLOCK]


def test_fill_chunks_longer_than_a_copy_step_and_one_block_fills_between_raw_blocks(tmp_path):
    # A build's ext4 image as img2simg writes it: one-block 0xFF fills between raw blocks; and one fill longer than
    # the copy step, so its pattern is written in more than one piece.
    raw_block = bytes(range(256)) * 16
    long_blocks = sparse.COPY_STEP // BLOCK + 3
    chunks = []
    for _ in range(5):
        chunks += [(sparse.CHUNK_RAW, 1, raw_block), (sparse.CHUNK_FILL, 1, b"\xff\xff\xff\xff")]
    chunks.append((sparse.CHUNK_FILL, long_blocks, b"\x01\x02\x03\x04"))
    total = 10 + long_blocks
    expected = (raw_block + b"\xff" * BLOCK) * 5 + b"\x01\x02\x03\x04" * (long_blocks * BLOCK // 4)
    source = tmp_path / "s.img"
    source.write_bytes(sparse_file(chunks, total))
    with sparse.SparseImage(source, partition="p") as image:
        for start in (0, 4 * BLOCK + 1, 10 * BLOCK + 3):  # at a block, inside a raw block, mid-pattern
            length = total * BLOCK - start
            with open(tmp_path / "part.img", "wb") as dst:
                dst.write(b"\xee" * 7)  # the copy lands after bytes already in the file
                dst.flush()
                image.copy_to(dst, 7, start, length)
            assert (tmp_path / "part.img").read_bytes() == b"\xee" * 7 + expected[start:]


@pytest.mark.parametrize("case, code", [
    ("cut_data", "image_truncated"), ("cut_header", "image_truncated"), ("too_few_blocks", "image_sparse_invalid"),
    ("past_total", "image_sparse_invalid"), ("bad_fill", "image_sparse_invalid"), ("missing_chunk", "image_truncated"),
])
def test_sparse_images_that_disagree_with_themselves(tmp_path, case, code):
    raw = (sparse.CHUNK_RAW, 1, bytes(BLOCK))
    data = {"cut_data": sparse_file([raw], 1)[:-100], "cut_header": sparse_file([raw], 1)[:20],
            "too_few_blocks": sparse_file([raw], 2), "past_total": sparse_file([raw, raw], 1),
            "bad_fill": sparse_file([(sparse.CHUNK_FILL, 1, b"\0\0")], 1),
            "missing_chunk": sparse_file([raw], 2, chunk_count=2)}[case]
    (tmp_path / "s.img").write_bytes(data)
    with pytest.raises(ImageError) as info:
        sparse.SparseImage(tmp_path / "s.img", partition="system")
    assert info.value.code == code and info.value.partition == "system" and "system" in str(info.value)


@pytest.fixture
def parts(tmp_path):
    files = []
    for name, size, byte in (("system", 3 * 1024 * 1024, 1), ("vendor", 8192, 2), ("odm", 5 * BLOCK, 3)):
        path = tmp_path / f"{name}.bin"
        path.write_bytes(bytes([byte]) * (size - 4) + name[:4].encode().ljust(4, b"_"))
        files.append((name, path))
    return files


@pytest.mark.parametrize("minor, slots", [(0, 1), (2, 2)])
def test_super_partitions_read_back_byte_for_byte(tmp_path, parts, minor, slots):
    image = build.super_image(parts, tmp_path / "super.img", slots=slots, split=("system",), minor=minor)
    raw = superimage.RawImage(image)
    assert superimage.is_super(raw)
    found = superimage.read_partitions(raw)
    suffix = "_a" if slots == 2 else ""
    assert [p.name for p in found] == [f"{n}{suffix}" for n, _ in parts]  # the empty _b slots are left out
    by_name = {p.name: p for p in found}
    assert len(by_name[f"system{suffix}"].extents) == 2 and by_name[f"system{suffix}"].contiguous_offset is None
    assert by_name[f"vendor{suffix}"].contiguous_offset is not None
    for name, source in parts:
        copy = tmp_path / f"{name}.copy"
        superimage.carve(raw, by_name[f"{name}{suffix}"], copy)
        assert copy.read_bytes()[:source.stat().st_size] == source.read_bytes()
    # The same super image as a sparse file (a RAW chunk per block with data, DONT_CARE for zero blocks)
    data = image.read_bytes()
    chunks = [(sparse.CHUNK_RAW, 1, data[i:i + BLOCK]) if any(data[i:i + BLOCK]) else
              (sparse.CHUNK_DONT_CARE, 1, b"") for i in range(0, len(data), BLOCK)]
    (tmp_path / "super.simg").write_bytes(sparse_file(chunks, len(data) // BLOCK))
    with sparse.SparseImage(tmp_path / "super.simg", partition="super") as image_from_sparse:
        assert superimage.read_partitions(image_from_sparse) == found
        superimage.carve(image_from_sparse, by_name[f"system{suffix}"], tmp_path / "system.from-sparse")
    assert (tmp_path / "system.from-sparse").read_bytes() == (tmp_path / "system.copy").read_bytes()


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(data)


def test_super_falls_back_to_backups_then_fails_with_a_code(tmp_path, parts):
    image = build.super_image(parts, tmp_path / "super.img", slots=2)
    metadata = 4096 + 2 * 4096
    _flip(image, 4096 + 44)                      # primary geometry: the backup geometry is used
    _flip(image, metadata + 300)                 # slot 0 primary tables: the backup of slot 0 is used
    assert [p.name for p in superimage.read_partitions(superimage.RawImage(image))] == ["system_a", "vendor_a",
                                                                                      "odm_a"]
    _flip(image, metadata + 2 * build.METADATA_MAX_SIZE + 20)  # slot 0 backup header
    with pytest.raises(ImageError) as info:
        superimage.read_partitions(superimage.RawImage(image), name="super")
    assert info.value.code == "image_super_invalid" and "checksum" in info.value.message
    _flip(image, 8192 + 44)
    with pytest.raises(ImageError) as info:
        superimage.read_partitions(superimage.RawImage(image), name="super")
    assert info.value.code == "image_super_invalid" and info.value.partition == "super"


def test_super_cut_short_names_the_partition(tmp_path, parts):
    image = build.super_image(parts, tmp_path / "super.img", slots=1)
    odm = superimage.read_partitions(superimage.RawImage(image))[-1]
    data = image.read_bytes()
    image.write_bytes(data[:odm.extents[0].offset + BLOCK])
    with pytest.raises(ImageError) as info:
        superimage.read_partitions(superimage.RawImage(image))
    assert (info.value.code, info.value.partition) == ("image_truncated", "odm")
    image.write_bytes(data[:6000])
    with pytest.raises(ImageError) as info:
        superimage.read_partitions(superimage.RawImage(image))
    assert info.value.code == "image_truncated"


def test_device_paths_and_partition_names():
    assert layout.device_path("system", "app/Foo/Foo.apk") == "/system/app/Foo/Foo.apk"
    assert layout.device_path("system", "system/priv-app/Foo.apk") == "/system/priv-app/Foo.apk"  # system-as-root
    assert layout.device_path("vendor", "odm/app/X.apk") == "/vendor/odm/app/X.apk"
    assert [layout.partition_name(n) for n in ("system_a", "vendor.img", "product_b.img", "my_ab")] == \
        ["system", "vendor", "product", "my_ab"]


def item(package, path, verdict, signer):
    return {"package": package, "path": path, "verdict": verdict, "signers": [signer], "cert_sha256": signer,
            "reasons": []}


def test_compare_reports_added_removed_resigned_newly_blocked():
    before = {"items": [item("a.kept", "/system/app/A.apk", "allow", "11"), item("b.gone", "/system/app/B.apk",
                                                                                 "allow", "22"),
                        item("c.resigned", "/product/app/C.apk", "allow", "33"),
                        item("d.fixed", "/vendor/app/D.apk", "block", "44")]}
    now = {"items": [item("a.kept", "/product/app/A.apk", "allow", "11"),  # moved: not added, not removed
                     item("c.resigned", "/product/app/C.apk", "block", "99"),
                     item("d.fixed", "/vendor/app/D.apk", "allow", "44"),
                     item("e.new", "/odm/app/E.apk", "block", "55"), item(None, "/odm/app/Bad.apk", "block", None)]}
    changes = report.compare(now, before, "last.json")
    assert [a["package"] for a in changes["added"]] == ["e.new", None]
    assert [a["package"] for a in changes["removed"]] == ["b.gone"]
    assert [(a["package"], a["previous_signers"], a["signers"]) for a in changes["resigned"]] == [
        ("c.resigned", ["33"], ["99"])]
    assert {a["package"] for a in changes["newly_blocked"]} == {"c.resigned", "e.new", None}
    assert [a["package"] for a in changes["unblocked"]] == ["d.fixed"]
    assert [i["change"] for i in now["items"]] == [[], ["newly_blocked", "resigned"], [], ["added", "newly_blocked"],
                                                   ["added", "newly_blocked"]]


def test_csv_cells_are_never_formulas():
    assert [report.spreadsheet_cell(v) for v in ("=1+1", "+86 10", "-x", "@SUM(A1)", "\tx", "cn.app", None, 42)] \
        == ["'=1+1", "'+86 10", "'-x", "'@SUM(A1)", "'\tx", "cn.app", "", "42"]


def test_damaged_headers_are_image_errors_or_readable_never_exceptions(tmp_path, parts):
    """Every single-byte change in the metadata of a super image and in the headers of a sparse file either still
    reads (a backup copy, a byte no one checks) or is an ImageError: nothing else escapes."""
    import random

    rng = random.Random(15)
    image = build.super_image(parts, tmp_path / "super.img", slots=2, split=("system",))
    data = image.read_bytes()
    damaged = tmp_path / "damaged.img"
    outcomes = set()
    head = data[:12288 + 4 * 65536]  # geometry and every metadata copy; the partitions' bytes are not read here
    for _ in range(300):
        mutated = bytearray(head)
        for _ in range(rng.randint(1, 3)):
            where = rng.choice((rng.randrange(4096, 4096 + 52), rng.randrange(8192, 8192 + 52),
                                rng.randrange(12288, 12288 + 600), rng.randrange(12288 + 65536, 12288 + 65536 + 600)))
            mutated[where] = rng.randrange(256)
        with open(damaged, "wb") as f:
            f.write(mutated)
            f.truncate(len(data))
        try:
            with superimage.RawImage(damaged) as raw:
                superimage.read_partitions(raw)
            outcomes.add("read")
        except ImageError as exc:
            outcomes.add(exc.code)
    assert "read" in outcomes and "image_super_invalid" in outcomes
    chunks = [(sparse.CHUNK_RAW, 2, bytes(range(256)) * 32), (sparse.CHUNK_FILL, 3, b"\1\2\3\4"),
              (sparse.CHUNK_DONT_CARE, 2, b""), (sparse.CHUNK_CRC32, 0, bytes(4))]
    good = sparse_file(chunks, 7)
    header_bytes = list(range(28)) + list(range(28, 40)) + list(range(28 + 12 + 8192, 28 + 12 + 8192 + 12))
    for _ in range(300):
        mutated = bytearray(good)
        mutated[rng.choice(header_bytes)] = rng.randrange(256)
        damaged.write_bytes(bytes(mutated[:rng.choice((len(mutated), rng.randrange(len(mutated))))]))
        try:
            with sparse.SparseImage(damaged, partition="p") as image_:
                image_.read_at(0, min(image_.size, 1 << 20))
            outcomes.add("sparse read")
        except ImageError as exc:
            outcomes.add(exc.code)
    assert {"sparse read", "image_sparse_invalid", "image_truncated"} <= outcomes
