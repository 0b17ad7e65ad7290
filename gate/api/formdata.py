"""multipart/form-data with file parts of any size: files stream to their spool, only text is held and limited.

Werkzeug ≥ 3.1 checks ``max_form_memory_size`` against its decoder's whole buffer — the bytes received but not yet
handed out — whatever part they belong to. With a 64 KiB limit and 64 KiB reads, a file part fails as soon as a
read ends in a CR or LF that might start the next boundary (the decoder keeps those bytes back): real packages of
0.4 MB were refused with 413. So the decoder here runs without that limit, and this parser bounds memory by what
the bytes are:

- a file part's data goes to the stream the request supplies (a HashingSpool, capped by GATE_MAX_UPLOAD_BYTES);
- a text part (``metadata``) is collected in memory up to ``max_form_memory_size``: a larger one is refused (413);
- bytes that are not part data yet (preamble, part headers) may not pile up past that limit either, and the
  number of parts is limited (``max_form_parts``);
- parsing stops at the closing boundary: the epilogue stays in the request stream for the caller to drain (the
  webhook HMAC covers it) instead of being collected by the decoder.
"""

from __future__ import annotations

from typing import IO

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, NeedData, Preamble, State

from gate.api.boundary import FastMultipartDecoder
from gate.services.uploads import UploadError

READ_SIZE = 64 * 1024


def field_too_large(name: str, limit: int) -> UploadError:
    return UploadError(f"the form field `{name}` is larger than {limit} bytes", code="form_field_too_large",
                       status=413)


class SpoolingFormDataParser(FormDataParser):
    """werkzeug's form parser with ``SpoolingMultipartParser`` for multipart bodies (URL-encoded forms unchanged)."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii", "replace")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = SpoolingMultipartParser(self.stream_factory, self.max_form_memory_size, self.cls,
                                         max_form_parts=self.max_form_parts)
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class SpoolingMultipartParser(MultiPartParser):
    """werkzeug's parser with its own event loop: ``max_form_memory_size`` limits text parts and held header bytes
    only (see the module docstring); file parts go to ``start_file_streaming``, i.e. the request's spool."""

    def parse(self, stream, boundary: bytes, content_length: int | None) -> tuple[MultiDict, MultiDict]:
        limit = self.max_form_memory_size
        if limit is None:  # GateRequest sets one; without it text parts and part headers would be held unbounded
            raise ValueError("a multipart form needs max_form_memory_size")
        # No limits here: they are applied below, by kind of bytes. werkzeug's decoder, without its per-body
        # regular-expression compilation (gate.api.boundary).
        decoder = FastMultipartDecoder(boundary)
        parts = 0
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, FileStorage]] = []
        part: Field | File | None = None
        text: list[bytes] = []
        text_size = 0
        sink: IO[bytes] | None = None
        while True:
            chunk = stream.read(READ_SIZE)
            decoder.receive_data(chunk or None)  # None tells the decoder the body ended
            while True:
                event = decoder.next_event()
                if isinstance(event, NeedData):
                    break
                if isinstance(event, Epilogue):  # only after the body ended: nothing more to do
                    return self.cls(fields), self.cls(files)
                if isinstance(event, Preamble):
                    continue
                if isinstance(event, (File, Field)):
                    parts += 1
                    if self.max_form_parts is not None and parts > self.max_form_parts:
                        raise ValueError(f"the form has more than {self.max_form_parts} parts")
                if isinstance(event, File):
                    part, sink = event, self.start_file_streaming(event, content_length)
                elif isinstance(event, Field):
                    part, text, text_size = event, [], 0
                elif isinstance(event, Data):
                    if part is None:  # the decoder yields data only inside a part; refuse rather than guess
                        raise ValueError("multipart data outside a part")
                    if isinstance(part, File):
                        if sink is None:
                            raise ValueError("multipart file data without a spool")
                        sink.write(event.data)
                        if not event.more_data:
                            sink.seek(0)
                            files.append((part.name, FileStorage(sink, part.filename, part.name,
                                                                 headers=part.headers)))
                    else:
                        text_size += len(event.data)
                        if text_size > limit:
                            raise field_too_large(part.name, limit)
                        text.append(event.data)
                        if not event.more_data:
                            charset = self.get_part_charset(part.headers)
                            fields.append((part.name, b"".join(text).decode(charset, "replace")))
            if decoder.state in (State.EPILOGUE, State.COMPLETE):
                # The closing boundary was read: leave the epilogue in the stream (see the module docstring).
                return self.cls(fields), self.cls(files)
            if decoder.state in (State.PREAMBLE, State.PART) and len(decoder.buffer) > limit:
                raise ValueError(f"a multipart preamble or part header is longer than {limit} bytes")
            if not chunk:
                raise ValueError("the multipart body ended before its closing boundary")

