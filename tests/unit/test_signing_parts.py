"""Pieces of the signing verifier: manifest sections, the filing-form view, and robustness against garbage."""

from __future__ import annotations

import json
import pathlib
import random

import pytest

from gate.errors import GateError
from gate.extract.container import ApkContainer
from gate.extract.facts import SignerCertificate
from gate.extract.signing import block as blk
from gate.extract.signing import verify_apk_signatures
from gate.extract.signing.form import filing_form_lines
from gate.extract.signing.manifest import parse_sections

APKS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "apks"


def test_manifest_sections_keep_byte_ranges_including_blank_line() -> None:
    data = b"Manifest-Version: 1.0\r\n\r\nName: a/b\r\nSHA-256-Digest: q\r\n rs\r\n\r\nName: c\nSHA1-Digest: z"
    main, first, second = parse_sections(data)
    assert data[main.start:main.start + main.size] == b"Manifest-Version: 1.0\r\n\r\n"
    assert data[first.start:first.start + first.size] == b"Name: a/b\r\nSHA-256-Digest: q\r\n rs\r\n\r\n"
    assert first.get("sha-256-digest") == "qrs"  # continuation line joined, name case-insensitive
    assert second.name == "c" and second.get("SHA1-Digest") == "z"


def test_filing_form_uses_both_md5_notations() -> None:
    oracle = json.loads((APKS / "oracle.json").read_text())["apks"]["v1_v2_v3.apk"]["apksigner"]["signers"][0]
    signer = SignerCertificate(oracle["cert_md5"], oracle["cert_sha1"], oracle["cert_sha256"], "abcd",
                               oracle["public_key_sha256"], oracle["subject"], "RSA", 2048)
    lines = filing_form_lines("com.example", [signer])
    md5 = oracle["cert_md5"]
    assert any(line.endswith(":".join(md5[i:i + 2] for i in range(0, 32, 2)).upper()) for line in lines)
    assert any(line.endswith(md5) for line in lines)
    assert any("公钥" in line and line.endswith("abcd") for line in lines)
    assert lines[0].endswith("com.example")


@pytest.mark.skipif(not (APKS / "rotated_v3.apk").exists(), reason="fixture APKs not built")
@pytest.mark.parametrize("name", ["rotated_v3.apk", "v1_v2_v3.apk", "key_ec256.apk", "key_dsa2048.apk"])
def test_garbage_in_signing_block_never_raises(name: str) -> None:
    # No library exception may escape gate.extract: every corruption ends as verified=False or a GateError.
    rng = random.Random(name)
    original = (APKS / name).read_bytes()
    with ApkContainer.from_bytes(original) as c:
        sb = blk.find_signing_block(c)
        lo, hi = sb.offset, c.central_directory_offset
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(lo, hi)] = rng.randrange(256)
        try:
            with ApkContainer.from_bytes(bytes(data)) as c:
                facts = verify_apk_signatures(c, min_sdk=rng.choice([1, 21, 24, 28]), target_sdk=29)
        except GateError:
            continue
        assert facts.verified or facts.errors


def _sections_by_the_spec(data: bytes) -> list[tuple[int, int, tuple[tuple[str, str], ...]]]:
    """JAR manifest sections read line by line as the JAR spec and apksig's ManifestParser read them: lines end at
    CRLF, LF or CR; a line starting with a space continues the attribute before it; a blank line ends a section
    (and belongs to it); blank lines between sections belong to none; the last section may end without one."""
    sections = []
    pos, start, end, attrs, pending = 0, 0, 0, [], None
    while pos < len(data):
        stop = pos
        while stop < len(data) and data[stop] not in b"\r\n":
            stop += 1
        after = stop + (2 if data[stop:stop + 2] == b"\r\n" else 1 if stop < len(data) else 0)
        line = data[pos:stop]
        if pending is None:
            if line:
                start, attrs, pending, end = pos, [], line, after
        elif line.startswith(b" "):
            pending, end = pending + line[1:], after
        else:
            text = pending.decode("utf-8", errors="replace")
            name, sep, value = text.partition(": ")
            attrs.append((name, value) if sep else (text, ""))
            if line:
                pending, end = line, after
            else:
                sections.append((start, after - start, tuple(attrs)))
                pending = None
        pos = after
    if pending is not None:
        text = pending.decode("utf-8", errors="replace")
        name, sep, value = text.partition(": ")
        attrs.append((name, value) if sep else (text, ""))
        sections.append((start, end - start, tuple(attrs)))
    return sections


def test_manifest_sections_match_a_line_by_line_reading_on_random_manifests() -> None:
    import random

    rng = random.Random(20261208)
    pieces = [b"Name: ", b"SHA-256-Digest: ", b"sha-256-digest: ", b"SHA1-Digest", b": ", b" ", b"a/b.dex", b"\xe4\xb8\xad",
              b"\xff", b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\n\n", b"\r\r", b"x" * 70]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        found = [(s.start, s.size, s.attributes) for s in parse_sections(data)]
        assert found == _sections_by_the_spec(data), data


def test_section_get_returns_the_first_attribute_of_that_name_in_any_case() -> None:
    (section,) = parse_sections(b"name: first\r\nNAME: second\r\nName: third\r\n")
    assert section.get("Name") == "first" and section.name == "first"
    (section,) = parse_sections(b"SHA-256-Digest: a\r\nsha-256-digest: b\r\n")
    assert section.get("sha-256-DIGEST") == "a" and section.get("SHA1-Digest") is None
