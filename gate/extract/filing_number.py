"""Filing numbers (备案号) the app shows: where in the package a ``京ICP备2024000001号-1A`` appears.

MIIT notice 工信部信管〔2023〕105号 (八) asks the sponsor to show its filing number prominently in the app (usually an
"about" screen or the footer of a login page). The finder looks where an app keeps the texts it shows: the
resource table's string pool (``resources.arsc``: UTF-8 or UTF-16), compiled layouts and XML resources (binary XML,
UTF-16 string pools), assets and raw resources (HTML, JSON, JS bundles) and DEX string data (MUTF-8, which equals
UTF-8 for these characters). It is fed the same inflated entries as the network scanner (``gate.extract.pipeline``)
and never inflates anything itself.

Spellings seen in apps: ``京ICP备2024000001号-1A``, ``京ICP备2024000001号``, without 号, with spaces, full-width
(``京ＩＣＰ备２０２４０００００１号－１Ａ``), and with a label (``备案号：…``). Every spelling has 备, so the search anchors
on it with ``bytes.find`` (in UTF-8 and in UTF-16LE), then decodes a small window around each hit and reads the
number there: an entry without 备 costs two passes of ``find``. Numbers are reported
in the normal spelling of the filing registry (``gate.filings.numbers``): ``<province>ICP备<digits>号[-<n><letter>]``.
A number assembled at run time or loaded from a server is not seen; that is why the reason is only ``info`` by
default.
"""

from __future__ import annotations

import functools
import posixpath
import re
import unicodedata
from collections import defaultdict

from gate.extract.facts import FilingNumberFact
from gate.extract.network.regions import DEX_MAGIC, dex_string_data
from gate.filings.provinces import PROVINCES

MAX_NUMBERS = 20  # distinct numbers kept per package; an app showing more is a directory, not its own filing
# Every spelling has 备 (full-width variants change the letters and digits, not 备): one anchor per encoding.
# Compiled patterns, not bytes.find: the regex engine's literal search is about twice as fast on megabytes of DEX.
_ANCHORS = tuple((encoding, re.compile(re.escape("备".encode(encoding)))) for encoding in ("utf-8", "utf-16-le"))
_BEFORE_CHARS, _AFTER_CHARS = 12, 28  # province, ICP (full-width too) and spaces before 备; digits, 号, suffix after
_NUMBER = rf"([{PROVINCES}])\s*ICP\s*(备)\s*(\d{{8,10}})(?!\d)\s*(号)?(?:\s*-\s*(\d{{1,4}})(?!\d)([A-Z])?)?"
_MEDIA_EXTENSIONS = frozenset(
    "png jpg jpeg webp gif bmp ico heic avif mp3 mp4 m4a aac ogg wav flac amr webm mkv mov ttf otf woff woff2".split())


@functools.cache
def _number_pattern() -> re.Pattern[str]:
    """The number around a 备, compiled on the first hit: most packages have none, and compiling it costs about as
    much as reading a small package's resource strings (~5 M instructions; start-up, issue #28)."""
    return re.compile(_NUMBER)


def normal_number(province: str, digits: str, seq: str | None, letter: str | None) -> str:
    number = f"{province}ICP备{digits}号"
    return number + (f"-{int(seq)}{letter or ''}" if seq is not None else "")


def find_numbers(data: bytes) -> list[str]:
    """Every filing number in ``data`` (normal spelling, in order of appearance, without repeats)."""
    found: dict[str, None] = {}
    anchors, lo, hi = _ANCHORS, 0, len(data)
    if data.startswith(DEX_MAGIC):
        # DEX strings are MUTF-8, which spells 备 as UTF-8 does, and live in the string data section: searching
        # elsewhere, or for UTF-16, would only meet code bytes.
        anchors = _ANCHORS[:1]
        region = dex_string_data(data)
        if region is not None:
            lo, hi = region.start, region.end
    for encoding, anchor in anchors:
        width = 2 if encoding == "utf-16-le" else 3  # bytes per CJK or full-width character; ASCII takes fewer
        hit = anchor.search(data, lo, hi)
        while hit is not None:
            start = hit.start()
            low = max(0, start - _BEFORE_CHARS * width)
            if encoding == "utf-16-le":
                low += (start - low) % 2  # keep the window aligned with the code units of the hit
            before = unicodedata.normalize("NFKC", data[low:start].decode(encoding, "ignore"))
            after = unicodedata.normalize("NFKC", data[start:start + _AFTER_CHARS * width].decode(encoding, "ignore"))
            # Only the number whose 备 is this hit: a window reaching into the next string could cut that one short.
            for m in _number_pattern().finditer(before + after.replace("—", "-")):
                if m.start(2) == len(before):
                    found.setdefault(normal_number(m[1], m[3], m[5], m[6]))
            hit = anchor.search(data, hit.end(), hi)
    return list(found)


class FilingNumberFinder:
    """Collects the filing numbers of one package, with the entries each appeared in."""

    def __init__(self) -> None:
        self._sources: defaultdict[str, list[str]] = defaultdict(list)

    @staticmethod
    def wants(name: str) -> bool:
        """Entries that hold texts an app shows: resource strings, XML resources, assets, DEX."""
        base = posixpath.basename(name)
        if name == "resources.arsc" or (base.startswith("classes") and base.endswith(".dex")):
            return True
        media = base.rsplit(".", 1)[-1].lower() in _MEDIA_EXTENSIONS  # pictures, sound and fonts hold no text
        if name.startswith("res/"):
            return name.endswith(".xml") or (name.startswith("res/raw") and not media)
        if name.startswith("assets/"):
            return not media
        return False

    def feed(self, name: str, data: bytes) -> None:
        if not self.wants(name):
            return
        for number in find_numbers(data):
            if number in self._sources or len(self._sources) < MAX_NUMBERS:
                self._sources[number].append(name)

    def facts(self) -> tuple[FilingNumberFact, ...]:
        return tuple(FilingNumberFact(number, tuple(sorted(set(sources))))
                     for number, sources in sorted(self._sources.items()))
