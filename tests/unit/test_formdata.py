"""The multipart parser (gate.api.formdata): file parts of any size stream to their sink byte for byte,
text parts and header bytes are limited. Bodies are built by requests (an independent encoder), fed from memory."""

from __future__ import annotations

import io
import random

import pytest
import requests

from gate.api.formdata import SpoolingMultipartParser
from gate.services.uploads import UploadError

LIMIT = 64 * 1024


def encode(fields: dict) -> tuple[bytes, bytes]:
    prepared = requests.Request("POST", "http://x/", files=fields).prepare()
    return prepared.body, prepared.headers["Content-Type"].split("boundary=")[1].encode()


def parse(body: bytes, boundary: bytes, *, max_parts: int = 16, stream=None):
    sinks = []

    def factory(**_):
        sinks.append(io.BytesIO())
        return sinks[-1]

    parser = SpoolingMultipartParser(factory, LIMIT, max_form_parts=max_parts)
    form, files = parser.parse(stream or io.BytesIO(body), boundary, len(body))
    return form, files


def test_a_large_file_part_full_of_line_breaks_streams_whole():
    # CR and LF bytes at every read boundary are what made werkzeug's own limit refuse real packages.
    rng = random.Random(7)
    package = bytes(rng.choices(b"\r\n-PK\x00\xff", k=3 * 1024 * 1024 + 5))
    body, boundary = encode({"package": ("a.apk", package), "metadata": (None, '{"store_app_id": "A1"}')})
    form, files = parse(body, boundary)
    assert files["package"].stream.getvalue() == package
    assert form["metadata"] == '{"store_app_id": "A1"}'


def test_text_part_is_limited_by_size_not_by_where_reads_end():
    body, boundary = encode({"metadata": (None, "x" * LIMIT), "package": ("a.apk", b"PK")})
    assert len(parse(body, boundary)[0]["metadata"]) == LIMIT
    body, boundary = encode({"metadata": (None, "x" * (LIMIT + 1)), "package": ("a.apk", b"PK")})
    with pytest.raises(UploadError) as info:
        parse(body, boundary)
    assert (info.value.code, info.value.status) == ("form_field_too_large", 413)


def test_endless_part_headers_and_preamble_are_refused_not_held():
    with pytest.raises(ValueError, match="longer than"):
        parse(b"--b\r\nContent-Disposition: form-data; name=\"x\"; " + b"a" * (LIMIT * 3), b"b")
    with pytest.raises(ValueError, match="longer than"):
        parse(b"p" * (LIMIT * 3), b"b")


def test_part_count_and_truncation():
    body, boundary = encode({f"f{i}": (None, "v") for i in range(17)})
    with pytest.raises(ValueError, match="more than 16 parts"):
        parse(body, boundary)
    body, boundary = encode({"package": ("a.apk", b"PK" * 1000)})
    with pytest.raises(ValueError):
        parse(body[:-10], boundary)


def test_parsing_stops_at_the_closing_boundary_and_leaves_the_epilogue():
    body, boundary = encode({"package": ("a.apk", b"PK\x03\x04")})
    stream = io.BytesIO(body + b"epilogue " * 100_000)  # 900 KB after the closing boundary
    form, files = parse(body, boundary, stream=stream)
    assert files["package"].stream.getvalue() == b"PK\x03\x04"
    assert len(stream.read()) > 800_000  # not consumed into memory by the parser: the caller drains it
