"""Reading request bodies: multipart uploads spooled under the cap, JSON under a small cap, webhook HMAC on the fly.

The webhook signature covers the raw body. Rather than buffer it, ``SigningInput`` wraps ``wsgi.input`` so the
StreamingVerifier sees every byte as werkzeug's multipart parser (or the JSON reader) consumes it; only after the
body is fully read is the signature checked — and if it is wrong, every spool the parse created is deleted before
anything else happens.

Size: werkzeug compares ``Content-Length`` with ``MAX_CONTENT_LENGTH`` before reading a byte (413); a chunked body
has no length, so the server's terminated stream is capped by werkzeug's LimitedStream, and the file part is capped
again by HashingSpool as it is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import flask
from werkzeug.exceptions import RequestEntityTooLarge

from gate.api.formdata import SpoolingFormDataParser
from gate.services.signatures import HEADER, StreamingVerifier
from gate.services.uploads import HashingSpool, SpooledPackage, UploadError, spool_full, too_large
from gate.text import clean_filename, text_problem

REFUSED_SCOPE_KEY = "gate.body_refused"  # set by gate.api.buffering on the ASGI scope
MAX_JSON_BYTES = 16 * 1024 * 1024  # a 10,000-item preinstall list is ~1.5 MB; listings batches are similar
MAX_METADATA_BYTES = 64 * 1024
MAX_FORM_PARTS = 16
MULTIPART_OVERHEAD = 1024 * 1024  # boundaries, headers and the metadata field on top of the package cap


class SigningInput:
    """A read-through wrapper around the WSGI input stream that feeds the webhook HMAC."""

    def __init__(self, stream, verifier: StreamingVerifier) -> None:
        self._stream, self._verifier = stream, verifier

    def read(self, *args) -> bytes:
        data = self._stream.read(*args)
        self._verifier.update(data)
        return data

    def readline(self, *args) -> bytes:
        data = self._stream.readline(*args)
        self._verifier.update(data)
        return data

    def __iter__(self):
        return iter(self.readline, b"")


class GateRequest(flask.Request):
    """Multipart file parts of any size stream into HashingSpools; only text parts are held in memory, each up to
    ``MAX_METADATA_BYTES`` (gate.api.formdata). Parse errors are raised, not silently emptied."""

    form_data_parser_class = SpoolingFormDataParser
    max_form_memory_size = MAX_METADATA_BYTES
    max_form_parts = MAX_FORM_PARTS

    @property
    def spools(self) -> list[HashingSpool]:
        if "gate.spools" not in self.environ:
            self.environ["gate.spools"] = []
        return self.environ["gate.spools"]

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        settings = flask.current_app.extensions["gate"].settings
        spool = HashingSpool(limit=settings.max_upload_bytes, directory=settings.spool_dir)
        self.spools.append(spool)
        return spool

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        parser.silent = False  # a malformed body must answer 400, not look like an empty form
        return parser


def discard_spools(request: GateRequest) -> None:
    """Delete whatever the request spooled and nobody claimed (teardown, refused signature, errors)."""
    for spool in request.environ.pop("gate.spools", []):
        spool.abort()


def start_signature_check(request: GateRequest, secret: str) -> StreamingVerifier:
    """Check the header now (missing, malformed, stale → 401 before reading the body) and tee the body into it."""
    verifier = StreamingVerifier(request.headers.get(HEADER), secret)
    request.environ["wsgi.input"] = SigningInput(request.environ["wsgi.input"], verifier)
    return verifier


def _bad(message: str, code: str, status: int = 400) -> UploadError:
    return UploadError(message, code=code, status=status)


def refused_by_front(request: GateRequest) -> None:
    """Raise the refusal `gate serve`'s front (gate.api.buffering) met while receiving the body — a full
    spool disk, a chunked body past the cap — so the route answers it in its own form (the pre-check page in the
    user's language, JSON for the API)."""
    refusal = (request.environ.get("asgi.scope") or {}).get(REFUSED_SCOPE_KEY)
    if refusal == "spool_full":
        raise spool_full()
    if refusal == "upload_too_large":
        raise too_large(flask.current_app.extensions["gate"].settings.max_upload_bytes)


def read_form(request: GateRequest):
    """(files, form) of a multipart request; a malformed or oversized body is an UploadError, nothing kept."""
    refused_by_front(request)
    try:
        return request.files, request.form
    except ValueError as exc:
        discard_spools(request)
        raise _bad(f"the multipart body is malformed: {exc}", "multipart_malformed") from None
    except RequestEntityTooLarge:  # werkzeug's cap on the whole body (Content-Length, or counted while reading)
        discard_spools(request)
        raise too_large(flask.current_app.extensions["gate"].settings.max_upload_bytes) from None
    except UploadError:  # a file part passed the cap, or a text part its limit
        discard_spools(request)
        raise


@dataclass(frozen=True)
class UnpackedPart:
    """The optional ``unpacked`` file part: the unpacked build of a packed (加固) package, spooled like it."""

    spooled: SpooledPackage
    filename: str

    def discard(self) -> None:
        self.spooled.discard()


def read_multipart_upload(request: GateRequest) -> tuple[SpooledPackage, str, dict, UnpackedPart | None]:
    """(``package`` spooled, its filename, ``metadata``, the ``unpacked`` part spooled or None) of a multipart
    upload. Both parts stream into spools under the same cap; an empty part is refused."""
    files, form = read_form(request)
    package = files.get("package")
    if package is None:
        discard_spools(request)
        raise _bad("the multipart body needs a file part named `package`", "package_missing")
    metadata = parse_metadata(form.get("metadata"))
    plain = files.get("unpacked")
    if plain is not None and not plain.filename:
        # A browser submits a file input left empty as a part with filename="" and no content (HTML's form
        # encoding): the pre-check page's optional unpacked build was not chosen. Absent, not empty.
        plain = None
    claimed = [package.stream] + ([plain.stream] if plain is not None else [])
    for spool in claimed:
        request.spools.remove(spool)
    discard_spools(request)  # other file parts are not ours to keep
    try:
        spooled = package.stream.finish()
    except BaseException:
        if plain is not None:
            plain.stream.abort()
        raise
    try:
        unpacked = UnpackedPart(plain.stream.finish(), clean_filename(plain.filename)) if plain is not None else None
    except BaseException:
        spooled.discard()
        raise
    if spooled.size == 0 or (unpacked is not None and unpacked.spooled.size == 0):
        spooled.discard()
        if unpacked is not None:
            unpacked.discard()
        if spooled.size == 0:
            raise _bad("the `package` part is empty", "package_empty")
        raise _bad("the `unpacked` part is empty", "unpacked_empty")
    return spooled, clean_filename(package.filename), metadata, unpacked


# category: the store's category for the app, for content approvals (gate.content_approvals, decision step 10).
METADATA_KEYS = ("store_app_id", "developer_entity", "callback_url", "category")


def parse_metadata(raw) -> dict:
    if raw in (None, ""):
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder's recursion limit
        raise _bad("`metadata` is not valid JSON", "metadata_invalid") from None
    if not isinstance(value, dict):
        raise _bad("`metadata` must be a JSON object", "metadata_invalid")
    for key in METADATA_KEYS:
        if key in value and value[key] is not None and (not isinstance(value[key], str) or len(value[key]) > 2048):
            raise _bad(f"`metadata.{key}` must be a string of at most 2048 characters", "metadata_invalid")
        if isinstance(value.get(key), str) and (problem := text_problem(value[key])):
            raise _bad(f"`metadata.{key}` {problem}", "metadata_invalid")
    return {k: value[k] for k in METADATA_KEYS if value.get(k)}


def read_json(request: GateRequest, *, limit: int = MAX_JSON_BYTES):
    """The JSON body, read in full under ``limit`` (also for chunked bodies); 400 when it is not JSON."""
    refused_by_front(request)
    if request.content_length is not None and request.content_length > limit:
        raise _bad(f"the JSON body is larger than {limit} bytes", "body_too_large", 413)
    stream = request.stream
    chunks, size = [], 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _bad(f"the JSON body is larger than {limit} bytes", "body_too_large", 413)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder's recursion limit
        raise _bad("the body is not valid JSON (UTF-8)", "json_invalid") from None


def read_text(request: GateRequest, *, limit: int = MAX_JSON_BYTES) -> str:
    if request.content_length is not None and request.content_length > limit:
        raise _bad(f"the body is larger than {limit} bytes", "body_too_large", 413)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _bad(f"the body is larger than {limit} bytes", "body_too_large", 413)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 text", "body_invalid") from None


def gate_request() -> GateRequest:
    """The request being served, as the GateRequest that create_app makes every request (its spools, its limits)."""
    request: flask.Request = flask.request
    if not isinstance(request, GateRequest):  # an app not built by create_app: its requests have no spools to read
        raise TypeError("the gate's routes run in the app create_app builds (request_class = GateRequest)")
    return request
