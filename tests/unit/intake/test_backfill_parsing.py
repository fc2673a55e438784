"""Backfill parsing without I/O: headers, dates, labels, flags and the file readers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from services.intake.backfill.domain import headers, values
from services.intake.backfill.domain.reader import (
    EncodingCheck,
    UnreadableFile,
    csv_encoding,
    read_table,
    stream_table,
)
from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.thai_calendar import BANGKOK


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("ช่องทาง", "channel"),
        ("Channel", "channel"),
        ("อำเภอ", "district_code"),
        ("รหัสอำเภอ", "district_code"),
        ("district_code", "district_code"),
        ("ตำบล", "subdistrict_code"),
        ("ประเภทเรื่อง", "category"),
        ("CATEGORY", "category"),
        ("เรื่อง", "subject"),
        ("รายละเอียด", "description"),
        ("วันที่รับเรื่อง", "received_at"),
        ("received_date", "received_at"),
        ("Received At", "received_at"),
        ("เลขที่หนังสือ", "letter_no"),
        ("ชื่อผู้ร้อง", "name"),
        ("ชื่อ-สกุล", "name"),
        ("เลขประจำตัวประชาชน", "national_id"),
        ("โทรศัพท์", "phone"),
        ("ไม่ประสงค์ออกนาม", "anonymous"),
        ("สถานะ", "status"),
        ("วันที่ยุติเรื่อง", "closed_at"),
        ("ผลการยุติเรื่อง", "closure_reason"),
        ("ช่องทาง (channel)", "channel"),
        ("Subject (เรื่อง)", "subject"),
        (" *อำเภอ* ", "district_code"),
    ],
)
def test_headers_in_thai_or_english_map_to_fields(header: str, field: str) -> None:
    assert headers.field_of(header) == field


def test_header_row_reports_unknown_and_repeated_columns_and_missing_required() -> None:
    mapped = headers.map_headers(["ลำดับ", "อำเภอ", "รหัสอำเภอ", None, "เรื่อง", "ช่องทาง"])
    assert mapped.columns == {"district_code": 1, "subject": 4, "channel": 5}
    assert mapped.ignored == ["ลำดับ"]
    assert mapped.repeated == ["รหัสอำเภอ"]
    assert mapped.missing == ["category", "received_at"]


def _bkk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BANGKOK)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15/10/2567", _bkk(2024, 10, 15)),  # BE, dd/mm/yyyy
        ("15/10/2024", _bkk(2024, 10, 15)),  # CE
        ("๑๕/๑๐/๒๕๖๗", _bkk(2024, 10, 15)),  # Thai digits
        ("5-1-2568", _bkk(2025, 1, 5)),
        ("2567-10-15", _bkk(2024, 10, 15)),  # ISO with a BE year
        ("2024-10-15T09:30", _bkk(2024, 10, 15, 9, 30)),
        ("2024-10-15T02:30:00Z", dt.datetime(2024, 10, 15, 2, 30, tzinfo=dt.UTC)),
        ("15/10/2567 13.45 น.", _bkk(2024, 10, 15, 13, 45)),
        ("1 ต.ค. 2567", _bkk(2024, 10, 1)),
        ("๑ ตุลาคม พ.ศ. ๒๕๖๗", _bkk(2024, 10, 1)),
        ("29 ก.พ. 2567", _bkk(2024, 2, 29)),  # BE 2567 = CE 2024, a leap year
        ("1 Oct 2024", _bkk(2024, 10, 1)),
        (dt.date(2024, 10, 15), _bkk(2024, 10, 15)),  # Excel date cell
        (dt.datetime(2567, 10, 15, 8, 0), _bkk(2024, 10, 15, 8)),  # BE typed into a date cell
        (45580, _bkk(2024, 10, 15)),  # Excel serial number
        (45580.5, _bkk(2024, 10, 15, 12)),
    ],
)
def test_dates_in_buddhist_era_or_ce_with_thai_digits(raw: object, expected: dt.datetime) -> None:
    assert values.parse_moment(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("15/10/67", "year '67' must have 4 digits"),
        ("31/02/2567", "is not a valid date"),
        ("15/13/2567", "is not a valid date"),
        ("1 ตค 1500", "not a plausible date"),
        ("1 พฤศ 2567", "unknown month"),
        ("เมื่อวาน", "is not a date"),
        ("", "is empty"),
    ],
)
def test_bad_dates_say_why(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        values.parse_moment(raw)


@pytest.mark.parametrize(
    ("table", "raw", "code"),
    [
        (values.CHANNELS, "หนังสือ", ChannelCode.letter),
        (values.CHANNELS, "สายด่วน ๑๕๖๗", ChannelCode.hotline_1567),
        (values.CHANNELS, "Hotline 1567", ChannelCode.hotline_1567),
        (values.CHANNELS, "walk-in", ChannelCode.walk_in),
        (values.CHANNELS, "LINE", ChannelCode.line),
        (values.CHANNELS, "ไลน์", ChannelCode.line),
        (values.CHANNELS, "pm_office_1111", ChannelCode.pm_office_1111),
        (values.CATEGORIES, "หนี้นอกระบบ", CategoryCode.informal_debt),
        (values.CATEGORIES, "ที่ดิน", CategoryCode.land),
        (values.CATEGORIES, "อื่นๆ", CategoryCode.other),
        (values.CATEGORIES, "อื่น ๆ", CategoryCode.other),
        (values.CATEGORIES, "Informal debt", CategoryCode.informal_debt),
        (values.CATEGORIES, "debt_collection", CategoryCode.debt_collection),
        (values.CLOSURE_REASONS, "ไกล่เกลี่ยสำเร็จ", ClosureReason.mediated),
        (values.CLOSURE_REASONS, "ถอนเรื่อง", ClosureReason.withdrawn),
        (values.CLOSURE_REASONS, "Out of jurisdiction", ClosureReason.out_of_jurisdiction),
    ],
)
def test_labels_and_codes_map_to_codes(table: dict, raw: str, code: object) -> None:
    assert values.lookup(table, raw) == code


def test_unknown_label_maps_to_nothing_and_statuses_have_thai_names() -> None:
    assert values.lookup(values.CATEGORIES, "เรื่องผี") is None
    assert values.STATUSES[values.match_key("ยุติเรื่อง")] == "closed"
    assert values.STATUSES[values.match_key("อยู่ระหว่างดำเนินการ")] == "in_progress"
    assert values.STATUSES[values.match_key("ไม่รับเรื่อง")] == "rejected"


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("ใช่", True),
        ("ไม่ใช่", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        (0, False),
        ("/", True),
        ("-", False),
        (True, True),
        ("ไม่ประสงค์ออกนาม", True),
    ],
)
def test_yes_no_cells(raw: object, flag: bool) -> None:
    assert values.parse_flag(raw) is flag


def test_cells_lose_excel_float_tails_and_thai_digits() -> None:
    assert values.cell_text(1101700230708.0) == "1101700230708"
    assert values.cell_text(" ๐๘๑-๒๓๔ ") == "081-234"
    assert values.cell_text("กู้เงิน ๕๐๐๐๐ บาท ") == "กู้เงิน 50000 บาท"
    assert values.cell_text("ถูกเจ้าหนี้ทวงหนี้ ") == "ถูกเจ้าหนี้ทวงหนี้"
    assert values.cell_text(None) == ""


HEADER = "อำเภอ,ประเภทเรื่อง,เรื่อง,วันที่รับเรื่อง\n"


def test_csv_in_utf8_with_bom_or_windows_874_with_title_lines_and_blank_rows() -> None:
    body = (
        "ทะเบียนเรื่องร้องเรียน,,,\n" + HEADER + "5001,ที่ดิน,บุกรุก,1/10/2567\n,,,\n\n"
        "5001,อื่นๆ,เรื่องอื่น,2/10/2567\n"
    )
    for data in (body.encode("utf-8-sig"), body.encode("utf-8"), body.encode("cp874")):
        table = read_table(data)
        assert table.header_row == 2
        assert [n for n, _ in table.rows] == [3, 6]
        assert table.rows[1][1][1] == "อื่นๆ"


def _workbook() -> bytes:
    """An .xlsx register: the header, and one row with a number and a date cell."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.append(HEADER.strip().split(","))
    sheet.append([5001, "ที่ดิน", "บุกรุก", dt.date(2024, 10, 1)])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_semicolon_csv_and_xlsx_with_date_cells() -> None:
    semicolons = HEADER.replace(",", ";") + "5001;ที่ดิน;บุกรุก;1/10/2567\n"
    table = read_table(semicolons.encode())
    assert table.rows == [(2, ["5001", "ที่ดิน", "บุกรุก", "1/10/2567"])]
    ((number, row),) = read_table(_workbook()).rows
    assert number == 2 and row[0] == 5001 and row[3] == dt.datetime(2024, 10, 1)


def test_a_streamed_table_reads_its_rows_as_they_are_taken() -> None:
    # A quoted description over two lines, Thai text in Windows-874 past the first
    # megabyte (the encoding is decided over the whole file, a slice at a time).
    filler = "5001,อื่นๆ,เรื่องยาว,1/10/2567\n" * 40_000
    body = HEADER + filler + '5001,ที่ดิน,"บุกรุก\nสองบรรทัด",2/10/2567\n'
    for data in (body.encode("utf-8"), body.encode("cp874")):
        stream = stream_table(data)
        assert (stream.header_row, stream.encoding) == (1, read_table(data).encoding)
        first = next(stream.rows)
        assert first == (2, ["5001", "อื่นๆ", "เรื่องยาว", "1/10/2567"])
        rest = list(stream.rows)
        assert len(rest) == 40_000 and list(stream.rows) == []  # read once, as taken
        assert rest[-1] == (40_002, ["5001", "ที่ดิน", "บุกรุก\nสองบรรทัด", "2/10/2567"])
        assert [first, *rest] == read_table(data).rows
    half = (HEADER + filler).encode("utf-8") + "ไม่ใช่".encode("cp874")
    with pytest.raises(UnreadableFile, match="neither UTF-8"):
        stream_table(half + b"\x81")  # 0x81 is in neither encoding


@pytest.mark.parametrize("size", [1, 3, 1 << 20])
def test_the_encoding_told_as_parts_arrive_is_the_files(size: int) -> None:
    # An upload's encoding is told as its parts stream in, cut anywhere (inside a Thai
    # character too), and read the stored file by: it must be the one the file has.
    thai = HEADER + "5001,ที่ดิน,บุกรุก,1/10/2567\n"
    ascii_only = "district_code,category,subject\n5001,land,x\n"
    for data, expected in (
        (thai.encode("utf-8-sig"), "utf-8-sig"),
        (thai.encode("utf-8"), "utf-8-sig"),
        (thai.encode("cp874"), "cp874"),
        (ascii_only.encode(), "utf-8-sig"),  # both decode it: the first is taken
    ):
        check = EncodingCheck()
        for part in _in_parts(data, size)():
            check.feed(part)
        check.feed(b"", final=True)
        assert check.encoding() == expected == csv_encoding(data)
        assert stream_table(_in_parts(data, size), check.encoding()).encoding == expected
    neither = EncodingCheck()
    neither.feed(thai.encode("utf-8") + "ไม่ใช่".encode("cp874") + b"\x81", final=True)
    with pytest.raises(UnreadableFile, match="neither UTF-8"):
        neither.encoding()


def _in_parts(data: bytes, size: int) -> Callable[[], Iterator[bytes]]:
    return lambda: (data[at : at + size] for at in range(0, len(data), size))


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_a_file_given_in_parts_reads_as_its_bytes(size: int) -> None:
    # Parts cut anywhere: inside a Thai character, a quoted field of two lines, a line end.
    rows = "5001,อื่นๆ,เรื่องยาว,1/10/2567\n" * (3 if size < 4096 else 3000)
    body = "ทะเบียน,,,\n" + HEADER + rows + '5001,ที่ดิน,"บุกรุก\nสองบรรทัด",2/10/2567\n'
    for data in (body.encode("utf-8-sig"), body.encode("cp874")):
        parts = _in_parts(data, size)
        table, whole = read_table(parts), read_table(data)
        assert (table.header, table.header_row, table.encoding) == (
            whole.header,
            whole.header_row,
            whole.encoding,
        )
        assert table.rows == whole.rows and table.rows[-1][1][2] == "บุกรุก\nสองบรรทัด"
    with pytest.raises(UnreadableFile, match="neither UTF-8"):
        read_table(_in_parts(body.encode("utf-8") + b"\x81", size))


def test_an_xlsx_given_in_parts_reads_as_its_bytes() -> None:
    data = _workbook()
    assert read_table(_in_parts(data, 1000)).rows == read_table(data).rows


def test_unreadable_files() -> None:
    with pytest.raises(UnreadableFile, match="no header row"):
        read_table(b"a,b,c\n1,2,3\n")
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_table(b"PK\x03\x04 not really a zip")
