"""Bytes of a CSV or .xlsx file -> the header row and the numbered data rows.  Pure.

Rows are numbered as a spreadsheet shows them (1-based; the header is row 1 unless title
lines sit above it).  The header is the first of the first ``HEADER_SEARCH`` rows that
names at least two template fields, so a register with a title line above its table works.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.intake.backfill.domain.headers import ColumnMap, map_headers

HEADER_SEARCH = 10
_ENCODINGS = ("utf-8-sig", "cp874")  # cp874 (Windows Thai) is a superset of TIS-620


class UnreadableFile(ValueError):
    """The file is not a CSV or .xlsx we can read, or has no recognisable header row."""


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet: its header (as written), where it is, and its data rows with numbers."""

    header: list[str]
    header_row: int
    columns: ColumnMap
    rows: list[tuple[int, Sequence[Any]]]
    encoding: str | None = None


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("the file is neither UTF-8 nor Thai Windows-874/TIS-620 text")


def _csv_rows(data: bytes) -> tuple[list[Sequence[Any]], str]:
    text, encoding = decode_csv(data)
    # The delimiter most used on the first line (csv.Sniffer guesses badly on Thai text).
    first = text[:8192].split("\n", 1)[0]
    delimiter = max(",;\t|", key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), encoding


def _xlsx_rows(data: bytes) -> list[Sequence[Any]]:
    import openpyxl  # imported here: only .xlsx uploads pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        return [tuple(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _blank(row: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def read_table(data: bytes) -> Table:
    """Parse an upload (format told by its content, not its name); UnreadableFile if the
    header row cannot be found.  Fully blank rows are dropped (their numbers are skipped)."""
    encoding: str | None = None
    if is_xlsx(data):
        raw = _xlsx_rows(data)
    else:
        raw, encoding = _csv_rows(data)
    best: tuple[int, ColumnMap] | None = None
    for index, row in enumerate(raw[:HEADER_SEARCH]):
        columns = map_headers(row)
        if columns.score() >= 2:
            best = (index, columns)
            break
    if best is None:
        raise UnreadableFile(
            "no header row naming the template's columns in the first "
            f"{HEADER_SEARCH} rows (e.g. อำเภอ, ประเภทเรื่อง, เรื่อง, "
            "วันที่รับเรื่อง)"
        )
    index, columns = best
    header = ["" if v is None else str(v).strip() for v in raw[index]]
    rows = [
        (number, row)
        for number, row in enumerate(raw[index + 1 :], start=index + 2)
        if not _blank(row)
    ]
    return Table(header, index + 1, columns, rows, encoding)
