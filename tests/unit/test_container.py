"""The ZIP container rules: each ambiguity an attacker can use is refused with its own code."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from gate.errors import ContainerError, LimitExceeded
from gate.extract.container import ApkContainer, ContainerLimits
from tests.zipcraft import Archive, Member, simple


def refused(data: bytes, code: str, **kw) -> None:
    with pytest.raises((ContainerError, LimitExceeded)) as info:
        ApkContainer.from_bytes(data, **kw)
    assert info.value.code == code, info.value.message


def test_reads_what_zipfile_writes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00" + b"x" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("res/raw/a.bin", b"\x00\x01" * 50, compress_type=zipfile.ZIP_STORED)
        z.writestr("res/", b"")
    c = ApkContainer.from_bytes(buf.getvalue())
    assert c.names() == ["AndroidManifest.xml", "res/raw/a.bin", "res/"]
    assert c.read("res/raw/a.bin") == b"\x00\x01" * 50
    assert c.read(c.get("AndroidManifest.xml")).startswith(b"\x03\x00\x08\x00")
    assert c.get("res/").is_directory
    assert c.central_directory_offset + c.central_directory_size == c.eocd_offset


def test_crafted_writer_baseline_is_accepted():
    c = ApkContainer.from_bytes(simple("a.txt", "b/c.txt").build())
    assert c.read("b/c.txt") == b"hello, gate\n" * 4


@pytest.mark.parametrize("data,code", [
    (b"", "file_empty"),
    (b"plain text, not an archive at all", "zip_not_a_zip"),
    (b"PK", "zip_not_a_zip"),
])
def test_not_a_zip(data, code):
    refused(data, code)


def test_janus_prefix_is_refused():
    refused(b"dex\n035\x00" + b"\x00" * 100 + simple("a.txt").build(), "zip_prefixed_data")


def test_data_after_the_end_record_is_refused():
    refused(simple("a.txt").build() + b"trailing", "zip_eocd_invalid")


def test_truncated_archive_is_refused():
    data = simple("a.txt", "b.txt").build()
    refused(data[: len(data) // 2], "zip_eocd_invalid")


def test_comment_length_must_reach_end_of_file():
    refused(Archive(simple("a.txt").members, comment=b"hello", comment_length=3).build(), "zip_eocd_invalid")


def test_second_end_record_hidden_in_comment_is_refused():
    inner = simple("a.txt").build()
    # An end record inside the comment of the real one: readers scanning from either end disagree.
    fake_eocd = inner[-22:]
    outer = Archive(simple("a.txt").members, comment=fake_eocd)
    refused(outer.build(), "zip_eocd_ambiguous")


def test_gap_between_central_directory_and_end_record_is_refused():
    refused(Archive(simple("a.txt").members, gap_after_cd=b"\x00" * 8).build(), "zip_central_directory_invalid")


def test_records_beyond_the_count_are_refused():
    refused(Archive(simple("a.txt", "b.txt").members, count=1).build(), "zip_central_directory_invalid")


def test_count_larger_than_records_is_refused():
    refused(Archive(simple("a.txt").members, count=2).build(), "zip_central_directory_invalid")


def test_central_directory_size_must_match_records():
    refused(Archive(simple("a.txt").members, cd_size_delta=-4).build(), "zip_central_directory_invalid")


@pytest.mark.parametrize("names", [
    [b"classes.dex", b"classes.dex"],
    [b"AndroidManifest.xml", b"a", b"AndroidManifest.xml"],
])
def test_duplicate_names_are_refused(names):
    refused(Archive([Member(n, b"x") for n in names]).build(), "zip_duplicate_entry")


@pytest.mark.parametrize("name", [
    b"classes.dex\x00evil",       # differs only after a NUL: C and Java readers see different names
    b"\xff\xfe.dex",              # not UTF-8
    b"/etc/passwd",
    b"../../outside",
    b"res\\raw\\a",
    b"a//b",
    b"",
])
def test_bad_names_are_refused(name):
    refused(Archive([Member(b"ok.txt", b"x"), Member(name, b"x")]).build(), "zip_bad_entry_name")


@pytest.mark.parametrize("names", [[b"a", b"a/"], [b"lib", b"lib/x.so"], [b"lib/x.so", b"lib"]])
def test_file_directory_collisions_are_refused(names):
    refused(Archive([Member(n, b"" if n.endswith(b"/") else b"x") for n in names]).build(), "zip_path_collision")


def test_local_name_must_match_central_name():
    refused(Archive([Member(b"classes.dex", b"x", local_name=b"classes2.dex")]).build(), "zip_local_header_mismatch")


def test_local_method_must_match():
    refused(Archive([Member(b"a", b"x" * 40, method=0, local_method=8)]).build(), "zip_local_header_mismatch")


def test_local_sizes_must_match_without_data_descriptor():
    refused(Archive([Member(b"a", b"x" * 40, local_usize=39)]).build(), "zip_local_header_mismatch")
    refused(Archive([Member(b"a", b"x" * 40, local_crc=1)]).build(), "zip_local_header_mismatch")


def test_data_descriptor_allows_zero_local_sizes():
    data = b"described" * 10
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = comp.compress(data) + comp.flush()
    desc = struct.pack("<IIII", 0x08074B50, zlib.crc32(data), len(raw), len(data))
    archive = Archive([Member(b"a", data, flags=0x08, local_crc=0, local_usize=0, local_csize=0, descriptor=desc),
                       Member(b"b", b"next")])
    c = ApkContainer.from_bytes(archive.build())
    assert c.read("a") == data and c.read("b") == b"next"


def test_unknown_compression_method_is_refused():
    # Android treats method 12 (bzip2) as stored; desktop tools would decompress it.
    refused(Archive([Member(b"a", b"xyz", method=12, compressed=b"xyz")]).build(), "zip_unsupported_compression")


def test_stored_entry_with_different_sizes_is_refused():
    refused(Archive([Member(b"a", b"xyz", method=0, usize=10, local_usize=10)]).build(), "zip_size_mismatch")


def test_encrypted_entry_is_refused():
    refused(Archive([Member(b"a", b"xyz", flags=0x01)]).build(), "zip_encrypted")


def test_absurd_version_needed_is_refused():
    refused(Archive([Member(b"a", b"xyz", version_needed=63)]).build(), "zip_version_unsupported")


def test_overlapping_entries_are_refused():
    first = Member(b"a", b"A" * 64, method=0)
    second = Member(b"b", b"A" * 64, method=0, local_offset=0, local_name=b"a")
    # The second record points at the first entry's local header: one set of bytes, two names.
    refused(Archive([first, second]).build(), "zip_local_header_mismatch")
    archive = Archive([Member(b"a", b"A" * 64, method=0, csize=200, usize=200, local_csize=200, local_usize=200),
                       Member(b"b", b"B")])
    with pytest.raises(ContainerError) as info:
        ApkContainer.from_bytes(archive.build())
    assert info.value.code in {"zip_entries_overlap", "zip_entry_out_of_bounds"}


def test_entry_data_past_central_directory_is_refused():
    refused(Archive([Member(b"a", b"x" * 10, method=0, csize=5000, usize=5000, local_csize=5000, local_usize=5000)])
            .build(), "zip_entry_out_of_bounds")


def test_crc_is_checked_when_read():
    c = ApkContainer.from_bytes(Archive([Member(b"a", b"payload", crc=1234, local_crc=1234)]).build())
    with pytest.raises(ContainerError) as info:
        c.read("a")
    assert info.value.code == "zip_crc_mismatch"


def test_deflated_entry_must_inflate_to_declared_size():
    short = Archive([Member(b"a", b"payload" * 10, usize=69, local_usize=69)]).build()
    c = ApkContainer.from_bytes(short)
    with pytest.raises(ContainerError) as info:
        c.read("a")
    assert info.value.code == "zip_size_mismatch"
    long_ = Archive([Member(b"a", b"payload" * 10, usize=71, local_usize=71)]).build()
    with pytest.raises(ContainerError) as info:
        ApkContainer.from_bytes(long_).read("a")
    assert info.value.code == "zip_size_mismatch"


def test_corrupt_deflate_stream_is_refused():
    c = ApkContainer.from_bytes(Archive([Member(b"a", b"x" * 10, compressed=b"\xff\xff\xff\xff")]).build())
    with pytest.raises(ContainerError) as info:
        c.read("a")
    assert info.value.code == "zip_inflate_failed"


def test_zip64_without_saturated_field_is_refused():
    base = simple("a.txt").build()
    eocd_at = len(base) - 22
    cd_offset, = struct.unpack_from("<I", base, eocd_at + 16)
    cd_size, = struct.unpack_from("<I", base, eocd_at + 12)
    zip64_at = eocd_at
    zip64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, cd_size, cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, zip64_at, 1)
    data = base[:eocd_at] + zip64 + locator + base[eocd_at:]
    refused(data, "zip64_invalid")


def test_saturated_field_without_zip64_is_refused():
    data = bytearray(simple("a.txt").build())
    struct.pack_into("<I", data, len(data) - 22 + 16, 0xFFFFFFFF)
    refused(bytes(data), "zip64_invalid")


def test_entry_count_limit():
    refused(simple("a", "b", "c").build(), "limit_entries", limits=ContainerLimits(max_entries=2))


def test_inflate_ratio_limit_stops_zip_bombs():
    bomb = b"\x00" * (8 << 20)
    refused(Archive([Member(b"bomb.bin", bomb)]).build(), "limit_inflate_ratio")


def test_total_inflated_limit():
    data = Archive([Member(b"a", b"y" * 1000), Member(b"b", b"y" * 1000)]).build()
    refused(data, "limit_total_inflated", limits=ContainerLimits(max_total_inflated=1500))


def test_manifest_size_cap_applies_before_inflating():
    c = ApkContainer.from_bytes(Archive([Member(b"AndroidManifest.xml", b"z" * 5000)]).build())
    with pytest.raises(LimitExceeded) as info:
        c.read("AndroidManifest.xml", max_size=4096)
    assert info.value.code == "limit_entry_size"


def test_directory_and_missing_paths(tmp_path):
    with pytest.raises(ContainerError) as info:
        ApkContainer.open(tmp_path)
    assert info.value.code == "file_is_directory"
    with pytest.raises(ContainerError) as info:
        ApkContainer.open(tmp_path / "nope.apk")
    assert info.value.code == "file_not_found"
    empty = tmp_path / "empty.apk"
    empty.write_bytes(b"")
    with pytest.raises(ContainerError) as info:
        ApkContainer.open(empty)
    assert info.value.code == "file_empty"


def test_random_bytes_never_escape_as_library_errors():
    import random

    rng = random.Random(7)
    base = simple("AndroidManifest.xml", "classes.dex", "res/a.xml").build()
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            c = ApkContainer.from_bytes(bytes(data))
            for e in c.entries:
                c.read(e)
        except (ContainerError, LimitExceeded):
            pass


def _with_zip64_count(base: bytes) -> bytes:
    """The same archive with its entry count moved into ZIP64 records (the classic field saturated)."""
    eocd_at = len(base) - 22
    count, = struct.unpack_from("<H", base, eocd_at + 10)
    cd_size, cd_offset = struct.unpack_from("<II", base, eocd_at + 12)
    zip64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, eocd_at, 1)
    eocd = bytearray(base[eocd_at:])
    struct.pack_into("<HH", eocd, 8, 0xFFFF, 0xFFFF)
    return base[:eocd_at] + zip64 + locator + bytes(eocd)


def test_consistent_zip64_is_read_and_flagged():
    c = ApkContainer.from_bytes(_with_zip64_count(simple("a.txt", "b.txt").build()))
    assert c.names() == ["a.txt", "b.txt"] and c.zip64
    assert not ApkContainer.from_bytes(simple("a.txt").build()).zip64


def test_zip64_apk_is_never_verified():
    from gate.extract.signing import verify_apk_signatures
    from tests.oracle import FIXTURES

    signed = (FIXTURES / "v1_only.apk").read_bytes()
    c = ApkContainer.from_bytes(_with_zip64_count(signed))
    facts = verify_apk_signatures(c, min_sdk=9, target_sdk=28)
    assert not facts.verified and facts.errors[0].message.startswith("zip64_unsupported")


def test_kept_entries_are_inflated_once():
    c = ApkContainer.from_bytes(simple("AndroidManifest.xml", "classes.dex").build())
    kept = c.read("AndroidManifest.xml", keep=True)
    assert c.read("AndroidManifest.xml") is kept  # the same bytes object: not inflated again
    assert c.read("classes.dex") is not c.read("classes.dex")  # others are not held in memory


def test_entry_name_and_collision_rules_match_their_definition_on_random_names() -> None:
    """The path rules read segment by segment (the definition) against the container's checks, on random names."""
    import itertools
    import random

    from gate.extract import container

    def segments_bad(name: str) -> bool:  # "." or ".." segments, or an empty one
        return any(part in ("..", ".") for part in name.split("/")) or "//" in name

    def first_collision(names: list[str]) -> str | None:
        files = {n for n in names if not n.endswith("/")}
        for name in names:
            parts = name.rstrip("/").split("/")
            for depth in range(1, len(parts)):
                if "/".join(parts[:depth]) in files:
                    return "/".join(parts[:depth])
            if name.endswith("/") and name[:-1] in files:
                return name[:-1]
        return None

    rng = random.Random(7)
    alphabet = ["a", "b", ".", "..", "/", "/"]
    for length in range(1, 7):
        for combo in itertools.product(alphabet, repeat=min(length, 4)):
            name = "".join(combo)
            if name.startswith("/"):
                continue
            try:
                container._check_name(name.encode())
                refused = False
            except ContainerError:
                refused = True
            assert refused == segments_bad(name), name
    for _ in range(2000):
        names = list(dict.fromkeys("".join(rng.choice(["a", "b", "/"]) for _ in range(rng.randrange(1, 6)))
                                   for _ in range(rng.randrange(1, 6))))
        names = [n for n in names if not n.startswith("/") and "//" not in n]
        expected = first_collision(names)
        try:
            container._check_collisions(dict.fromkeys(names))  # type: ignore[arg-type]
            found = None
        except ContainerError as exc:
            found = exc.message.split("'")[1]
        assert found == expected, names
