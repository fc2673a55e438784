"""Bytes of a CSV or .xlsx file -> the header row and the numbered data rows.  Pure.

Rows are numbered as a spreadsheet shows them (1-based; the header is row 1 unless title
lines sit above it).  The header is the first of the first ``HEADER_SEARCH`` rows that
names at least two template fields, so a register with a title line above its table works.

``stream_table`` hands the data rows out one at a time, decoding the file as it goes: an
import holds the rows of the chunk it is at, never the whole file as text or as rows
(which took about five times the file's size).  ``read_table`` is the same, every row in
a list, for small files and tests.

A file is its bytes, or ``Parts``: a function giving its bytes again, in order, a part
at a time (a staged import's file is kept sealed in parts: each is opened as it is read).
A CSV given in parts is never whole in memory; an .xlsx is (a workbook is a zip archive,
read by seeking), which is why uploads cap its size apart.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from services.intake.backfill.domain.headers import ColumnMap, map_headers

HEADER_SEARCH = 10
_ENCODINGS = ("utf-8-sig", "cp874")  # cp874 (Windows Thai) is a superset of TIS-620
_SLICE = 1 << 20  # bytes decoded at a time when checking an encoding


class UnreadableFile(ValueError):
    """The file is not a CSV or .xlsx we can read, or has no recognisable header row."""


Row = tuple[int, Sequence[Any]]  # a data row with its number as the sheet shows it
Parts = Callable[[], Iterator[bytes]]  # a file's bytes in order, afresh at each call
Source = bytes | Parts
R = TypeVar("R", bound=Iterable[Row])


@dataclass(frozen=True, slots=True)
class Sheet(Generic[R]):
    """A sheet: its header (as written), where it is, and its data rows with numbers."""

    header: list[str]
    header_row: int
    columns: ColumnMap
    rows: R
    encoding: str | None = None


Table = Sheet[list[Row]]  # every row read (read_table)
TableStream = Sheet[Iterator[Row]]  # rows read as they are taken, once (stream_table)


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def parts_of(source: Source) -> Parts:
    """A file given either way, as parts (bytes: copies of 1 MB slices, one at a time)."""
    if not isinstance(source, bytes):
        return source
    view = memoryview(source)
    return lambda: (bytes(view[at : at + _SLICE]) for at in range(0, len(source), _SLICE))


def head_of(parts: Parts, size: int = 8192) -> bytes:
    """The first ``size`` bytes of a file (fewer if it is shorter)."""
    head = b""
    for part in parts():
        head += part[: size - len(head)]
        if len(head) >= size:
            break
    return head


class EncodingCheck:
    """A CSV file's encoding told as its bytes are fed, a part at a time (nothing kept):
    the first of ``_ENCODINGS`` that decodes every byte.  So an upload's encoding is known
    once it has streamed in, without reading the stored file again."""

    def __init__(self) -> None:
        self._decoders = {e: codecs.getincrementaldecoder(e)() for e in _ENCODINGS}

    def feed(self, part: bytes, *, final: bool = False) -> None:
        for encoding, decoder in list(self._decoders.items()):
            try:
                for at in range(0, len(part), _SLICE):
                    decoder.decode(part[at : at + _SLICE])
                if final:
                    decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                del self._decoders[encoding]

    def encoding(self) -> str:
        """The encoding, once every part was fed (the last with ``final``)."""
        if not self._decoders:
            raise UnreadableFile("the file is neither UTF-8 nor Thai Windows-874/TIS-620 text")
        return next(iter(self._decoders))  # in _ENCODINGS' order


def csv_encoding(source: Source) -> str:
    """The encoding of a CSV file's bytes, checked a part at a time (nothing kept)."""
    check = EncodingCheck()
    for part in parts_of(source)():
        check.feed(part)
    check.feed(b"", final=True)
    return check.encoding()


class _PartsReader(io.RawIOBase):
    """The parts of a file as one readable stream (for the text decoder)."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._part = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._part:
            nxt = next(self._parts, None)
            if nxt is None:
                return 0
            self._part = memoryview(nxt)
        n = min(len(buffer), len(self._part))
        buffer[:n] = self._part[:n]
        self._part = self._part[n:]
        return n


def _text(parts: Parts, encoding: str) -> io.TextIOWrapper:
    raw = io.BufferedReader(_PartsReader(parts()), buffer_size=1 << 16)
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _csv_rows(parts: Parts, encoding: str | None) -> tuple[Iterator[Sequence[Any]], str]:
    encoding = encoding or csv_encoding(parts)
    # The delimiter most used on the first line (csv.Sniffer guesses badly on Thai text),
    # then the file read again from its start.
    with _text(parts, encoding) as probe:
        first = probe.readline(8192).split("\n", 1)[0]
    delimiter = max(",;\t|", key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    return csv.reader(_text(parts, encoding), delimiter=delimiter), encoding


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
    import openpyxl  # imported here: only .xlsx uploads pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__})") from None

    def rows() -> Iterator[Sequence[Any]]:
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        finally:
            book.close()

    return rows()


def _blank(row: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def read_table(source: Source) -> Table:
    """Parse an upload (format told by its content, not its name); UnreadableFile if the
    header row cannot be found.  Fully blank rows are dropped (their numbers are skipped)."""
    stream = stream_table(source)
    return Sheet(
        stream.header, stream.header_row, stream.columns, list(stream.rows), stream.encoding
    )


def stream_table(source: Source, encoding: str | None = None) -> TableStream:
    """``read_table`` with the data rows read as they are taken; the header is found
    (or UnreadableFile raised) before this returns.  ``encoding``: a CSV's, when it is
    known already (``EncodingCheck``), else it is told by reading the file once first."""
    raw: Iterator[Sequence[Any]]
    parts = parts_of(source)
    if is_xlsx(head_of(parts, 4)):
        raw = _xlsx_rows(source if isinstance(source, bytes) else b"".join(parts()))
        encoding = None
    else:
        raw, encoding = _csv_rows(parts, encoding)
    top = list(itertools.islice(raw, HEADER_SEARCH))
    best: tuple[int, ColumnMap] | None = None
    for index, row in enumerate(top):
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
    header = ["" if v is None else str(v).strip() for v in top[index]]
    rest: Iterable[Sequence[Any]] = itertools.chain(top[index + 1 :], raw)
    rows = ((number, row) for number, row in enumerate(rest, start=index + 2) if not _blank(row))
    return Sheet(header, index + 1, columns, rows, encoding)
