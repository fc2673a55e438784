"""A register upload's ``file`` field, read as it streams in: an adapter over the request.

FastAPI's ``UploadFile`` would spool a file over 1 MB to a temporary file on disk, in
clear, and the import would then read it whole.  A register holds personal data and may
be hundreds of megabytes, so the multipart body is parsed here as it arrives (with
python-multipart, the parser Starlette itself uses) and the file's bytes are handed on in
parts of ``size``, each to be sealed before the next is read.  Other form fields are
ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

FIELD = "file"


class BadUpload(ValueError):
    """The body is not a multipart form with a ``file`` field (the message says which)."""


# The request body documented as the form it is (the route reads the stream itself).
OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV (UTF-8 or Windows-874) or .xlsx",
                        }
                    },
                }
            }
        },
    }
}


class _Form:
    """python-multipart's callbacks: the ``file`` field's bytes gathered in ``data``."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.found = False  # a file field began
        self.ended = False  # ... and ended
        self._in_file = False
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _begin(self) -> None:
        self._headers, self._in_file = {}, False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        # The first field named "file" is the register; a repeated one is ignored.
        self._in_file = options.get(b"name") == FIELD.encode() and not self.found
        self.found = self.found or self._in_file

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.data += data[start:end]

    def _part_end(self) -> None:
        if self._in_file:
            self.ended, self._in_file = True, False


async def file_parts(request: Request, size: int) -> AsyncIterator[bytes]:
    """The bytes of the request's ``file`` field, in parts of ``size`` (the last may be
    shorter; none for an empty file).  BadUpload when the body is not a form with one."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadUpload("send the register as a multipart/form-data field named file")
    form = _Form()
    parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            while len(form.data) >= size:
                part = bytes(form.data[:size])
                del form.data[:size]
                yield part
        parser.finalize()
    except MultipartParseError as exc:
        raise BadUpload(f"the form could not be read ({exc})") from None
    except ClientDisconnect:
        raise BadUpload("the upload ended before the whole file was sent") from None
    if not form.found:
        raise BadUpload("is required (a multipart/form-data field named file)")
    if not form.ended:
        raise BadUpload("the upload ended before the whole file was sent")
    if form.data:
        yield bytes(form.data)
