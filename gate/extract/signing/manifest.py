"""JAR manifest / signature-file (.SF) sections, split exactly as Android's verifier splits them.

The digests in a .SF file cover *byte ranges* of MANIFEST.MF (the whole file, the main section, each entry's
section including its terminating blank line), so the parser records each section's offsets, not just its
attributes. Lines end with CRLF, LF or CR; a line starting with a space continues the previous attribute.
Attribute names compare case-insensitively and the first occurrence wins (apksig ManifestParser).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    start: int
    size: int
    attributes: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.attributes:
            if key.lower() == lowered:
                return value
        return None

    @property
    def name(self) -> str | None:
        return self.get("Name")


def _lines(data: bytes) -> Iterator[tuple[bytes, int]]:
    """(line bytes, offset after its terminator) for every line."""
    pos, end = 0, len(data)
    # The next CR and LF at or after ``pos`` (``end`` when there is none), searched again only once passed: searching
    # both from every line rescanned the rest of the file for the terminator it never uses (a MANIFEST.MF with LF
    # line ends has no CR), quadratic in a large package's manifest.
    cr = lf = -1
    while pos < end:
        if cr < pos:
            cr = data.find(b"\r", pos)
            cr = end if cr == -1 else cr
        if lf < pos:
            lf = data.find(b"\n", pos)
            lf = end if lf == -1 else lf
        nl = min(cr, lf)
        if nl == end:
            yield data[pos:], end
            return
        after = nl + 2 if data[nl:nl + 2] == b"\r\n" else nl + 1
        yield data[pos:nl], after
        pos = after


def _attribute(text: bytes) -> tuple[str, str]:
    decoded = text.decode("utf-8", errors="replace")
    name, sep, value = decoded.partition(": ")
    return (name, value) if sep else (decoded, "")


def parse_sections(data: bytes) -> list[Section]:
    """All sections in order; the first is the main section."""
    sections: list[Section] = []
    lines = list(_lines(data))
    starts = [0] + [after for _, after in lines[:-1]]
    i = 0
    while i < len(lines):
        while i < len(lines) and lines[i][0] == b"":
            i += 1
        if i >= len(lines):
            break
        start = starts[i]
        attrs: list[tuple[str, str]] = []
        current: bytearray | None = bytearray(lines[i][0])
        end = lines[i][1]
        i += 1
        while i < len(lines):
            line, after = lines[i]
            assert current is not None  # None only after the blank line that ends the section (break)
            if line.startswith(b" "):
                current += line[1:]
                end = after
                i += 1
                continue
            attrs.append(_attribute(bytes(current)))
            if line == b"":
                end = after
                i += 1
                current = None
                break
            current = bytearray(line)
            end = after
            i += 1
        if current is not None:
            attrs.append(_attribute(bytes(current)))
        sections.append(Section(start, end - start, tuple(attrs)))
    return sections
