"""Where a device finds its preinstalled apps, and the path the device sees for each.

PackageManager scans each partition's ``app/``, ``priv-app/`` (privileged) and ``overlay/`` (runtime resource
overlays) directories for ``*.apk``, and ``apex/`` for APEX modules, whose payload carries more app directories.
The partitions are ``system``, ``system_ext``, ``product``, ``vendor``, ``odm`` and ``oem``; an image may fold one
into another (``/system/product``, ``/vendor/odm``) and a system-as-root image keeps its files under ``system/``.
The device path is ``/<partition>/<path in its file system>``, except in a system-as-root image, whose root is
the device's ``/``.

Only regular files count: a symbolic link in an image is never followed (it may point anywhere on the machine that
runs the scan), and the device would not install an app through one either.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

PARTITIONS = ("system", "system_ext", "product", "vendor", "odm", "oem")
APP_DIRS = ("app", "priv-app", "overlay")
APEX_DIR = "apex"
# Inside one partition's file system: its own root, system-as-root, and partitions folded into another.
PREFIXES = ("", "system", "system/product", "system/system_ext", "product", "system_ext", "odm")
SLOT_SUFFIX = re.compile(r"_[ab]$")
PACKAGE_LIKE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]{0,127}")  # an APEX module name, e.g. com.android.foo


@dataclass(frozen=True)
class FoundApp:
    """An APK to check: ``local`` on this machine, ``device_path`` as the device sees it."""

    local: str
    device_path: str
    partition: str
    apex: str | None = None  # device path of the APEX module that carries it


def partition_name(name: str) -> str:
    """``system_a`` → ``system``; ``system.img`` → ``system``: a build's slot suffix names no other partition."""
    base = name[:-4] if name.endswith(".img") else name
    return SLOT_SUFFIX.sub("", base)


def wanted_dirs(*, with_apex: bool = True) -> list[str]:
    subdirs = APP_DIRS + ((APEX_DIR,) if with_apex else ())
    return [f"{prefix}/{sub}".lstrip("/") for prefix in PREFIXES for sub in subdirs]


def device_path(partition: str, relative: str) -> str:
    relative = relative.strip("/")
    if partition == "system" and relative.startswith("system/"):
        return "/" + relative  # system-as-root: the image's root is the device's /
    return f"/{partition}/{relative}"


def _regular_files(directory: str, suffixes: tuple[str, ...], *, recursive: bool):
    for current, dirs, files in os.walk(directory, followlinks=False):
        for name in sorted(files):
            path = os.path.join(current, name)
            if name.endswith(suffixes) and stat.S_ISREG(os.lstat(path).st_mode):
                yield path
        if not recursive:
            dirs.clear()
        dirs.sort()


def apps_in(root: str, partition: str, mount: str | None = None) -> tuple[list[FoundApp], list[tuple[str, str]]]:
    """The APKs and APEX files in a partition's tree at ``root``: (apps, [(apex local path, device path)]).

    ``mount`` replaces the partition's device directory (APEX payloads are mounted at ``/apex/<name>``)."""
    apps, apexes = [], []
    dirs = wanted_dirs(with_apex=mount is None)
    for rel in dirs:
        local = os.path.join(root, rel)
        if not os.path.isdir(local) or os.path.islink(local):
            continue
        if rel.endswith(APEX_DIR):
            for path in _regular_files(local, (".apex", ".capex"), recursive=False):
                apexes.append((path, device_path(partition, os.path.relpath(path, root))))
            continue
        for path in _regular_files(local, (".apk",), recursive=True):
            relative = os.path.relpath(path, root)
            shown = f"{mount}/{relative}" if mount else device_path(partition, relative)
            apps.append(FoundApp(path, shown, partition))
    return apps, apexes


def tree_partitions(root: str) -> list[tuple[str, str]]:
    """An unpacked image: its partition directories as (partition, local root); [] when not laid out so."""
    found = []
    for name in sorted(os.listdir(root)):
        local = os.path.join(root, name)
        if os.path.isdir(local) and not os.path.islink(local) and partition_name(name) in PARTITIONS:
            found.append((partition_name(name), local))
    return found


def loose_apks(root: str) -> list[FoundApp]:
    """A directory not laid out like an image: every APK under it, its path relative to the directory."""
    return [FoundApp(p, "/" + os.path.relpath(p, root), "")
            for p in _regular_files(root, (".apk",), recursive=True)]
