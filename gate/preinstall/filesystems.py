"""ext4 and EROFS file-system images read without mounting and without root, through Debian's own tools.

ext4: ``debugfs`` (e2fsprogs) opens the image read-only — at an offset inside a super image when the partition is
one run (``IMAGE?offset=N``, e2fsprogs' unix I/O option), so nothing is copied — and ``rdump``s only the app
directories. EROFS: ``fsck.erofs --extract`` (erofs-utils; it checks every file's encoding on the way) into a
private directory. Tools run with argument lists, never through a shell, under a timeout, with the work space
checked first; whatever they print on failure becomes an ``ImageError`` naming the partition.

Symbolic links are extracted as links and never followed afterwards (``layout`` skips them): an image can hold a
link to ``/etc/shadow`` on the machine that scans it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

from gate.errors import ImageError
from gate.preinstall.sparse import ensure_free_space

EXT4_MAGIC_OFFSET, EXT4_MAGIC = 1024 + 56, 0xEF53
EROFS_MAGIC_OFFSET, EROFS_MAGIC = 1024, 0xE0F5E1E2
TOOL_TIMEOUT_SECONDS = 3600
# Compressed EROFS images inflate on extraction; real system images compress about 2:1.
EROFS_EXPANSION_ALLOWANCE = 4
TOOLS = {"debugfs": "e2fsprogs", "fsck.erofs": "erofs-utils"}


HEAD_BYTES = 2048


def detect(path: str | os.PathLike, offset: int = 0) -> str | None:
    """``ext4``, ``erofs`` or None, from the superblock magic at ``offset`` in ``path``."""
    with open(path, "rb") as f:
        return detect_head(os.pread(f.fileno(), HEAD_BYTES, offset))


def detect_head(head: bytes) -> str | None:
    """``ext4``, ``erofs`` or None, from the first ``HEAD_BYTES`` of a file system."""
    erofs = head[EROFS_MAGIC_OFFSET:EROFS_MAGIC_OFFSET + 4]
    ext4 = head[EXT4_MAGIC_OFFSET:EXT4_MAGIC_OFFSET + 2]
    if len(erofs) == 4 and struct.unpack("<I", erofs)[0] == EROFS_MAGIC:
        return "erofs"
    if len(ext4) == 2 and struct.unpack("<H", ext4)[0] == EXT4_MAGIC:
        return "ext4"
    return None


def extract_dirs(kind: str, image: str | os.PathLike, dest: str, wanted: list[str], *, partition: str,
                 offset: int = 0, size: int | None = None) -> None:
    """Copy the directories ``wanted`` (relative to the file system's root, e.g. ``system/priv-app``) that exist
    in the image into ``dest``, keeping their relative paths. EROFS extracts the whole file system."""
    size = os.path.getsize(image) - offset if size is None else size
    if kind == "ext4":
        ensure_free_space(dest, size, partition=partition)
        _debugfs_rdump(image, offset, dest, wanted, partition)
    elif kind == "erofs":
        if offset:
            raise ValueError("EROFS images are read from a file of their own")
        ensure_free_space(dest, size * EROFS_EXPANSION_ALLOWANCE, partition=partition)
        _run(["fsck.erofs", "--no-preserve", f"--extract={dest}", os.fspath(image)], partition)
    else:
        raise ImageError(f"{kind} is not a file system this scan reads", code="image_format_unknown",
                         partition=partition)


def _debugfs_rdump(image, offset: int, dest: str, wanted: list[str], partition: str) -> None:
    if any(c in dest for c in '"\n\\'):
        raise ImageError(f"the work directory {dest!r} contains a quote, backslash or newline",
                         code="image_work_dir_invalid", partition=partition)
    device = f"{os.fspath(image)}?offset={offset}" if offset else os.fspath(image)
    # Opening the image and listing its root proves it is a readable ext4 file system before anything is dumped.
    listing = _run(["debugfs", "-R", "ls -p /", device], partition)
    if "/2/" not in listing.stdout:
        raise ImageError(f"debugfs cannot read the file system: {_last_line(listing.stderr)}",
                         code="image_filesystem_invalid", partition=partition)
    commands = []
    for rel in wanted:
        parent = os.path.join(dest, os.path.dirname(rel))
        os.makedirs(parent, exist_ok=True)
        commands.append(f'rdump "/{rel}" "{parent}"')
    script = os.path.join(dest, ".debugfs-commands")
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(commands) + "\n")
    try:
        result = _run(["debugfs", "-f", script, device], partition)
    finally:
        os.unlink(script)
    problems = [line for line in result.stderr.splitlines()
                if line.strip() and not line.startswith("debugfs ") and "File not found by ext2_lookup" not in line]
    if problems:
        raise ImageError(f"debugfs could not copy every app directory: {problems[0].strip()}",
                         code="image_filesystem_invalid", partition=partition)


def _run(args: list[str], partition: str) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise ImageError(f"{args[0]} is not installed (Debian package {TOOLS.get(args[0], args[0])})",
                         code="image_tool_missing", partition=partition)
    try:
        result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=TOOL_TIMEOUT_SECONDS,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ImageError(f"{args[0]} did not finish within {TOOL_TIMEOUT_SECONDS} s", code="image_tool_timeout",
                         partition=partition) from None
    if result.returncode != 0:
        raise ImageError(f"{args[0]} failed: {_last_line(result.stderr or result.stdout)}",
                         code="image_filesystem_invalid", partition=partition)
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("debugfs ")]
    return lines[-1] if lines else "no message"
