"""Text that came from outside and must be stored or shown: what no column, page or JSON answer can hold.

Python strings may carry a NUL (PostgreSQL refuses it in any text value) and lone UTF-16 surrogates (a JSON
``"\\ud800"`` decodes to one; it cannot be encoded as UTF-8, so SQLite, a page and a JSON answer all fail on it).
Input with either is refused at the boundary with the field's stable code; a file name is cleaned instead, since
it only labels what was uploaded.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FILENAME_DROP = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # controls too: a name is shown on a page and in logs


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, in English, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return "contains a NUL character" if found.group() == "\x00" else "contains a lone UTF-16 surrogate"


def clean_filename(name: str | None, default: str = "package.apk") -> str:
    """The last path segment of an uploaded file's name, without controls or surrogates, at most 255 characters."""
    name = _FILENAME_DROP.sub("", (name or "").replace("\\", "/")).rsplit("/", 1)[-1][:255]
    return name or default
