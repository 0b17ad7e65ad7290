"""gate.api.received_wsgi held to a2wsgi, the oracle: for the same request and the same WSGI app, the app sees the
same environ and the same body, and the client is sent the same status, headers and bytes — small answers, answers
written through start_response's ``write``, answers past the buffered size (streamed, with the loop waiting on the
thread per piece), empty answers and an app that fails."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from a2wsgi import WSGIMiddleware

from gate.api.received_wsgi import BUFFERED_ANSWER_BYTES, answer_received

BODY = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + bytes(range(256)) * 40 + b"\r\n--b--\r\n"
SCOPE = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/api/v1/checks",
         "raw_path": b"/api/v1/checks", "root_path": "", "query_string": b"async=0&x=%C3%A9",
         "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 51234), "gate.body_refused": None,
         "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"multipart/form-data; boundary=b"),
                     (b"x-gate-signature", b"t=1,v1=ab"), (b"accept", b"a"), (b"accept", b"b"),
                     (b"content-length", str(len(BODY)).encode())]}


def _app(answer_pieces, *, use_write=False, status="200 OK", fail=False):
    seen = {}

    def app(environ, start_response):
        length = int(environ["CONTENT_LENGTH"])
        seen["body"] = environ["wsgi.input"].read(length)
        seen["environ"] = {k: v for k, v in environ.items() if k not in ("wsgi.input", "wsgi.errors")}
        if fail:
            raise ValueError("the app failed")
        write = start_response(status, [("Content-Type", "application/json"), (" X-Padded ", " v ")])
        if use_write:
            for piece in answer_pieces:
                write(piece)
            return []
        return iter(answer_pieces)

    return app, seen


def _through_a2wsgi(app):
    sent = []
    pieces = [BODY[:1000], BODY[1000:]]  # as a2wsgi's Body reads them: a piece per receive

    async def receive():
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message):
        sent.append(message)

    async def main():
        await WSGIMiddleware(app, workers=2)(SCOPE, receive, send)

    asyncio.run(main())
    return sent


def _through_ours(app):
    sent = []

    async def send(message):
        sent.append(message)

    async def main():
        with ThreadPoolExecutor(2) as executor:
            await answer_received(app, executor, SCOPE, io.BytesIO(BODY), send)

    asyncio.run(main())
    return sent


def _client_view(messages):
    """What the client gets: the start message, the bytes in order, and that the last message ends the body."""
    start = messages[0]
    bodies = messages[1:]
    assert all(m["type"] == "http.response.body" for m in bodies)
    assert not bodies[-1].get("more_body", False) and all(m.get("more_body", False) for m in bodies[:-1])
    return start, b"".join(m["body"] for m in bodies)


@pytest.mark.parametrize("pieces", [
    [b'{"verdict":"allow"}'],
    [b"a", b"", b"bc", b"d" * 1000],
    [],
    [b""],
    [b"x" * 70_000] * 5,  # past BUFFERED_ANSWER_BYTES: streamed from the thread
    [b"y" * (BUFFERED_ANSWER_BYTES + 1)],
])
@pytest.mark.parametrize("use_write", [False, True])
def test_the_client_gets_what_a2wsgi_sends_and_the_app_sees_the_same_request(pieces, use_write):
    theirs_app, theirs_seen = _app(pieces, use_write=use_write)
    ours_app, ours_seen = _app(pieces, use_write=use_write)
    theirs, ours = _through_a2wsgi(theirs_app), _through_ours(ours_app)
    assert _client_view(ours) == _client_view(theirs)
    assert ours_seen == theirs_seen and ours_seen["body"] == BODY
    # A small answer is one status and one body message: no trip per piece.
    if sum(map(len, pieces)) <= BUFFERED_ANSWER_BYTES:
        assert len(ours) == 2


def test_a_large_answer_is_sent_while_the_app_still_produces_it():
    produced = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        for i in range(4):
            produced.append(i)
            yield b"z" * (BUFFERED_ANSWER_BYTES + 1)

    sent_when = []

    async def main():
        async def send(message):
            sent_when.append((message["type"], len(produced), message.get("more_body")))

        with ThreadPoolExecutor(1) as executor:
            await answer_received(app, executor, SCOPE, io.BytesIO(BODY), send)

    asyncio.run(main())
    # The status and the first piece went out before the app produced its second piece, each piece as it came.
    assert sent_when == [("http.response.start", 1, None), *[("http.response.body", i, True) for i in (1, 2, 3, 4)],
                         ("http.response.body", 4, False)]


def test_an_app_that_fails_sends_nothing_and_raises_as_with_a2wsgi():
    theirs_app, _ = _app([b"x"], fail=True)
    ours_app, _ = _app([b"x"], fail=True)
    with pytest.raises(ValueError):
        _through_a2wsgi(theirs_app)
    sent = []

    async def send(message):
        sent.append(message)

    async def main():
        with ThreadPoolExecutor(1) as executor:
            await answer_received(ours_app, executor, SCOPE, io.BytesIO(BODY), send)

    with pytest.raises(ValueError):
        asyncio.run(main())
    assert sent == []


def test_the_iterable_is_closed():
    closed = []

    class Answer:
        def __iter__(self):
            return iter([b"ok"])

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("201 Created", [])
        return Answer()

    sent = _through_ours(app)
    assert closed == [True] and sent[0]["status"] == 201 and sent[1]["body"] == b"ok"
