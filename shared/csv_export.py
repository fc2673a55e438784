"""The one way every service answers a table as CSV.

UTF-8 with a byte-order mark: without it Excel, which officers open every export in,
reads the bytes as the Windows code page and shows Thai as mojibake.  Rows end in CRLF
(RFC 4180); a missing value is an empty cell.  ``csv_response`` answers a whole table,
``csv_chunks`` a table fetched a piece at a time (the BOM and header once, first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from fastapi.responses import Response, StreamingResponse

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"

Row = Mapping[str, Any]


def csv_text(columns: Sequence[str], rows: Iterable[Row], *, header: bool = True) -> str:
    """``rows`` as CSV text in ``columns`` order, the header first unless ``header`` is
    False; no BOM (that belongs to the start of a file, see ``csv_response``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue()


def _disposition(name: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}.csv"'}


def csv_response(
    columns: Sequence[str], rows: Iterable[Row], name: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A whole table as a CSV download named ``name``.csv."""
    body = (BOM + csv_text(columns, rows)).encode("utf-8")
    return Response(body, media_type=MEDIA_TYPE, headers={**_disposition(name), **(headers or {})})


def csv_chunks(
    columns: Sequence[str], chunks: AsyncIterable[Iterable[Row]], name: str
) -> StreamingResponse:
    """A table streamed as CSV, one chunk of rows at a time (for exports without a limit)."""

    async def body() -> AsyncIterator[bytes]:
        yield (BOM + csv_text(columns, [])).encode("utf-8")
        async for rows in chunks:
            yield csv_text(columns, rows, header=False).encode("utf-8")

    return StreamingResponse(body(), media_type=MEDIA_TYPE, headers=_disposition(name))
