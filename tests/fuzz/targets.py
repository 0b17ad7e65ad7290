"""Fuzz targets: every reader the gate points at untrusted bytes, each with the one rule they all share.

The rule: whatever the bytes, a reader either returns or raises a ``GateError`` (a problem with a stable code).
Any other exception is a bug — a library error crossing the layer, an unchecked bound — and so is a hang or a blow-up
in memory (the driver's time and memory limits catch those). ``package`` runs the whole pipeline, which must not
raise at all: a package that cannot be read still gets facts with problems.

Structure-aware targets put the fuzzed bytes where a reader meets them inside an otherwise valid package (a v1
signature block file, an APK Signing Block), so the mutations reach the deep code instead of dying at the ZIP.
Seeds come from the committed fixtures (``seeds``).
"""

from __future__ import annotations

import io
import os
import pathlib
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator

from gate.errors import GateError

ROOT = pathlib.Path(__file__).resolve().parents[2]
APKS = ROOT / "fixtures" / "apks"
SIGNING_BLOCK_MAGIC = b"APK Sig Block 42"

TARGETS: dict[str, Callable[[bytes], None]] = {}


def target(fn: Callable[[bytes], None]) -> Callable[[bytes], None]:
    TARGETS[fn.__name__] = fn
    return fn


def _tolerate_gate_errors(fn: Callable[[], object]) -> None:
    try:
        fn()
    except GateError:
        pass


def _with_file(data: bytes, suffix: str, fn: Callable[[str], object]) -> None:
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="gate-fuzz-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        fn(name)
    finally:
        os.unlink(name)


@target
def package(data: bytes) -> None:
    """The whole pipeline on a file: container, manifest, resources, signatures, network, every format."""
    from gate.extract.pipeline import extract_features

    _with_file(data, ".apk", lambda path: extract_features(path).as_dict())


@target
def container(data: bytes) -> None:
    from gate.extract.container import ApkContainer

    def run() -> None:
        with ApkContainer(data) as c:
            for name in c.names()[:64]:
                c.read(name)

    _tolerate_gate_errors(run)


@target
def axml(data: bytes) -> None:
    from gate.extract.axml import parse_xml

    _tolerate_gate_errors(lambda: parse_xml(data))


@target
def arsc(data: bytes) -> None:
    from gate.extract.arsc import ResourceTable

    _tolerate_gate_errors(lambda: ResourceTable.parse(data))


def _scan(name: str, data: bytes) -> None:
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    scanner.feed(name, data)
    scanner.facts()


@target
def dex(data: bytes) -> None:
    _tolerate_gate_errors(lambda: _scan("classes.dex", data))


@target
def elf(data: bytes) -> None:
    _tolerate_gate_errors(lambda: _scan("lib/arm64-v8a/libfuzz.so", data))


@target
def scanner_cores(data: bytes) -> None:
    """The network scanner's compiled core against its Python oracle: the same facts for any entry bytes, read as
    DEX string data, a native library and a text asset (docs/network.md, "The compiled core")."""
    from gate.extract.network import NetworkScanner, core

    if core.compiled_core is None:
        return
    for name in ("classes.dex", "lib/arm64-v8a/libfuzz.so", "assets/fuzz.txt"):
        answers = []
        for kind in ("compiled", "python"):
            core.select(kind)
            scanner = NetworkScanner()
            scanner.feed(name, data)
            answers.append((scanner.facts(), scanner.problems))
        core.select("compiled")
        assert answers[0] == answers[1], name


@target
def certificate(data: bytes) -> None:
    from gate.extract.signing.certs import parse_certificate

    _tolerate_gate_errors(lambda: parse_certificate(data))


@target
def macho(data: bytes) -> None:
    from gate.extract.ios.codesign import parse_superblob
    from gate.extract.ios.macho import read_slices

    _tolerate_gate_errors(lambda: read_slices(data))
    _tolerate_gate_errors(lambda: parse_superblob(data))


@target
def cms(data: bytes) -> None:
    from gate.extract.ios import apple_root
    from gate.extract.ios.cms import verify_signed_data

    _tolerate_gate_errors(lambda: verify_signed_data(data, detached_content=b"fuzz", roots=(apple_root(),)))


@target
def pkcs7(data: bytes) -> None:
    """The fuzzed bytes as META-INF/KEY.RSA of a real v1-signed package, through the whole pipeline."""
    _with_file(_replace_entry(_seed_bytes("v1_only.apk"), "META-INF/KEY.RSA", data), ".apk", _facts)


@target
def signing_block(data: bytes) -> None:
    """The fuzzed bytes as the ID-value pairs of the APK Signing Block of a real v2/v3 package."""
    _with_file(_replace_signing_block(_seed_bytes("v2_v3.apk"), data), ".apk", _facts)


@target
def filings(data: bytes) -> None:
    """A filings file in any of the import formats (sniffed by content, as imports do)."""
    from gate.filings.stream import validated

    for suffix in (".json", ".csv", ".jsonl"):
        _with_file(data, suffix, lambda path: _tolerate_gate_errors(lambda: list(validated([path]))))


def _facts(path: str) -> None:
    from gate.extract.pipeline import extract_features

    extract_features(path).as_dict()


_SEED_CACHE: dict[str, bytes] = {}


def _seed_bytes(name: str) -> bytes:
    if name not in _SEED_CACHE:
        _SEED_CACHE[name] = (APKS / name).read_bytes()
    return _SEED_CACHE[name]


def _replace_entry(apk: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(apk)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, content if info.filename == name else src.read(info))
    return out.getvalue()


def _replace_signing_block(apk: bytes, pairs: bytes) -> bytes:
    """Swap the block's pairs for ``pairs``, keeping the size fields and magic consistent and the EOCD pointing at
    the central directory (so readers reach the pairs)."""
    eocd = apk.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", apk, eocd + 16)[0]
    block_size = struct.unpack_from("<Q", apk, cd_offset - 24)[0]
    block_start = cd_offset - block_size - 8
    size = len(pairs) + 8 + 16
    block = struct.pack("<Q", size) + pairs + struct.pack("<Q", size) + SIGNING_BLOCK_MAGIC
    head, tail = apk[:block_start], apk[cd_offset:]
    eocd_in_tail = eocd - cd_offset
    new_cd = len(head) + len(block)
    tail = tail[:eocd_in_tail + 16] + struct.pack("<I", new_cd) + tail[eocd_in_tail + 20:]
    return head + block + tail


def seeds(name: str) -> Iterator[bytes]:
    """Starting inputs for a target, from the committed fixtures."""
    apks = sorted(p for p in APKS.glob("*.apk") if p.stat().st_size < 2_000_000)
    if name in ("package", "container"):
        for p in apks:
            yield p.read_bytes()
        if name == "package":  # quick apps: the packager's signing block (fixtures/quickapp)
            yield (ROOT / "fixtures" / "quickapp" / "rpk_signed.rpk").read_bytes()
        return
    if name == "pkcs7":
        with zipfile.ZipFile(APKS / "v1_only.apk") as z:
            yield z.read("META-INF/KEY.RSA")
        return
    if name == "signing_block":
        apk = _seed_bytes("v2_v3.apk")
        eocd = apk.rfind(b"PK\x05\x06")
        cd_offset = struct.unpack_from("<I", apk, eocd + 16)[0]
        block_size = struct.unpack_from("<Q", apk, cd_offset - 24)[0]
        yield apk[cd_offset - block_size + 0:cd_offset - 24]
        return
    if name == "filings":
        for p in sorted((ROOT / "fixtures").rglob("*")):
            if p.suffix in (".csv", ".jsonl") and p.stat().st_size < 200_000:
                yield p.read_bytes()
        yield b'[{"service_licence": "\\u4eacICP\\u59072024000001\\u53f7-1A", "platforms": []}]'
        return
    members = {"axml": ("AndroidManifest.xml",), "arsc": ("resources.arsc",), "dex": ("classes.dex",),
               "elf": ("lib/",), "certificate": ("META-INF/",), "macho": (), "cms": ("META-INF/",),
               "scanner_cores": ("classes", "lib/", "assets/", "res/xml/")}[name]
    for p in apks:
        try:
            with zipfile.ZipFile(p) as z:
                for info in z.infolist():
                    if any(info.filename.startswith(m) for m in members) and info.file_size < 1_000_000:
                        data = z.read(info)
                        if name == "certificate" and info.filename.endswith((".RSA", ".EC", ".DSA")):
                            data = _first_certificate(data) or data
                        yield data
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError, ValueError):
            continue
    if name == "macho":
        for p in sorted((ROOT / "fixtures").rglob("*.ipa")):
            try:
                with zipfile.ZipFile(p) as z:
                    for info in z.infolist():
                        if info.filename.count("/") == 2 and not info.filename.endswith(("/", ".plist")):
                            yield z.read(info)
            except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError, ValueError):
                continue  # the deliberately broken IPA variants


def _first_certificate(pkcs7: bytes) -> bytes | None:
    from asn1crypto import cms as asn1_cms

    try:
        certs = asn1_cms.ContentInfo.load(pkcs7)["content"]["certificates"]
        return certs[0].chosen.dump() if certs else None
    except (ValueError, TypeError, KeyError):
        return None
