"""Every table the console shows can be downloaded: CSV (``shared.csv_export``: UTF-8 with
a BOM, so Excel shows Thai) or XLSX (openpyxl), with headers in the user's language.

A page builds one ``Table`` and answers it as HTML, CSV or XLSX by the ``format`` the user
picked, so a download always holds exactly what the page showed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from openpyxl import Workbook

from shared.csv_export import csv_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True, slots=True)
class Table:
    """Rows under ``columns`` (keys), shown under ``headings`` (translated labels)."""

    name: str  # the download's file name, without extension
    columns: Sequence[str]
    headings: Sequence[str]
    rows: Sequence[Mapping[str, Any]]


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def xlsx_bytes(table: Table) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=table.name[:31] or "data")
    sheet.append(list(table.headings))
    for row in table.rows:
        sheet.append([_cell(row.get(c)) for c in table.columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(table: Table, fmt: str) -> Response:
    """``table`` as a CSV or XLSX attachment; ValueError for another format."""
    if fmt == "csv":
        rows = [
            {h: r.get(c) for h, c in zip(table.headings, table.columns, strict=True)}
            for r in table.rows
        ]
        return csv_response(list(table.headings), rows, table.name)
    if fmt == "xlsx":
        return Response(
            xlsx_bytes(table),
            media_type=XLSX,
            headers={"content-disposition": f'attachment; filename="{table.name}.xlsx"'},
        )
    raise ValueError(f"format must be one of {FORMATS}")
