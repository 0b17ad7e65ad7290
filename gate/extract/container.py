"""The ZIP container, read the way Android's libziparchive reads it — and refused wherever tools could disagree.

Android locates entries through the central directory (never by scanning local headers), so that is what we do. Every
structure where another reader (Python's ``zipfile``, Java's ``ZipFile``, jadx, androguard) could see different
contents than the device is refused with a ``zip_*`` problem code instead of guessed at; attackers use each of these:

* data before the first local header ("Janus": a DEX prepended to a signed APK);
* an end-of-central-directory (EOCD) record that is not the last thing in the file, or a second plausible EOCD
  hidden in the comment; a gap between the central directory and the EOCD;
* a central directory whose records do not consume exactly its declared size and count;
* ZIP64 records where no classic field is saturated, or that contradict the classic fields;
* byte-exact duplicate names ("Master Key"), names that are not UTF-8, contain NUL, are absolute, climb with ``..``,
  use backslashes, or collide as file and directory;
* local headers that disagree with their central-directory record, data outside the archive or overlapping;
* compression methods other than stored (0) and deflate (8) — Android maps unknown methods to "stored", tools inflate;
  stored entries whose sizes differ; encryption; absurd version-needed values.

Nothing is ever extracted to disk and entry names are never used as paths. Resource limits are named in
``ContainerLimits``; exceeding one raises ``LimitExceeded`` rather than hanging or exhausting memory.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from collections.abc import Callable
from typing import Protocol

from gate.errors import ContainerError, LimitExceeded
from gate.records import record


class _RawInflater(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: memoryview, max_length: int, /) -> bytes: ...


try:  # isal inflates 2-3x faster than zlib and is a declared dependency; zlib keeps us working without it.
    from isal import isal_zlib
    from isal.igzip_lib import DECOMP_DEFLATE, IgzipDecompressor

    # isal's stub declares ``error: Exception`` (an instance); at run time it is the exception class.
    _INFLATE_ERRORS: tuple[type[Exception], ...] = (isal_zlib.error,)  # type: ignore[assignment]
    _crc32 = isal_zlib.crc32

    def _raw_inflater() -> _RawInflater:
        # Not isal_zlib.decompressobj: that one grows its output in steps and takes the GIL back after each, so
        # while the scanner thread runs Python every step waits a switch interval (a 3.5 MB DEX: 3 ms alone,
        # 44 ms beside a busy thread). IgzipDecompressor fills max_length in one release of the GIL (8 ms).
        return IgzipDecompressor(DECOMP_DEFLATE)
except ImportError:  # pragma: no cover - exercised only where isal is missing
    import zlib

    _INFLATE_ERRORS = (zlib.error,)
    _crc32 = zlib.crc32

    def _raw_inflater() -> _RawInflater:
        return zlib.decompressobj(-15)

EOCD_SIGNATURE = 0x06054B50
CD_SIGNATURE = 0x02014B50
LFH_SIGNATURE = 0x04034B50
DATA_DESCRIPTOR_SIGNATURE = 0x08074B50
ZIP64_EOCD_SIGNATURE = 0x06064B50
ZIP64_LOCATOR_SIGNATURE = 0x07064B50
ZIP64_EXTRA_ID = 0x0001

EOCD_SIZE = 22
CD_RECORD_SIZE = 46
LFH_SIZE = 30
ZIP64_LOCATOR_SIZE = 20
ZIP64_EOCD_SIZE = 56
MAX_COMMENT = 0xFFFF

METHOD_STORED = 0
METHOD_DEFLATED = 8

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_STRONG_ENCRYPTION = 0x0040

# Stored and deflated entries never need more than 2.0; ZIP64 needs 4.5. Anything higher announces features
# (bzip2, AES, strong encryption) that Android does not implement and other tools do.
MAX_VERSION_NEEDED = 45

_EOCD = struct.Struct("<IHHHHIIH")
_CD = struct.Struct("<IHHHHHHIIIHHHHHII")
_LFH = struct.Struct("<IHHHHHIIIHH")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_ZIP64_EOCD = struct.Struct("<IQHHIIQQQQ")


@record
class ContainerLimits:
    """Resource limits for one archive; each is a named, documented knob (README, "Limits")."""

    max_entries: int = 100_000
    """Central-directory records. Real APKs have a few thousand; the ZIP format itself allows 65,535 without ZIP64."""
    max_entry_inflated: int = 1 << 30
    """Declared uncompressed size of any one entry (1 GiB)."""
    max_total_inflated: int = 4 << 30
    """Sum of the declared uncompressed sizes of all entries (4 GiB)."""
    max_inflate_ratio: int = 200
    """Uncompressed/compressed ratio of an entry larger than ``ratio_floor`` — a zip-bomb signal. Deflate peaks near
    1032:1; real APK content (DEX, resources, native code) stays well under 20:1."""
    ratio_floor: int = 1 << 20
    """Entries smaller than this (1 MiB inflated) are never refused for their ratio: tiny runs of zeros are normal."""

    def __init__(self, max_entries: int = 100_000, max_entry_inflated: int = 1 << 30,
                 max_total_inflated: int = 4 << 30, max_inflate_ratio: int = 200, ratio_floor: int = 1 << 20) -> None:
        object.__setattr__(self, "__dict__", {
            "max_entries": max_entries, "max_entry_inflated": max_entry_inflated,
            "max_total_inflated": max_total_inflated, "max_inflate_ratio": max_inflate_ratio,
            "ratio_floor": ratio_floor
        })


DEFAULT_LIMITS = ContainerLimits()


@record
class ZipEntry:
    """One central-directory record, checked against its local header."""

    name: str
    raw_name: bytes
    method: int
    flags: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    local_header_offset: int
    data_offset: int
    """Absolute offset of the entry's (compressed) data, after the local header, name and extra field."""

    def __init__(self, name: str, raw_name: bytes, method: int, flags: int, crc32: int, compressed_size: int,
                 uncompressed_size: int, local_header_offset: int, data_offset: int) -> None:
        object.__setattr__(self, "__dict__", {
            "name": name, "raw_name": raw_name, "method": method, "flags": flags, "crc32": crc32,
            "compressed_size": compressed_size, "uncompressed_size": uncompressed_size,
            "local_header_offset": local_header_offset, "data_offset": data_offset
        })

    @property
    def is_directory(self) -> bool:
        return self.name.endswith("/")

    @property
    def data_end(self) -> int:
        return self.data_offset + self.compressed_size


# Called with each entry a reader inflates and its bytes (readers hand every inflated entry on: read once).
EntryCallback = Callable[[ZipEntry, bytes], None]


def _fail(code: str, message: str) -> ContainerError:
    return ContainerError(message, code=code)


class ApkContainer:
    """A read-only, verified view of a ZIP archive (APK, split APK, nested JAR)."""

    def __init__(self, data: bytes | memoryview | mmap.mmap, *, limits: ContainerLimits = DEFAULT_LIMITS,
                 closer: Callable[[], object] | None = None) -> None:
        self._data = data
        self._view = memoryview(data)
        self._closer = closer
        self._kept: dict[str, bytes] = {}
        self._lent: dict[str, bytes] = {}  # inflated by another reader for the next read of the entry (see lend)
        self.limits = limits
        self.size = len(self._view)
        try:
            self._parse()
        except struct.error as exc:  # a bound check we missed must still not escape as a library error
            self.close()
            raise _fail("zip_truncated", f"a ZIP structure runs past the end of the data ({exc})") from None
        except BaseException:
            self.close()
            raise

    # -- construction ---------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, limits: ContainerLimits = DEFAULT_LIMITS) -> ApkContainer:
        """Map the file read-only and parse it. Raises ContainerError for anything that is not a well-formed ZIP."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except IsADirectoryError:
            raise _fail("file_is_directory", f"{os.fspath(path)} is a directory, not a package") from None
        except FileNotFoundError:
            raise _fail("file_not_found", f"{os.fspath(path)} does not exist") from None
        except OSError as exc:
            raise _fail("file_unreadable", f"cannot open {os.fspath(path)}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise _fail("file_is_directory", f"{os.fspath(path)} is a directory, not a package")
            if not stat.S_ISREG(info.st_mode):
                raise _fail("file_unreadable", f"{os.fspath(path)} is not a regular file")
            if info.st_size == 0:
                raise _fail("file_empty", "the file is empty")
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise _fail("file_unreadable", f"cannot read {os.fspath(path)}: {exc.strerror}") from None
        finally:
            os.close(fd)
        return cls(mapped, limits=limits, closer=mapped.close)

    @classmethod
    def from_bytes(cls, data: bytes, *, limits: ContainerLimits = DEFAULT_LIMITS) -> ApkContainer:
        if not data:
            raise _fail("file_empty", "the data is empty")
        return cls(data, limits=limits)

    def close(self) -> None:
        """Release the mapping. Views handed out before must no longer be used."""
        if self._closer is not None:
            self._view.release()
            closer, self._closer = self._closer, None
            try:
                closer()
            except BufferError:  # a caller still holds a view; the mapping is freed when it goes
                pass

    def __enter__(self) -> ApkContainer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- access ---------------------------------------------------------------------------------------------------

    def get(self, name: str) -> ZipEntry | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def view(self, start: int, end: int) -> memoryview:
        """Raw bytes ``[start, end)`` of the archive (no copy)."""
        if not 0 <= start <= end <= self.size:
            raise ValueError(f"range {start}..{end} outside the archive of {self.size} bytes")
        return self._view[start:end]

    def read(self, entry: ZipEntry | str, *, max_size: int | None = None, keep: bool = False) -> bytes:
        """Inflate one entry, checking its size and CRC-32 as Android does.

        ``max_size`` lets a caller refuse an entry (with LimitExceeded) before inflating it, e.g. a manifest.
        ``keep`` remembers the bytes, so later readers of the same entry (the manifest and resource table, read for
        the facts and again for the v1 digests) do not inflate it twice.
        """
        if isinstance(entry, str):
            found = self._by_name.get(entry)
            if found is None:
                raise _fail("zip_entry_missing", f"the archive has no entry {entry!r}")
            entry = found
        kept = self._kept.get(entry.name)
        if kept is not None:
            return kept
        if max_size is not None and entry.uncompressed_size > max_size:
            raise LimitExceeded(
                f"{entry.name} declares {entry.uncompressed_size} bytes, more than the limit of {max_size}",
                code="limit_entry_size")
        lent = self._lent.pop(entry.name, None)
        if lent is not None:
            return lent
        raw = self._view[entry.data_offset:entry.data_end]
        if entry.method == METHOD_STORED:
            data = bytes(raw)
        else:
            data = self._inflate(entry, raw)
        if _crc32(data) != entry.crc32:
            raise _fail("zip_crc_mismatch", f"{entry.name}: CRC-32 of the content does not match the directory")
        if keep:
            self._kept[entry.name] = data
        return data

    def lend(self, entry: ZipEntry, data: bytes) -> None:
        """Offer ``data``, the bytes ``read(entry)`` returned on another thread, to the next ``read`` of ``entry``
        (once): the scanning thread that inflated an entry ahead of the verifier saves it inflating it again."""
        self._lent[entry.name] = data

    def unlend(self) -> None:
        """Drop what was lent and not taken."""
        self._lent.clear()

    @staticmethod
    def _inflate(entry: ZipEntry, raw: memoryview) -> bytes:
        declared = entry.uncompressed_size
        inflater = _raw_inflater()
        try:
            # One byte more than declared tells "too long" apart from "exact" without inflating a bomb's tail.
            data = inflater.decompress(raw, declared + 1)
        except _INFLATE_ERRORS as exc:
            raise _fail("zip_inflate_failed", f"{entry.name}: deflate data is corrupt ({exc})") from None
        if len(data) > declared:
            raise _fail("zip_size_mismatch", f"{entry.name}: inflates to more than the declared {declared} bytes")
        if not inflater.eof:
            raise _fail("zip_size_mismatch", f"{entry.name}: deflate stream ends early or runs past {declared} bytes")
        if len(data) != declared:
            raise _fail("zip_size_mismatch",
                        f"{entry.name}: inflates to {len(data)} bytes, the directory declares {declared}")
        return data

    # -- parsing ----------------------------------------------------------------------------------------------------

    def _parse(self) -> None:
        # Step 1: the archive must start with a local file header; anything in front is how "Janus" hides a DEX.
        if self.size < EOCD_SIZE:
            raise _fail("zip_not_a_zip", "too short to be a ZIP archive")
        if struct.unpack_from("<I", self._view, 0)[0] != LFH_SIGNATURE:
            if self._find_eocd_candidates():
                raise _fail("zip_prefixed_data",
                            "the archive does not start with a local file header (data is prepended, as in "
                            "the Janus attack, or the archive is empty)")
            raise _fail("zip_not_a_zip", "not a ZIP archive (no local file header at offset 0, no end record)")
        # Step 2: exactly one EOCD, last in the file, whose comment reaches the end.
        eocd = self._locate_eocd()
        # Step 3: the central directory, with ZIP64 only where a classic field is saturated.
        cd_offset, cd_size, count = self._central_directory_bounds(eocd)
        # Step 4: records, names, local headers, overlaps.
        self._read_records(cd_offset, cd_size, count)

    def _find_eocd_candidates(self) -> list[int]:
        """Offsets of EOCD signatures whose comment length reaches exactly the end of the file."""
        start = max(0, self.size - EOCD_SIZE - MAX_COMMENT)
        tail = self._view[start:].tobytes()
        found = []
        pos = tail.rfind(b"PK\x05\x06")
        while pos >= 0:
            offset = start + pos
            if offset + EOCD_SIZE <= self.size:
                comment_len = struct.unpack_from("<H", self._view, offset + 20)[0]
                if offset + EOCD_SIZE + comment_len == self.size:
                    found.append(offset)
            pos = tail.rfind(b"PK\x05\x06", 0, pos)
        return found

    def _locate_eocd(self) -> tuple[int, ...]:
        candidates = self._find_eocd_candidates()
        if not candidates:
            raise _fail("zip_eocd_invalid",
                        "no end-of-central-directory record whose comment ends exactly at the end of the file "
                        "(truncated, or data appended after the archive)")
        if len(candidates) > 1:
            # The record we would use could sit inside another record's comment (or the reverse): readers that scan
            # from different ends see different archives.
            raise _fail("zip_eocd_ambiguous", "more than one end-of-central-directory record fits the file")
        self.eocd_offset = candidates[0]
        return _EOCD.unpack_from(self._view, self.eocd_offset)

    def _central_directory_bounds(self, eocd: tuple[int, ...]) -> tuple[int, int, int]:
        _sig, disk, cd_disk, disk_entries, total_entries, cd_size, cd_offset, _comment_len = eocd
        zip64 = self._zip64_eocd()
        self.zip64 = zip64 is not None
        saturated = (disk == 0xFFFF or cd_disk == 0xFFFF or disk_entries == 0xFFFF or total_entries == 0xFFFF
                     or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF)
        if zip64 is not None:
            if not saturated:
                raise _fail("zip64_invalid", "ZIP64 end records are present although no classic field is saturated")
            z_disk, z_cd_disk, z_disk_entries, z_total, z_size, z_offset, cd_end = zip64
            for classic, wide, limit, what in (
                (disk, z_disk, 0xFFFF, "disk number"), (cd_disk, z_cd_disk, 0xFFFF, "directory disk"),
                (disk_entries, z_disk_entries, 0xFFFF, "entry count on disk"),
                (total_entries, z_total, 0xFFFF, "entry count"), (cd_size, z_size, 0xFFFFFFFF, "directory size"),
                (cd_offset, z_offset, 0xFFFFFFFF, "directory offset"),
            ):
                if classic != limit and classic != wide:
                    raise _fail("zip64_invalid", f"the ZIP64 {what} ({wide}) contradicts the classic one ({classic})")
            disk, cd_disk, disk_entries, total_entries, cd_size, cd_offset = (
                z_disk, z_cd_disk, z_disk_entries, z_total, z_size, z_offset)
        else:
            cd_end = self.eocd_offset
            if saturated and (cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF or total_entries == 0xFFFF):
                raise _fail("zip64_invalid", "a classic end-record field is saturated but no ZIP64 record follows")
        if disk != 0 or cd_disk != 0 or disk_entries != total_entries:
            raise _fail("zip_multi_disk", "spanned or multi-disk archives are not packages")
        if total_entries == 0:
            raise _fail("zip_empty", "the archive has no entries")
        if total_entries > self.limits.max_entries:
            raise LimitExceeded(f"the archive declares {total_entries} entries, more than the limit of "
                                f"{self.limits.max_entries}", code="limit_entries")
        if cd_offset + cd_size != cd_end:
            raise _fail("zip_central_directory_invalid",
                        f"the central directory ({cd_offset}+{cd_size}) is not immediately followed by the end "
                        f"record at {cd_end}")
        if total_entries * CD_RECORD_SIZE > cd_size:
            raise _fail("zip_central_directory_invalid",
                        f"{total_entries} entries cannot fit in a {cd_size}-byte central directory")
        self.central_directory_offset = cd_offset
        self.central_directory_size = cd_size
        return cd_offset, cd_size, total_entries

    def _zip64_eocd(self) -> tuple[int, ...] | None:
        locator_at = self.eocd_offset - ZIP64_LOCATOR_SIZE
        if locator_at < 0 or struct.unpack_from("<I", self._view, locator_at)[0] != ZIP64_LOCATOR_SIGNATURE:
            return None
        _sig, disk, z_eocd_offset, disks = _ZIP64_LOCATOR.unpack_from(self._view, locator_at)
        if disk != 0 or disks != 1:
            raise _fail("zip_multi_disk", "the ZIP64 locator names another disk")
        if z_eocd_offset + ZIP64_EOCD_SIZE > locator_at:
            raise _fail("zip64_invalid", "the ZIP64 end record lies outside the archive")
        rec = _ZIP64_EOCD.unpack_from(self._view, z_eocd_offset)
        sig, rec_size = rec[0], rec[1]
        if sig != ZIP64_EOCD_SIGNATURE or z_eocd_offset + 12 + rec_size != locator_at:
            raise _fail("zip64_invalid", "the ZIP64 end record is malformed or not followed by its locator")
        _s, _r, _made, _needed, z_disk, z_cd_disk, z_disk_entries, z_total, z_size, z_offset = rec
        return z_disk, z_cd_disk, z_disk_entries, z_total, z_size, z_offset, z_eocd_offset

    def _read_records(self, cd_offset: int, cd_size: int, count: int) -> None:
        limits = self.limits
        entries: list[ZipEntry] = []
        by_name: dict[str, ZipEntry] = {}
        pos, cd_end = cd_offset, cd_offset + cd_size
        total_inflated = 0
        for index in range(count):
            if pos + CD_RECORD_SIZE > cd_end:
                raise _fail("zip_central_directory_invalid", f"record {index} runs past the central directory")
            (sig, _made_by, needed, flags, method, _time, _date, crc, csize, usize, name_len, extra_len,
             comment_len, _disk, _int_attr, _ext_attr, lho) = _CD.unpack_from(self._view, pos)
            if sig != CD_SIGNATURE:
                raise _fail("zip_central_directory_invalid", f"record {index} has no central-directory signature")
            rec_end = pos + CD_RECORD_SIZE + name_len + extra_len + comment_len
            if rec_end > cd_end:
                raise _fail("zip_central_directory_invalid", f"record {index} runs past the central directory")
            raw_name = self._view[pos + CD_RECORD_SIZE:pos + CD_RECORD_SIZE + name_len].tobytes()
            if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF or lho == 0xFFFFFFFF:  # saturated: ZIP64 extra field
                extra = self._view[pos + CD_RECORD_SIZE + name_len:pos + CD_RECORD_SIZE + name_len + extra_len]
                usize, csize, lho = _apply_zip64_extra(extra, usize, csize, lho, raw_name)
            name = _check_name(raw_name)
            if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION):
                raise _fail("zip_encrypted", f"{name}: the entry is marked encrypted")
            if (needed & 0xFF) > MAX_VERSION_NEEDED:
                raise _fail("zip_version_unsupported",
                            f"{name}: needs ZIP version {(needed & 0xFF) / 10:.1f}, which Android does not implement")
            if method not in (METHOD_STORED, METHOD_DEFLATED):
                # Android's libziparchive treats unknown methods as stored; desktop tools inflate or skip them.
                raise _fail("zip_unsupported_compression", f"{name}: compression method {method} is not stored or deflate")
            if method == METHOD_STORED and csize != usize:
                raise _fail("zip_size_mismatch", f"{name}: stored entry with different compressed and real sizes")
            if usize > limits.max_entry_inflated:
                raise LimitExceeded(f"{name}: declares {usize} bytes, more than the per-entry limit",
                                    code="limit_entry_size")
            if usize > limits.ratio_floor and usize > csize * limits.max_inflate_ratio:
                raise LimitExceeded(f"{name}: inflate ratio {usize // max(csize, 1)}:1 exceeds "
                                    f"{limits.max_inflate_ratio}:1 (zip bomb)", code="limit_inflate_ratio")
            total_inflated += usize
            if total_inflated > limits.max_total_inflated:
                raise LimitExceeded("the entries declare more inflated bytes in total than the limit of "
                                    f"{limits.max_total_inflated}", code="limit_total_inflated")
            if name in by_name:
                raise _fail("zip_duplicate_entry", f"the entry name {name!r} occurs more than once")
            data_offset = self._check_local_header(name, raw_name, lho, flags, method, crc, csize, usize, cd_offset)
            entry = ZipEntry(name, raw_name, method, flags, crc, csize, usize, lho, data_offset)
            entries.append(entry)
            by_name[name] = entry
            pos = rec_end
        if pos != cd_end:
            raise _fail("zip_central_directory_invalid",
                        f"{cd_end - pos} bytes of the central directory are not covered by its {count} records")
        _check_collisions(by_name)
        _check_overlaps(entries, self._view, cd_offset)
        self.entries: tuple[ZipEntry, ...] = tuple(entries)
        self._by_name = by_name

    def _check_local_header(self, name: str, raw_name: bytes, lho: int, flags: int, method: int, crc: int,
                            csize: int, usize: int, cd_offset: int) -> int:
        if lho + LFH_SIZE > cd_offset:
            raise _fail("zip_local_header_invalid", f"{name}: the local header lies outside the entry data area")
        (sig, l_needed, l_flags, l_method, _t, _d, l_crc, l_csize, l_usize, l_name_len,
         l_extra_len) = _LFH.unpack_from(self._view, lho)
        if sig != LFH_SIGNATURE:
            raise _fail("zip_local_header_invalid", f"{name}: no local header at offset {lho}")
        if (l_needed & 0xFF) > MAX_VERSION_NEEDED:
            raise _fail("zip_version_unsupported", f"{name}: the local header needs an unsupported ZIP version")
        name_end = lho + LFH_SIZE + l_name_len
        if name_end + l_extra_len > cd_offset:
            raise _fail("zip_local_header_invalid", f"{name}: the local header runs into the central directory")
        if self._view[lho + LFH_SIZE:name_end] != raw_name:
            raise _fail("zip_local_header_mismatch", f"{name}: the local header names a different entry")
        if l_method != method:
            raise _fail("zip_local_header_mismatch", f"{name}: local and central compression methods differ")
        if (l_flags ^ flags) & (FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR):
            raise _fail("zip_local_header_mismatch", f"{name}: local and central flags differ")
        if not flags & FLAG_DATA_DESCRIPTOR:
            if l_usize == 0xFFFFFFFF or l_csize == 0xFFFFFFFF:  # saturated: the ZIP64 extra field holds the sizes
                extra = self._view[name_end:name_end + l_extra_len]
                l_usize, l_csize, _ = _apply_zip64_extra(extra, l_usize, l_csize, 0, raw_name)
            if (l_crc, l_csize, l_usize) != (crc, csize, usize):
                raise _fail("zip_local_header_mismatch", f"{name}: local and central sizes or CRC differ")
        data_offset: int = name_end + l_extra_len
        if data_offset + csize > cd_offset:
            raise _fail("zip_entry_out_of_bounds", f"{name}: the entry data runs past the entry data area")
        return data_offset


def _apply_zip64_extra(extra: memoryview, usize: int, csize: int, lho: int, raw_name: bytes) -> tuple[int, int, int]:
    """Replace saturated classic fields by the ZIP64 extra field's values (APPNOTE 4.5.3), in their fixed order."""
    if usize != 0xFFFFFFFF and csize != 0xFFFFFFFF and lho != 0xFFFFFFFF:
        return usize, csize, lho
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + size]
        if header_id == ZIP64_EXTRA_ID:
            values = [usize, csize, lho]
            at = 0
            for i, value in enumerate(values):
                if value == 0xFFFFFFFF:
                    if at + 8 > len(body):
                        break
                    values[i] = struct.unpack_from("<Q", body, at)[0]
                    at += 8
            else:
                return values[0], values[1], values[2]
        pos += 4 + size
    raise _fail("zip64_invalid", f"{raw_name!r}: a saturated size or offset has no ZIP64 extra field")


def _check_name(raw: bytes) -> str:
    """Entry names as libziparchive accepts them, plus the path rules no legitimate package breaks."""
    if not raw:
        raise _fail("zip_bad_entry_name", "an entry has an empty name")
    if b"\x00" in raw:
        # Java and C readers disagree about names with NUL ("classes.dex\0x" is "classes.dex" to one of them).
        raise _fail("zip_bad_entry_name", f"the entry name {raw!r} contains a NUL byte")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("zip_bad_entry_name", f"the entry name {raw!r} is not valid UTF-8") from None
    if name.startswith("/") or "\\" in name:
        raise _fail("zip_bad_entry_name", f"the entry name {name!r} is absolute or uses backslashes")
    # A segment "." or ".." is one between two slashes once the name is framed by slashes; three substring tests
    # instead of splitting every name (a package has thousands).
    framed = f"/{name}/"
    if "/./" in framed or "/../" in framed or "//" in name:
        raise _fail("zip_bad_entry_name", f"the entry name {name!r} has '.', '..' or empty path segments")
    return name


def _check_collisions(by_name: dict[str, ZipEntry]) -> None:
    """A name must not be both a file and a directory ("a" and "a/", or "a" and "a/b")."""
    files = {name for name in by_name if not name.endswith("/")}
    for name in by_name:
        # Each parent, shortest first: the name up to each of its slashes (names have no empty segments, so a
        # directory's own trailing slash is the last one and names no parent).
        slash = name.find("/")
        while 0 < slash < len(name) - 1:
            parent = name[:slash]
            if parent in files:
                raise _fail("zip_path_collision", f"{parent!r} is a file and also the directory of {name!r}")
            slash = name.find("/", slash + 1)
        if name.endswith("/") and name[:-1] in files:
            raise _fail("zip_path_collision", f"{name[:-1]!r} is both a file and a directory")


def _check_overlaps(entries: list[ZipEntry], view: memoryview, cd_offset: int) -> None:
    """Each entry's local header, data and data descriptor must stand alone; shared bytes mean two readings."""
    ordered = sorted(entries, key=lambda e: e.local_header_offset)
    for current, following in zip(ordered, ordered[1:] + [None]):
        end = current.data_end
        if current.flags & FLAG_DATA_DESCRIPTOR:
            end += _descriptor_length(view, end, cd_offset)
        limit = following.local_header_offset if following is not None else cd_offset
        if end > limit:
            raise _fail("zip_entries_overlap", f"{current.name} overlaps the next entry or the central directory")


def _descriptor_length(view: memoryview, at: int, limit: int) -> int:
    if at + 4 <= limit and struct.unpack_from("<I", view, at)[0] == DATA_DESCRIPTOR_SIGNATURE:
        return 16
    return 12
