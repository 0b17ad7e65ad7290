"""gate.api.boundary held to werkzeug, the oracle: its boundary patterns find what werkzeug's compiled expressions
find, its decoder yields werkzeug's events for the same bytes fed in the same pieces, and it sets the state
werkzeug's constructor sets (a werkzeug release that adds state, or drops what the patterns stand in for, fails
here rather than in a request)."""

from __future__ import annotations

import random
import re

import pytest
import requests
from werkzeug.sansio.multipart import Epilogue, MultipartDecoder, NeedData

from gate.api.boundary import MAX_MISSES, BoundaryPattern, FastMultipartDecoder

# Bytes that make boundaries interesting: line breaks of every kind, blanks werkzeug allows after a boundary
# (space, tab, VT, FF), dashes that extend or imitate the marker.
NOISE = [b"\r", b"\n", b"\r\n", b"-", b"--", b" ", b"\t", b"\x0b", b"\x0c", b"x", b"\x00"]


def _span(match):
    return None if match is None else (match.start(), match.end(), bytes(match.group(1)))


def _random_buffer(rng: random.Random, boundary: bytes) -> bytearray:
    pieces = [b"--" + boundary if rng.random() < 0.3 else rng.choice(NOISE) for _ in range(rng.randint(0, 14))]
    return bytearray(b"".join(pieces))


@pytest.mark.parametrize("seed", range(4))
def test_patterns_find_what_werkzeugs_expressions_find(seed):
    rng = random.Random(seed)
    for _ in range(5000):
        # Short boundaries over a small alphabet, dashes included, so that occurrences overlap and repeat.
        boundary = bytes(rng.choices(b"ab-", k=rng.randint(1, 4)))
        data = _random_buffer(rng, boundary)
        pos = rng.randint(0, len(data))
        werkzeug = MultipartDecoder(boundary)
        for ours, theirs in ((BoundaryPattern(boundary, line_break_required=False,
                                              compile=lambda w=werkzeug: w.preamble_re), werkzeug.preamble_re),
                             (BoundaryPattern(boundary, line_break_required=True,
                                              compile=lambda w=werkzeug: w.boundary_re), werkzeug.boundary_re)):
            assert _span(ours.search(data, pos)) == _span(theirs.search(data, pos)), (boundary, bytes(data), pos)
            assert _span(ours.search(bytes(data))) == _span(theirs.search(bytes(data)))


def test_the_decoder_sets_the_state_werkzeugs_constructor_sets():
    ours, theirs = vars(FastMultipartDecoder(b"b", 10, max_parts=3)), vars(MultipartDecoder(b"b", 10, max_parts=3))
    assert sorted(ours) == sorted(theirs)
    for name in ("buffer", "complete", "max_form_memory_size", "max_parts", "state", "boundary", "_search_position",
                 "_parts_decoded"):
        assert ours[name] == theirs[name], name


def _events(decoder: MultipartDecoder, body: bytes, cuts: list[int]) -> list:
    """Every event of the body fed in pieces ending at ``cuts``, or the error that ended the decoding."""
    events: list = []
    try:
        for start, end in zip([0, *cuts], [*cuts, len(body)]):
            decoder.receive_data(body[start:end])
            while not isinstance(event := decoder.next_event(), NeedData):
                events.append(event)
        decoder.receive_data(None)
        while not isinstance(event := decoder.next_event(), (NeedData, Epilogue)):
            events.append(event)
        events.append(event)
    except ValueError as exc:
        events.append(("ValueError", str(exc)))
    return events


def _comparable(events: list) -> list:
    return [e if isinstance(e, tuple) else (type(e).__name__, vars(e)) for e in events]


def _bodies(rng: random.Random):
    """Multipart bodies from requests (an independent encoder) with payloads full of line breaks and dashes, and
    the same bodies damaged: a byte changed, cut short, a preamble and an epilogue added."""
    for _ in range(300):
        payload = bytes(rng.choices(b"\r\n-ab \t", k=rng.randint(0, 300)))
        fields = {"package": ("a.apk", payload), "metadata": (None, '{"store_app_id": "A1"}')}
        if rng.random() < 0.3:
            fields["other"] = ("b.bin", payload[::-1])
        prepared = requests.Request("POST", "http://x/", files=fields).prepare()
        body = prepared.body
        boundary = prepared.headers["Content-Type"].split("boundary=")[1].encode()
        yield body, boundary
        yield b"preamble\r\n" + body + b"epilogue", boundary
        damaged = bytearray(body)
        damaged[rng.randrange(len(damaged))] = rng.choice(b"\r\n-x")
        yield bytes(damaged), boundary
        yield body[: rng.randrange(len(body))], boundary


@pytest.mark.parametrize("seed", range(3))
def test_the_decoder_yields_werkzeugs_events(seed):
    rng = random.Random(seed)
    decoded = 0
    for body, boundary in _bodies(rng):
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 6)))) if len(body) > 1 else []
        ours = _events(FastMultipartDecoder(boundary), body, cuts)
        theirs = _events(MultipartDecoder(boundary), body, cuts)
        assert _comparable(ours) == _comparable(theirs), (body, cuts)
        decoded += isinstance(theirs[-1], Epilogue)
    assert decoded >= 300  # the intact bodies at least: the comparison covered whole decodings, not only errors


def test_a_body_of_near_boundaries_is_searched_by_werkzeugs_expression_with_werkzeugs_events():
    # A hostile upload: the marker again and again, never a boundary. Past MAX_MISSES the search is werkzeug's own
    # compiled expression (its CPU, not a Python step per occurrence), and the decoding stays werkzeug's.
    boundary = b"bnd123"
    near = b"\r\n--" + boundary + b"x"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="package"; filename="a.apk"\r\n\r\n'
            + near * (4 * MAX_MISSES) + b"\r\n--" + boundary + b"--\r\n")
    cuts = list(range(100, len(body), 997))
    ours = FastMultipartDecoder(boundary)
    assert _comparable(_events(ours, body, cuts)) == _comparable(_events(MultipartDecoder(boundary), body, cuts))
    assert isinstance(ours.boundary_re.search(body, 10), re.Match)  # handed over: werkzeug's own match object
