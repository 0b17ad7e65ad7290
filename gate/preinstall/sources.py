"""From what the release engineer has to the apps to check: one job per partition, run while checks run.

A target is an unpacked tree, or an image file: Android sparse (expanded once into the work directory), ext4,
EROFS, or a super image (its logical partitions, each read in place when it is one linear run and ext4, otherwise
copied out once). Each partition's app directories are copied into a private work directory that is removed when
the scan ends, whatever happens. An APEX module's payload is read the same way, in place when stored.

A partition that cannot be read does not stop the scan: its error (with a stable code and the partition's name)
goes into the report and blocks the release, and every other partition is still checked.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gate.errors import ImageError
from gate.preinstall import filesystems, layout, sparse, superimage

APEX_PAYLOAD = "apex_payload.img"
APEX_MANIFEST = "apex_manifest.pb"
CAPEX_ORIGINAL = "original_apex"
MAX_APEX_MANIFEST = 64 * 1024


@dataclass
class PartitionResult:
    name: str
    source: str
    format: str
    apps: list[layout.FoundApp] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


class WorkSpace:
    """A private directory under ``base`` for partition copies and app directories, and the images opened for the
    scan; all removed or closed on close."""

    def __init__(self, base: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gate-preinstall-", dir=base)
        self.root = self._dir.name
        self._count = 0
        self._open: list = []

    def new(self, label: str, *, directory: bool = True) -> str:
        self._count += 1
        path = os.path.join(self.root, f"{self._count:04d}-{label}")
        if directory:
            os.mkdir(path)
        return path

    def keep(self, image):
        self._open.append(image)
        return image

    def discard(self, path: str) -> None:
        """Delete a copy made here as soon as it has served (a partition written out, an APK checked), so the
        files are removed while other work runs rather than all at the end; a path outside the work directory
        (an APK of an unpacked tree: the caller's own file) is left alone."""
        root = os.path.abspath(self.root)  # --work-dir may be relative
        if os.path.commonpath([root, os.path.abspath(path)]) != root:
            return
        try:
            os.unlink(path)
        except OSError:
            pass  # whatever is left goes with the directory on close

    def close(self) -> None:
        for image in self._open:
            image.close()
        self._dir.cleanup()

    def __enter__(self) -> WorkSpace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def plan(targets: list[str], work: WorkSpace, note: Callable[[str], None]) -> Iterator[Callable[[], PartitionResult]]:
    """Jobs, one per partition to read; a super image's metadata is read here, so its partitions' jobs can run
    side by side."""
    for target in targets:
        if os.path.isdir(target):
            yield from _tree_jobs(target, work)
            continue
        name = layout.partition_name(os.path.basename(target))
        try:
            image = work.keep(_open_image(target, name))
            if superimage.is_super(image):
                note(f"reading the partition table of {os.path.basename(target)}")
                partitions = superimage.read_partitions(image, name=name)
                bases = [layout.partition_name(p.name) for p in partitions]
                # Smallest first: the first APKs reach the checkers sooner, and the cores idle less while the
                # large partitions are written out (the report lists partitions in the device's order anyway).
                for partition, base in sorted(zip(partitions, bases), key=lambda pair: pair[0].size):
                    # Both slots filled (rare in a build): keep the suffix so neither hides the other.
                    shown_name = base if bases.count(base) == 1 else partition.name
                    yield _bound(_read_partition, image, partition, shown_name, target, work)
                continue
        except (ImageError, OSError) as exc:
            yield _bound(_failed, name, target, _error(exc, name))
            continue
        whole = superimage.LogicalPartition(name, (superimage.Extent(0, image.size),))
        yield _bound(_read_partition, image, whole, name, target, work)


def _open_image(target: str, name: str):
    if os.path.getsize(target) == 0:
        raise ImageError("the image file is empty", code="image_truncated", partition=name)
    return sparse.SparseImage(target, partition=name) if sparse.is_sparse(target) else superimage.RawImage(target)


def _bound(function, *args):
    return lambda: function(*args)


def _error(exc: Exception, partition: str) -> dict:
    if isinstance(exc, ImageError):
        return {"partition": exc.partition or partition, "code": exc.code, "message": exc.message}
    return {"partition": partition, "code": "image_unreadable", "message": f"{partition}: {exc}"}


def _failed(name: str, source: str, error: dict) -> PartitionResult:
    return PartitionResult(name, os.path.basename(source), "unreadable", errors=[error])


def _tree_jobs(root: str, work: WorkSpace) -> Iterator[Callable[[], PartitionResult]]:
    partitions = layout.tree_partitions(root)
    if not partitions:
        yield lambda: PartitionResult("", root, "directory", layout.loose_apks(root))
        return
    for name, local in partitions:
        yield _bound(_tree_job, name, local, work)


def _tree_job(name: str, local: str, work: WorkSpace) -> PartitionResult:
    result = PartitionResult(name, local, "directory")
    apps, apexes = layout.apps_in(local, name)
    result.apps.extend(apps)
    _read_apexes(apexes, name, result, work)
    return result


def _read_partition(image, partition: superimage.LogicalPartition, name: str, source: str,
                    work: WorkSpace) -> PartitionResult:
    """One file system: in place when the image is a raw file and the partition one run of it that debugfs can
    read at an offset (ext4); otherwise written once into the work directory, from the raw or sparse image."""
    label = partition.name
    in_super = partition.size != image.size or partition.contiguous_offset != 0
    shown = ("sparse " if isinstance(image, sparse.SparseImage) else "") + ("super " if in_super else "")
    result = PartitionResult(name, os.path.basename(source), shown + "image")
    try:
        first = partition.extents[0]
        head = image.read_at(first.offset, filesystems.HEAD_BYTES) if first.offset is not None else b""
        kind = filesystems.detect_head(head)
        if kind is None:
            raise ImageError("neither ext4 nor EROFS (no superblock magic)", code="image_format_unknown",
                             partition=label)
        result.format = shown + kind
        offset = partition.contiguous_offset
        if isinstance(image, superimage.RawImage) and offset is not None and (kind == "ext4" or offset == 0):
            path = image.path
        else:
            path, offset = work.new(f"{label}.img", directory=False), 0
            sparse.ensure_free_space(work.root, partition.size, partition=label)
            superimage.carve(image, partition, path)
        dest = work.new(label)
        try:
            filesystems.extract_dirs(kind, path, dest, layout.wanted_dirs(), partition=label, offset=offset,
                                     size=partition.size)
        finally:
            work.discard(path)  # the partition written out; an image read in place is not the work directory's
        apps, apexes = layout.apps_in(dest, name)
        result.apps.extend(apps)
        _read_apexes(apexes, name, result, work)
    except (ImageError, OSError) as exc:
        result.errors.append(_error(exc, label))
    return result


def _read_apexes(apexes: list[tuple[str, str]], partition: str, result: PartitionResult,
                 work: WorkSpace) -> None:
    for local, shown in apexes:
        try:
            result.apps.extend(read_apex(local, shown, partition, work))
        except (ImageError, OSError) as exc:
            result.errors.append(_error(exc, shown))


def read_apex(local: str, shown: str, partition: str, work: WorkSpace, *, depth: int = 0
              ) -> list[layout.FoundApp]:
    """The APKs inside an APEX module (a ZIP whose ``apex_payload.img`` is an ext4 or EROFS image)."""
    try:
        archive = zipfile.ZipFile(local)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImageError(f"not a readable APEX archive ({exc})", code="image_apex_invalid",
                         partition=shown) from None
    with archive:
        names = set(archive.namelist())
        if CAPEX_ORIGINAL in names and depth == 0:  # compressed APEX: the module is stored inside
            inner = work.new("original.apex", directory=False)
            _copy_entry(archive, CAPEX_ORIGINAL, inner, work, shown)
            return read_apex(inner, shown, partition, work, depth=1)
        if APEX_PAYLOAD not in names:
            raise ImageError("the APEX has no apex_payload.img", code="image_apex_invalid", partition=shown)
        module = _apex_name(archive, names) or _apex_name_from_file(shown)
        info = archive.getinfo(APEX_PAYLOAD)
        if info.compress_type == zipfile.ZIP_STORED:
            image, offset = local, _data_offset(local, info, shown)
        else:
            image, offset = work.new(f"{module}.payload", directory=False), 0
            _copy_entry(archive, APEX_PAYLOAD, image, work, shown)
    kind = filesystems.detect(image, offset)
    if kind is None:
        raise ImageError("the APEX payload is neither ext4 nor EROFS", code="image_format_unknown",
                         partition=shown)
    if kind == "erofs" and offset:  # fsck.erofs reads whole files only
        copy = work.new(f"{module}.payload", directory=False)
        with superimage.RawImage(local) as apex_file:
            superimage.carve(apex_file, superimage.LogicalPartition(shown, (superimage.Extent(offset,
                                                                                              info.file_size),)), copy)
        image, offset = copy, 0
    dest = work.new(f"{module}.apex")
    try:
        filesystems.extract_dirs(kind, image, dest, [d for d in layout.wanted_dirs(with_apex=False)
                                                     if "/" not in d], partition=shown, offset=offset,
                                 size=info.file_size)
    finally:
        work.discard(image)  # the payload copied out, or the module holding it, once read
    apps, _ = layout.apps_in(dest, partition, mount=f"/apex/{module}")
    return [layout.FoundApp(a.local, a.device_path, partition, apex=shown) for a in apps]


def _copy_entry(archive: zipfile.ZipFile, name: str, target: str, work: WorkSpace, shown: str) -> None:
    info = archive.getinfo(name)
    sparse.ensure_free_space(work.root, info.file_size, partition=shown)
    try:
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(sparse.COPY_STEP):
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise ImageError(f"{name} cannot be read from the APEX ({exc})", code="image_apex_invalid",
                         partition=shown) from None


def _data_offset(path: str, info: zipfile.ZipInfo, shown: str) -> int:
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise ImageError("the APEX payload's local header is missing", code="image_apex_invalid",
                         partition=shown)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    if start + info.file_size > os.path.getsize(path):
        raise ImageError("the APEX payload runs past the end of the file", code="image_truncated", partition=shown)
    return start


def _apex_name(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """Field 1 (``name``) of apex_manifest.pb: the directory the module is mounted at, /apex/<name>."""
    if APEX_MANIFEST not in names or archive.getinfo(APEX_MANIFEST).file_size > MAX_APEX_MANIFEST:
        return None
    try:
        data = archive.read(APEX_MANIFEST)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    position = 0
    while position < len(data):
        read = _varint(data, position)
        if read is None:
            return None
        key, position = read
        field_number, wire = key >> 3, key & 7
        if wire == 0:
            read = _varint(data, position)
            if read is None:
                return None
            position = read[1]
        elif wire == 2:
            read = _varint(data, position)
            if read is None or read[1] + read[0] > len(data):
                return None
            length, position = read
            if field_number == 1:
                value = data[position:position + length].decode("ascii", "replace")
                return value if layout.PACKAGE_LIKE.fullmatch(value) else None
            position += length
        else:
            return None
    return None


def _varint(data: bytes, position: int) -> tuple[int, int] | None:
    """(value, position after it), or None when the varint runs past the data or past 64 bits."""
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return None


def _apex_name_from_file(shown: str) -> str:
    base = os.path.basename(shown)
    return base.split("@", 1)[0].removesuffix(".capex").removesuffix(".apex")
