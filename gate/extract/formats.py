"""Which kind of package an archive is, told by its contents — never by its file name.

A wrong extension gets the right reader: an IPA renamed ``.apk`` is read as an IPA. Each format is recognised by the
entries its own installer looks for first:

* ``apk``  — ``AndroidManifest.xml`` at the root (also a split APK on its own);
* ``aab``  — ``base/manifest/AndroidManifest.xml`` (bundletool's module layout);
* ``apks`` — APK entries and bundletool's table of contents ``toc.pb`` (or APK entries and no other marker: the set
  ``adb install-multiple`` takes);
* ``xapk`` — APK entries and ``manifest.json``; ``apkm`` — APK entries and ``info.json`` (APKMirror);
* ``ipa``  — ``Payload/<name>.app/Info.plist``;
* ``hap``  — ``module.json`` (stage model) or ``config.json`` (FA model) at the root;
  ``app``  — ``pack.info`` and ``.hap`` entries (a HarmonyOS App Pack);
* ``rpk``  — ``manifest.json`` at the root and no APK entries (a quick app; an XAPK has APKs beside its manifest);
  ``rpks`` — ``.rpk`` or ``.srpk`` entries (a quick-app set: base package and sub-packages).

An archive that is none of these is ``format_unknown``, with a description of what was found. An archive with
``classes.dex``, ``resources.arsc`` or ``META-INF/`` but no manifest is still read as an APK, so that the APK reader
reports the missing manifest as Android would.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from gate.records import record

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer

PLATFORMS = {"apk": "android", "apks": "android", "xapk": "android", "apkm": "android", "aab": "android",
             "ipa": "ios", "hap": "harmony", "app": "harmony", "rpk": "quickapp", "rpks": "quickapp",
             # Not archives the detector tells: a mini-program declaration's facts (gate.miniprogram).
             "miniprogram": "miniprogram"}
SPLIT_SET_MARKERS = (("toc.pb", "apks"), ("manifest.json", "xapk"), ("info.json", "apkm"))
_IPA_INFO_PLIST = re.compile(r"Payload/[^/]+\.app/Info\.plist")
APK_HINTS = ("classes.dex", "resources.arsc")
MAX_NAMES_SHOWN = 5


@record
class Detected:
    """The format a package's contents show (None: none the gate reads)."""

    format: str | None
    found: str = ""
    """For an unknown archive: what it holds, in words (becomes the problem message)."""

    def __init__(self, format: str | None, found: str = "") -> None:
        object.__setattr__(self, "__dict__", {"format": format, "found": found})

    @property
    def platform(self) -> str | None:
        return PLATFORMS.get(self.format or "")


def detect_format(container: ApkContainer) -> Detected:
    """The format of an ``ApkContainer``, from its entry names (the central directory, nothing inflated)."""
    if container.get("AndroidManifest.xml") is not None:
        return Detected("apk")
    if container.get("base/manifest/AndroidManifest.xml") is not None:
        return Detected("aab")
    names = container.names()
    if any(_IPA_INFO_PLIST.fullmatch(name) for name in names):
        return Detected("ipa")
    if container.get("module.json") is not None or container.get("config.json") is not None:
        return Detected("hap")
    if container.get("pack.info") is not None and any(_extension(n) == "hap" for n in names):
        return Detected("app")
    has_apks = any(_extension(n) == "apk" for n in names)
    if container.get("manifest.json") is not None and not has_apks:
        return Detected("rpk")
    if any(_extension(n) in ("rpk", "srpk") for n in names) and not has_apks:
        return Detected("rpks")
    if has_apks:
        for marker, fmt in SPLIT_SET_MARKERS:
            if container.get(marker) is not None:
                return Detected(fmt)
        return Detected("apks")
    if any(container.get(name) is not None for name in APK_HINTS) or any(n.startswith("META-INF/") for n in names):
        return Detected("apk")
    return Detected(None, describe(names))


def describe(names: list[str]) -> str:
    """``a ZIP archive of 3 entries (a.txt, b/, c.bin) with none of …``: what an unknown archive holds."""
    shown = ", ".join(names[:MAX_NAMES_SHOWN]) + (", …" if len(names) > MAX_NAMES_SHOWN else "")
    return (f"a ZIP archive of {len(names)} entries ({shown or 'none'}) that is no package the gate reads: no "
            "AndroidManifest.xml (APK), base/manifest/ (App Bundle), APK entries (split set), "
            "Payload/*.app/Info.plist (IPA), module.json or pack.info (HarmonyOS), manifest.json (quick app)")


def _extension(name: str) -> str:
    return posixpath.splitext(name)[1][1:].lower()
