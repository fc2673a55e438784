"""Cell values as districts write them -> dates, codes and flags.  Pure.

Dates: Buddhist-Era or CE years (a year above 2400 is BE), ``dd/mm/yyyy`` (also with
``-`` or ``.``), ISO ``yyyy-mm-dd[Thh:mm[:ss]]``, Thai or English month names
(``1 ต.ค. 2567``, ``1 ตุลาคม ๒๕๖๗``, ``1 Oct 2024``), an optional ``hh:mm`` / ``hh.mm น.``
time, Excel date cells and Excel serial numbers, Thai digits anywhere.  Two-digit years are
refused: ``67`` could be BE 2567 or CE 2067.

Codes: the code itself or its Thai / English label from ``shared.codes``, plus the common
spellings below; matching ignores case, spaces and ``-_./()``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from shared.codes import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    CLOSURE_REASON_LABELS,
    CategoryCode,
    ChannelCode,
    ClosureReason,
)
from shared.thai_calendar import BANGKOK, BE_OFFSET, aware

E = TypeVar("E", bound=StrEnum)

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_THAI_DIGIT = re.compile("[๐-๙]")
_NOISE = re.compile(r"[\s\-_./()\"'*:]+")
# Excel's day 0, in the register's wall-clock time (adding days to it is wall-clock arithmetic).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30, tzinfo=BANGKOK)


def ascii_digits(text: str) -> str:
    """Thai digits (๐-๙) replaced by ASCII ones."""
    # Most text holds no Thai digit: finding none is a scan, translating makes a copy.
    if text.isascii() or not _THAI_DIGIT.search(text):
        return text
    return text.translate(_THAI_DIGITS)


def cell_text(value: Any) -> str:
    """A cell as trimmed text with ASCII digits; '' for a blank cell.

    Integral floats lose their ``.0`` (Excel stores ``1234`` as ``1234.0``).
    """
    if type(value) is str:  # the common case first: CSV cells are all text
        return ascii_digits(value).strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return ascii_digits(str(value)).strip()


@lru_cache(maxsize=16_384)  # registers repeat the same few labels on every row
def match_key(text: str) -> str:
    """The form labels and headers are compared in: casefolded, no spaces or punctuation."""
    return _NOISE.sub("", ascii_digits(text).casefold())


# -- dates ------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _n, _names in enumerate(
    (
        ("มกราคม", "มค", "jan", "january"),
        ("กุมภาพันธ์", "กพ", "feb", "february"),
        ("มีนาคม", "มีค", "mar", "march"),
        ("เมษายน", "เมย", "apr", "april"),
        ("พฤษภาคม", "พค", "may"),
        ("มิถุนายน", "มิย", "jun", "june"),
        ("กรกฎาคม", "กค", "jul", "july"),
        ("สิงหาคม", "สค", "aug", "august"),
        ("กันยายน", "กย", "sep", "sept", "september"),
        ("ตุลาคม", "ตค", "oct", "october"),
        ("พฤศจิกายน", "พย", "nov", "november"),
        ("ธันวาคม", "ธค", "dec", "december"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _n

_TIME = r"(?:[ T,]+(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?\s*(?:น\.?)?)?"
_TZ = r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
_ISO = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _TZ + r"$")
_DMY = re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d+)" + _TIME + r"$")
_NAMED = re.compile(
    r"^(?:วันที่\s*)?(?P<d>\d{1,2})\s*(?P<mon>[^\d\s]+(?:\s*\.)?)\s*"
    r"(?:พ\.?\s*ศ\.?\s*|ค\.?\s*ศ\.?\s*)?(?P<y>\d+)" + _TIME + r"$"
)


def _year(raw: str) -> int:
    if len(raw) != 4:
        raise ValueError(f"year {raw!r} must have 4 digits (Buddhist Era or CE)")
    year = int(raw)
    return year - BE_OFFSET if year > 2400 else year


def _build(year: int, month: int, day: int, m: re.Match[str]) -> dt.datetime:
    if year < 1900:
        raise ValueError(f"year {year} is not a plausible date")
    hour, minute, second = (int(m.group(g) or 0) for g in ("h", "mi", "s"))
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=BANGKOK)
    except ValueError as exc:
        raise ValueError(f"is not a valid date ({exc})") from None


def parse_moment(value: Any) -> dt.datetime:
    """An aware datetime (Asia/Bangkok unless the value says otherwise) from a date cell.

    A date without a time means the start of that day in Bangkok.  ValueError with a short
    reason for anything else.
    """
    if isinstance(value, dt.datetime):
        moment = aware(value)
        if moment.year > 2400:  # a BE year typed into a CE date cell
            moment = moment.replace(year=moment.year - BE_OFFSET)
        return moment
    if isinstance(value, dt.date):
        year = value.year - BE_OFFSET if value.year > 2400 else value.year
        return dt.datetime(year, value.month, value.day, tzinfo=BANGKOK)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value < 200_000:
            raise ValueError(f"number {value!r} is not a date")
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))  # an Excel serial date
        return moment.replace(microsecond=0)
    return _text_moment(value if type(value) is str else cell_text(value))


@lru_cache(maxsize=16_384)  # dates repeat a lot in a register; errors are not cached
def _text_moment(value: str) -> dt.datetime:
    text = re.sub(r"\s+", " ", cell_text(value))
    if not text:
        raise ValueError("is empty")
    if m := _ISO.match(text):
        moment = _build(_year(m["y"]), int(m["m"]), int(m["d"]), m)
        if m["tz"]:
            offset = dt.datetime.fromisoformat("2000-01-01T00:00" + m["tz"].replace("Z", "+00:00"))
            moment = moment.replace(tzinfo=offset.tzinfo)
        return moment
    if m := _DMY.match(text):
        return _build(_year(m["y"]), int(m["m"]), int(m["d"]), m)
    if m := _NAMED.match(text):
        month = _MONTHS.get(match_key(m["mon"]))
        if month is None:
            raise ValueError(f"unknown month {m['mon'].strip()!r}")
        return _build(_year(m["y"]), month, int(m["d"]), m)
    raise ValueError(f"{text!r} is not a date (use dd/mm/yyyy, BE or CE)")


def parse_date(value: Any) -> dt.date:
    """The calendar date (Bangkok) of a date cell."""
    return parse_moment(value).astimezone(BANGKOK).date()


# -- codes ------------------------------------------------------------------------------


def _table(
    enum: type[E], labels: Mapping[E, tuple[str, str]], extra: Mapping[E, Iterable[str]]
) -> dict[str, E]:
    table: dict[str, E] = {}
    for code in enum:
        for name in (code.value, *labels.get(code, ()), *extra.get(code, ())):
            table[match_key(name)] = code
    return table


CHANNELS = _table(
    ChannelCode,
    CHANNEL_LABELS,
    {
        ChannelCode.walk_in: (
            "มาด้วยตนเอง",
            "ด้วยตนเอง",
            "ร้องเรียนด้วยตนเอง",
            "walk in",
            "walkin",
            "in person",
        ),
        ChannelCode.hotline_1567: ("1567", "สายด่วน", "สายด่วน1567", "hotline", "โทร 1567"),
        ChannelCode.letter: (
            "หนังสือ",
            "จดหมาย",
            "หนังสือร้องเรียน",
            "ไปรษณีย์",
            "บัตรสนเท่ห์",
            "letter",
            "mail",
            "post",
        ),
        ChannelCode.web: ("เว็บไซต์", "เว็บ", "website", "internet", "อินเทอร์เน็ต", "online"),
        ChannelCode.mobile_app: ("แอป", "แอปพลิเคชัน", "แอพพลิเคชั่น", "app", "application"),
        ChannelCode.line: ("line", "ไลน์", "line@", "ไลน์ออฟฟิเชียล"),
        ChannelCode.email: ("อีเมล", "อีเมล์", "e-mail", "email"),
        ChannelCode.facebook: ("เฟซบุ๊ก", "เฟสบุ๊ค", "เฟซบุ๊ค", "fb"),
        ChannelCode.pm_office_1111: (
            "1111",
            "สายด่วนรัฐบาล 1111",
            "สำนักนายกรัฐมนตรี",
            "สปน",
            "ศูนย์บริการประชาชน",
        ),
        ChannelCode.ombudsman: ("ผู้ตรวจการแผ่นดิน", "สำนักงานผู้ตรวจการแผ่นดิน"),
        ChannelCode.ministry_referral: ("กระทรวง", "หน่วยงานอื่นส่งมา", "ส่วนราชการอื่น"),
        ChannelCode.provincial_centre: ("ศูนย์ดำรงธรรมจังหวัด", "ศดธจ"),
        ChannelCode.district_centre: ("ศูนย์ดำรงธรรมอำเภอ", "ศดธอ"),
        ChannelCode.central_centre: (
            "ศูนย์ดำรงธรรมกระทรวงมหาดไทย",
            "ศูนย์ดำรงธรรมกระทรวง",
            "ส่วนกลาง",
            "มหาดไทย",
        ),
    },
)

CATEGORIES = _table(
    CategoryCode,
    CATEGORY_LABELS,
    {
        CategoryCode.assistance_request: (
            "ขอความช่วยเหลือ",
            "ขอความอนุเคราะห์",
            "ความเดือดร้อน",
            "assistance",
        ),
        CategoryCode.informal_debt: ("หนี้นอกระบบ", "เงินกู้นอกระบบ"),
        CategoryCode.land: ("ที่ดิน", "บุกรุกที่ดิน", "ที่ดินและการบุกรุก", "ที่สาธารณะ"),
        CategoryCode.dispute_mediation: ("ข้อพิพาท", "ไกล่เกลี่ย", "ไกล่เกลี่ยข้อพิพาท", "mediation"),
        CategoryCode.official_misconduct: (
            "เจ้าหน้าที่รัฐ",
            "ร้องเรียนเจ้าหน้าที่",
            "การปฏิบัติหน้าที่",
            "ทุจริต",
            "misconduct",
        ),
        CategoryCode.drugs: ("ยาเสพติด", "ยาบ้า"),
        CategoryCode.gambling: ("พนัน", "บ่อนการพนัน", "บ่อน"),
        CategoryCode.debt_collection: ("ทวงหนี้", "ทวงถามหนี้", "ทวงหนี้ไม่เป็นธรรม"),
        CategoryCode.public_utilities: (
            "สาธารณูปโภค",
            "เหตุเดือดร้อนรำคาญ",
            "ไฟฟ้า",
            "ประปา",
            "ถนน",
            "nuisance",
            "utilities",
        ),
        CategoryCode.environment: ("สิ่งแวดล้อม", "มลพิษ", "pollution"),
        CategoryCode.tip_off: ("เบาะแส", "แจ้งเบาะแส", "tip off", "tipoff"),
        CategoryCode.suggestion: ("ข้อเสนอแนะ", "เสนอแนะ", "ชมเชย"),
        CategoryCode.other: ("อื่นๆ", "อื่น", "อื่น ๆ", "other"),
    },
)

CLOSURE_REASONS = _table(
    ClosureReason,
    CLOSURE_REASON_LABELS,
    {
        ClosureReason.resolved: ("แก้ไขแล้ว", "ดำเนินการแล้วเสร็จ", "แก้ไขปัญหาแล้ว", "ได้รับการแก้ไข"),
        ClosureReason.mediated: ("ไกล่เกลี่ยได้", "ตกลงกันได้", "ไกล่เกลี่ยแล้ว"),
        ClosureReason.withdrawn: ("ถอนเรื่อง", "ขอถอนเรื่อง", "ผู้ร้องขอถอนเรื่อง"),
        ClosureReason.out_of_jurisdiction: ("ไม่อยู่ในอำนาจ", "นอกอำนาจหน้าที่"),
        ClosureReason.duplicate: ("ซ้ำ", "ร้องซ้ำ", "เรื่องร้องซ้ำ"),
        ClosureReason.insufficient_information: ("ข้อมูลไม่ครบ", "ข้อมูลไม่ครบถ้วน", "ไม่สามารถติดต่อผู้ร้องได้"),
        ClosureReason.referred_elsewhere: ("ส่งหน่วยงานอื่น", "ส่งต่อหน่วยงานอื่น", "ส่งเรื่องต่อ"),
    },
)

# Where a case stood; "filed" means no outcome beyond the filing itself.
STATUSES: dict[str, str] = {}
for _status, _names in {
    "filed": ("filed", "new", "ใหม่", "รอดำเนินการ", "รับแจ้ง", "ลงทะเบียน"),
    "accepted": ("accepted", "รับเรื่อง", "รับเรื่องแล้ว", "รับไว้พิจารณา"),
    "in_progress": (
        "in_progress",
        "in progress",
        "อยู่ระหว่างดำเนินการ",
        "ระหว่างดำเนินการ",
        "กำลังดำเนินการ",
        "ดำเนินการ",
        "open",
    ),
    "forwarded": (
        "forwarded",
        "ส่งต่อ",
        "ส่งหน่วยงานที่เกี่ยวข้อง",
        "ส่งเรื่อง",
        "ส่งหน่วยงานดำเนินการ",
        "รอผลหน่วยงาน",
    ),
    "closed": (
        "closed",
        "ยุติ",
        "ยุติเรื่อง",
        "ยุติเรื่องแล้ว",
        "ปิดเรื่อง",
        "เสร็จสิ้น",
        "ดำเนินการแล้วเสร็จ",
        "done",
    ),
    "rejected": ("rejected", "ไม่รับเรื่อง", "ไม่รับไว้พิจารณา"),
}.items():
    for _name in _names:
        STATUSES[match_key(_name)] = _status

_YES = {
    match_key(v)
    for v in (
        "1",
        "y",
        "yes",
        "true",
        "x",
        "ใช่",
        "ไม่ประสงค์ออกนาม",
        "ไม่เปิดเผย",
        "ไม่เปิดเผยชื่อ",
        "anonymous",
    )
}
_NO = {match_key(v) for v in ("0", "n", "no", "false", "-", "ไม่", "ไม่ใช่", "เปิดเผย", "เปิดเผยชื่อ")}


def lookup(table: Mapping[str, E], value: Any) -> E | None:
    """The code a label or code names; None when nothing matches."""
    return table.get(match_key(cell_text(value)))


def parse_flag(value: Any) -> bool:
    """Yes/no cells: ``1/0``, ``Y/N``, ``ใช่/ไม่ใช่``, ``TRUE/FALSE``, a tick; ValueError else."""
    if isinstance(value, bool):
        return value
    text = cell_text(value)
    if text in {"/", "✓", "✔"}:  # ticks: punctuation that match_key would erase
        return True
    if text == "-":
        return False
    key = match_key(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"{text!r} is not yes/no (use ใช่/ไม่ใช่, Y/N or 1/0)")
