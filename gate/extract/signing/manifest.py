"""JAR manifest / signature-file (.SF) sections, split exactly as Android's verifier splits them.

The digests in a .SF file cover *byte ranges* of MANIFEST.MF (the whole file, the main section, each entry's
section including its terminating blank line), so the parser records each section's offsets, not just its
attributes. Lines end with CRLF, LF or CR; a line starting with a space continues the previous attribute.
Attribute names compare case-insensitively and the first occurrence wins (apksig ManifestParser).
"""

from __future__ import annotations

from gate.records import record


@record
class Section:
    """A section of a JAR manifest or signature file: where it starts, its size, and its attributes in order."""

    start: int
    size: int
    attributes: tuple[tuple[str, str], ...]

    def __init__(self, start: int, size: int, attributes: tuple[tuple[str, str], ...]) -> None:
        object.__setattr__(self, "__dict__", {"start": start, "size": size, "attributes": attributes})

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.attributes:
            # As written ("SHA-256-Digest") is the common case; an exact match is also a case-insensitive one, so
            # the first attribute matching either way is still the first occurrence.
            if key == name or key.lower() == lowered:
                return value
        return None

    @property
    def name(self) -> str | None:
        return self.get("Name")


def _attribute(text: bytes) -> tuple[str, str]:
    decoded = text.decode("utf-8", errors="replace")
    name, sep, value = decoded.partition(": ")
    return (name, value) if sep else (decoded, "")


def parse_sections(data: bytes) -> list[Section]:
    """All sections in order; the first is the main section."""
    sections: list[Section] = []
    start = end = 0  # the current section's first byte, and the byte after its last line (blank line included)
    attrs: list[tuple[str, str]] = []
    current: bytes | None = None  # the attribute being read (continuation lines appended); None between sections
    line_start = after = 0
    # bytes.splitlines ends lines exactly where the verifier does (CRLF, LF or CR; no other byte, unlike
    # str.splitlines), so each kept line carries at most one terminator, which rstrip removes. One C-level pass; the
    # loop is inlined (a MANIFEST.MF has a section per entry: ~900 lines for a 450-entry APK, read twice with the .SF).
    for raw in data.splitlines(keepends=True):
        after += len(raw)
        line = raw.rstrip(b"\r\n")
        if current is None:
            if line:  # blank lines between sections belong to none
                start, attrs, current, end = line_start, [], line, after
        elif line[:1] == b" ":
            current += line[1:]  # rare: only names longer than a line continue
            end = after
        else:
            attrs.append(_attribute(current))
            if not line:  # the blank line that ends the section
                sections.append(Section(start, after - start, tuple(attrs)))
                current = None
            else:
                current, end = line, after
        line_start = after
    if current is not None:
        attrs.append(_attribute(current))
        sections.append(Section(start, end - start, tuple(attrs)))
    return sections
