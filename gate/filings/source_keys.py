"""Source keys: recognising a record the registry already holds, byte for byte, without validating it again.

A re-import of an unchanged export (the regulator's daily file) is a million records that validate to exactly the
current versions. Validation is a pure function of the record's text and of the rules (this package's readers,
validators and canonical form), so a record whose text was imported before under the same rules, and produced that
filing's current version with no problem at all, would validate to the same Filing with the same (empty) problem
list. Its *source key* — a 128-bit BLAKE2b digest of the rules' fingerprint and the record's text — is stored with
the filing (``filing.source_key``); the next import recognises the text by its key and skips parsing and validation.

What keeps this exact (``gate.db.filings.DatabaseSink`` applies it):
- only records without any problem get a key, so every warning is reported again on every import;
- the rules' fingerprint is a digest of the source files that decide validation: a gate with different rules
  computes different keys and validates everything once more;
- a key is recognised only as the key of its filing's *current* version; a filing changed earlier in the same
  import makes its old key a duplicate, as validating the text would.
JSON Lines and JSON arrays have a record text; CSV and XLSX records (merged from several rows) have none and are
always validated.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterable
from functools import lru_cache

KEY_BYTES = 16  # 128 bits: a collision among a million records is ~1e-27 likely
# The modules whose code decides what a record's text validates to.
RULE_MODULES = ("formats.py", "validate.py", "keys.py", "numbers.py", "records.py", "problems.py",
                "source_keys.py")


@lru_cache(maxsize=1)
def rules_fingerprint() -> bytes:
    here = pathlib.Path(__file__).parent
    digest = hashlib.sha256()
    for name in RULE_MODULES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return digest.digest()


@lru_cache(maxsize=1)
def _seeded() -> hashlib.blake2b:
    return hashlib.blake2b(rules_fingerprint(), digest_size=KEY_BYTES)


def source_key(text: str) -> str:
    """The key of one record's text (a JSON Lines line without surrounding white space, a JSON array element)."""
    h = _seeded().copy()
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def write_keys(keys: Iterable[str], path: str | pathlib.Path) -> None:
    """Keys for a reader in another process: one hex key per line."""
    pathlib.Path(path).write_text("".join(k + "\n" for k in keys), encoding="ascii")


def read_keys(path: str | pathlib.Path) -> frozenset[str]:
    return frozenset(pathlib.Path(path).read_text(encoding="ascii").split())
