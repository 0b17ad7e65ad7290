"""Apple code signatures: the embedded SuperBlob of a Mach-O slice, its CodeDirectories and what they seal.

Format (Apple's published ``cs_blobs.h`` / ``codesign`` documentation; all integers big-endian):

* SuperBlob ``0xfade0cc0``: length, count, then ``count`` (slot type, offset) index entries. Slot 0 is the first
  CodeDirectory, 2 the requirements, 5 the entitlements (XML plist), 7 the DER entitlements, ``0x1000``-``0x1004``
  alternate CodeDirectories (other hash types), ``0x10000`` the CMS signature (``0xfade0b01``).
* CodeDirectory ``0xfade0c02``: version, flags, hashOffset, identOffset, nSpecialSlots, nCodeSlots, codeLimit,
  hashSize, hashType, platform, log2(pageSize), … teamOffset (version >= 0x20200). Code slot ``i`` is the hash of
  page ``i`` of the slice up to codeLimit; special slot ``-n`` (stored before hashOffset) is the hash of: 1 Info.plist,
  2 requirements blob, 3 ``_CodeSignature/CodeResources``, 5 entitlements blob, 7 DER entitlements blob.
* The CMS blob signs the slot-0 CodeDirectory (detached content; ``messageDigest`` is its hash); alternate
  CodeDirectories are bound by Apple's signed attributes: ``1.2.840.113635.100.9.2`` (hash agility v2: algorithm and
  full hash of each CodeDirectory) or ``1.2.840.113635.100.9.1`` (a plist of ``cdhashes``: each hash truncated to 20
  bytes). An ad-hoc signature (flag ``CS_ADHOC``) has no CMS blob, or an empty one.

Pure and bytes-only: nothing here opens files or knows lief. Every malformation is a ``CodeSignatureError`` with a
stable code.
"""

from __future__ import annotations

import hashlib
import plistlib
import struct
from dataclasses import dataclass, field
from typing import Any

from gate.errors import PackageError
from gate.extract.facts import SignatureIssue

SUPERBLOB_MAGIC = 0xFADE0CC0
CODEDIRECTORY_MAGIC = 0xFADE0C02
REQUIREMENTS_MAGIC = 0xFADE0C01
ENTITLEMENTS_MAGIC = 0xFADE7171
DER_ENTITLEMENTS_MAGIC = 0xFADE7172
CMS_MAGIC = 0xFADE0B01

SLOT_CODEDIRECTORY = 0
SLOT_REQUIREMENTS = 2
SLOT_ENTITLEMENTS = 5
SLOT_DER_ENTITLEMENTS = 7
SLOT_ALTERNATE_FIRST, SLOT_ALTERNATE_LAST = 0x1000, 0x1004
SLOT_CMS = 0x10000

SPECIAL_INFO_PLIST = 1
SPECIAL_REQUIREMENTS = 2
SPECIAL_RESOURCES = 3
SPECIAL_ENTITLEMENTS = 5
SPECIAL_DER_ENTITLEMENTS = 7

CS_ADHOC = 0x2
HASH_TYPES = {1: "sha1", 2: "sha256", 3: "sha256", 4: "sha384"}  # 3 is SHA-256 truncated to 20 bytes
HASH_OIDS = {"1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384"}
ATTR_CDHASHES_PLIST = "1.2.840.113635.100.9.1"
ATTR_CDHASHES_V2 = "1.2.840.113635.100.9.2"
MAX_SLOTS = 1 << 22  # 16 GiB of 4 KiB pages: far beyond any executable; bounds the hash loop
MAX_BLOBS = 64


class CodeSignatureError(PackageError):
    """An embedded code signature that is malformed (codes start with ``ios_``)."""

    code = "ios_code_signature_malformed"


@dataclass(frozen=True)
class CodeDirectory:
    raw: bytes
    slot: int
    version: int
    flags: int
    identifier: str
    team_id: str | None
    hash_type: int
    hash_size: int
    page_size: int
    code_limit: int
    special: dict[int, bytes]
    code_hashes: tuple[bytes, ...]

    @property
    def algorithm(self) -> str:
        return HASH_TYPES[self.hash_type]

    def digest(self, data: bytes | memoryview) -> bytes:
        return hashlib.new(self.algorithm, data).digest()[: self.hash_size]

    def cdhash(self) -> bytes:
        """The CodeDirectory's own hash (its "cdhash"), full length."""
        return hashlib.new(self.algorithm, self.raw).digest()

    @property
    def adhoc(self) -> bool:
        return bool(self.flags & CS_ADHOC)


@dataclass(frozen=True)
class EmbeddedSignature:
    code_directories: tuple[CodeDirectory, ...]
    blobs: dict[int, bytes]
    cms: bytes | None = None
    """The DER ContentInfo inside the CMS blob; None (or absent) for an ad-hoc signature."""
    entitlements: dict[str, Any] = field(default_factory=dict[str, Any])


def parse_superblob(data: bytes) -> EmbeddedSignature:
    """Split the signature into its blobs and decode every CodeDirectory."""
    if len(data) < 12:
        raise CodeSignatureError("the code signature is shorter than its header", code="ios_code_signature_truncated")
    magic, length, count = struct.unpack_from(">III", data, 0)
    if magic != SUPERBLOB_MAGIC:
        raise CodeSignatureError(f"the code signature starts with 0x{magic:08x}, not an embedded-signature SuperBlob",
                                 code="ios_code_signature_malformed")
    if length > len(data) or count > MAX_BLOBS or 12 + 8 * count > length:
        raise CodeSignatureError("the SuperBlob's length or index runs past the signature",
                                 code="ios_code_signature_truncated")
    blobs: dict[int, bytes] = {}
    for index in range(count):
        slot, offset = struct.unpack_from(">II", data, 12 + 8 * index)
        if offset + 8 > length:
            raise CodeSignatureError(f"blob {slot:#x} lies outside the SuperBlob", code="ios_code_signature_truncated")
        blob_length = struct.unpack_from(">I", data, offset + 4)[0]
        if blob_length < 8 or offset + blob_length > length:
            raise CodeSignatureError(f"blob {slot:#x} runs past the SuperBlob", code="ios_code_signature_truncated")
        if slot in blobs:
            raise CodeSignatureError(f"blob slot {slot:#x} appears twice", code="ios_code_signature_ambiguous")
        blobs[slot] = bytes(data[offset:offset + blob_length])
    if SLOT_CODEDIRECTORY not in blobs:
        raise CodeSignatureError("the signature has no CodeDirectory", code="ios_code_signature_malformed")
    directories = tuple(parse_code_directory(blobs[slot], slot) for slot in sorted(blobs)
                        if slot == SLOT_CODEDIRECTORY or SLOT_ALTERNATE_FIRST <= slot <= SLOT_ALTERNATE_LAST)
    cms_blob = blobs.get(SLOT_CMS)
    cms = cms_blob[8:] if cms_blob is not None and len(cms_blob) > 8 else None
    entitlements = {}
    if SLOT_ENTITLEMENTS in blobs:
        try:
            loaded = plistlib.loads(blobs[SLOT_ENTITLEMENTS][8:])
            entitlements = loaded if isinstance(loaded, dict) else {}
        except (plistlib.InvalidFileException, ValueError, TypeError, KeyError, IndexError, OverflowError):
            raise CodeSignatureError("the entitlements blob is not a property list",
                                     code="ios_entitlements_malformed") from None
    return EmbeddedSignature(directories, blobs, cms, entitlements)


def parse_code_directory(blob: bytes, slot: int) -> CodeDirectory:
    if len(blob) < 44:
        raise CodeSignatureError("a CodeDirectory is shorter than its header", code="ios_code_signature_truncated")
    (magic, length, version, flags, hash_offset, ident_offset, n_special, n_code, code_limit, hash_size, hash_type,
     _platform, page_log2, _spare) = struct.unpack_from(">IIIIIIIIIBBBBI", blob, 0)
    if magic != CODEDIRECTORY_MAGIC:
        raise CodeSignatureError(f"slot {slot:#x} holds 0x{magic:08x}, not a CodeDirectory",
                                 code="ios_code_signature_malformed")
    if hash_type not in HASH_TYPES or hash_size > hashlib.new(HASH_TYPES[hash_type]).digest_size or hash_size == 0:
        raise CodeSignatureError(f"CodeDirectory hash type {hash_type} / size {hash_size} is not one Apple defines",
                                 code="ios_code_signature_malformed")
    if n_code > MAX_SLOTS or n_special > 64 or not 0 < page_log2 < 32:
        raise CodeSignatureError("CodeDirectory slot counts or page size out of range",
                                 code="ios_code_signature_malformed")
    start = hash_offset - n_special * hash_size
    end = hash_offset + n_code * hash_size
    if start < 44 or end > length or length > len(blob):
        raise CodeSignatureError("CodeDirectory hashes run outside the directory", code="ios_code_signature_truncated")
    if version >= 0x20300 and len(blob) >= 60:
        code_limit_64 = struct.unpack_from(">Q", blob, 56)[0]
        if code_limit_64:
            code_limit = code_limit_64
    special = {n: blob[hash_offset - n * hash_size: hash_offset - (n - 1) * hash_size] for n in range(1, n_special + 1)}
    code_hashes = tuple(blob[hash_offset + i * hash_size: hash_offset + (i + 1) * hash_size] for i in range(n_code))
    return CodeDirectory(
        raw=blob[:length], slot=slot, version=version, flags=flags, identifier=_c_string(blob, ident_offset),
        team_id=_c_string(blob, struct.unpack_from(">I", blob, 48)[0]) if version >= 0x20200 and len(blob) >= 52
        and struct.unpack_from(">I", blob, 48)[0] else None,
        hash_type=hash_type, hash_size=hash_size, page_size=1 << page_log2, code_limit=code_limit,
        special=special, code_hashes=code_hashes)


def _c_string(blob: bytes, offset: int) -> str:
    if not 0 < offset < len(blob):
        raise CodeSignatureError("a CodeDirectory string offset is outside it", code="ios_code_signature_malformed")
    end = blob.find(b"\0", offset)
    if end < 0:
        raise CodeSignatureError("a CodeDirectory string is not terminated", code="ios_code_signature_malformed")
    return blob[offset:end].decode("utf-8", "replace")


def page_hash_errors(directory: CodeDirectory, image: bytes | memoryview) -> list[SignatureIssue]:
    """Every code page of the slice ``image`` against its hash. Empty when all match."""
    expected_pages = -(-directory.code_limit // directory.page_size)
    if directory.code_limit > len(image) or len(directory.code_hashes) != expected_pages:
        return [SignatureIssue("ios_page_hash_mismatch", f"CodeDirectory {directory.slot:#x} covers "
                                                         f"{directory.code_limit} bytes in "
                                                         f"{len(directory.code_hashes)} pages; the slice has "
                                                         f"{len(image)} bytes")]
    view = memoryview(image)
    for index, stored in enumerate(directory.code_hashes):
        start = index * directory.page_size
        page = view[start:min(start + directory.page_size, directory.code_limit)]
        if directory.digest(page) != stored:
            return [SignatureIssue("ios_page_hash_mismatch", f"page {index} (offset {start}) of the executable does "
                                                             f"not match CodeDirectory {directory.slot:#x} "
                                                             f"({directory.algorithm})")]
    return []


def special_slot_errors(directory: CodeDirectory, signature: EmbeddedSignature, *, info_plist: bytes | None,
                        code_resources: bytes | None) -> tuple[list[SignatureIssue], list[str]]:
    """(errors, what was sealed and verified) for the special slots of one CodeDirectory."""
    errors: list[SignatureIssue] = []
    sealed: list[str] = []
    checks = {SPECIAL_INFO_PLIST: ("Info.plist", info_plist),
              SPECIAL_REQUIREMENTS: ("requirements", signature.blobs.get(SLOT_REQUIREMENTS)),
              SPECIAL_RESOURCES: ("CodeResources", code_resources),
              SPECIAL_ENTITLEMENTS: ("entitlements", signature.blobs.get(SLOT_ENTITLEMENTS)),
              SPECIAL_DER_ENTITLEMENTS: ("DER entitlements", signature.blobs.get(SLOT_DER_ENTITLEMENTS))}
    for number, (what, data) in checks.items():
        stored = directory.special.get(number)
        unset = stored is None or not any(stored)
        if unset:
            if data is not None and number in (SPECIAL_ENTITLEMENTS, SPECIAL_DER_ENTITLEMENTS, SPECIAL_RESOURCES):
                errors.append(SignatureIssue("ios_special_slot_unsealed", f"the {what} is present but CodeDirectory "
                                                                          f"{directory.slot:#x} does not seal it"))
            continue
        if data is None:
            errors.append(SignatureIssue("ios_special_slot_missing", f"CodeDirectory {directory.slot:#x} seals a "
                                                                     f"{what} that is missing"))
        elif directory.digest(data) != stored:
            errors.append(SignatureIssue("ios_special_slot_mismatch", f"the {what} does not match its hash in "
                                                                      f"CodeDirectory {directory.slot:#x}"))
        else:
            sealed.append(what)
    return errors, sealed


def bound_directory_errors(signature: EmbeddedSignature,
                           signed_attributes: dict[str, list[Any]]) -> list[SignatureIssue]:
    """Every alternate CodeDirectory must be named by the CMS signed attributes (the slot-0 one is the content)."""
    errors = []
    agility: dict[str, bytes] = {}
    for value in signed_attributes.get(ATTR_CDHASHES_V2, []):
        try:
            algorithm, digest = HASH_OIDS.get(value[0]), bytes(value[1])
        except (TypeError, KeyError, IndexError):
            continue
        if algorithm:
            agility[digest.hex()] = digest
    truncated: set[bytes] = set()
    for value in signed_attributes.get(ATTR_CDHASHES_PLIST, []):
        try:
            listed = plistlib.loads(bytes(value)).get("cdhashes", [])
        except (plistlib.InvalidFileException, ValueError, TypeError, AttributeError, OverflowError):
            continue
        truncated.update(bytes(item)[:20] for item in listed if isinstance(item, bytes))
    for directory in signature.code_directories:
        if directory.slot == SLOT_CODEDIRECTORY:
            continue
        cdhash = directory.cdhash()
        if cdhash.hex() not in agility and cdhash[:20] not in truncated:
            errors.append(SignatureIssue("ios_code_directory_unbound", f"CodeDirectory {directory.slot:#x} "
                                                                       f"({directory.algorithm}) is not named by the "
                                                                       "CMS signature"))
    return errors
