"""Column headers in Thai or English -> the template's field names.  Pure.

A header matches when, ignoring case, spaces and punctuation, it equals one of a field's
names, or its text before or inside parentheses does (``ช่องทาง (channel)``), so templates
that carry both languages work.  Unknown columns are ignored and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.intake.backfill.domain.values import cell_text, match_key

# Field -> accepted names; the first Thai and first English name are the template's own.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "letter_no": (
        "เลขที่หนังสือ",
        "letter_no",
        "เลขที่",
        "เลขหนังสือ",
        "เลขรับ",
        "เลขที่รับ",
        "เลขทะเบียนรับ",
        "ที่หนังสือ",
        "letter number",
        "reference",
        "ref",
    ),
    "received_at": (
        "วันที่รับเรื่อง",
        "received_at",
        "received_date",
        "วันที่รับ",
        "วันรับเรื่อง",
        "วันที่ร้องเรียน",
        "วันที่",
        "date received",
        "received",
    ),
    "channel": ("ช่องทาง", "channel", "ช่องทางการร้องเรียน", "ช่องทางร้องเรียน", "ช่องทางรับเรื่อง"),
    "district_code": (
        "อำเภอ",
        "district_code",
        "รหัสอำเภอ",
        "อำเภอ/เขต",
        "เขต",
        "district",
        "amphoe",
    ),
    "subdistrict_code": (
        "ตำบล",
        "subdistrict_code",
        "รหัสตำบล",
        "ตำบล/แขวง",
        "แขวง",
        "subdistrict",
        "tambon",
    ),
    "category": ("ประเภทเรื่อง", "category", "ประเภท", "ประเภทเรื่องร้องเรียน", "หมวดเรื่อง", "type"),
    "subject": ("เรื่อง", "subject", "ชื่อเรื่อง", "เรื่องร้องเรียน", "title of complaint"),
    "description": ("รายละเอียด", "description", "รายละเอียดเรื่อง", "รายละเอียดการร้องเรียน", "details"),
    "title": ("คำนำหน้า", "title", "คำนำหน้าชื่อ", "prefix"),
    "name": (
        "ชื่อผู้ร้อง",
        "name",
        "ชื่อ-สกุล",
        "ชื่อ-นามสกุล",
        "ชื่อสกุลผู้ร้อง",
        "ผู้ร้อง",
        "ชื่อผู้ร้องเรียน",
        "complainant",
        "complainant_name",
    ),
    "national_id": (
        "เลขประจำตัวประชาชน",
        "national_id",
        "เลขบัตรประชาชน",
        "เลขบัตรประจำตัวประชาชน",
        "บัตรประชาชน",
        "pin",
        "citizen_id",
        "id card",
    ),
    "phone": (
        "โทรศัพท์",
        "phone",
        "เบอร์โทร",
        "เบอร์โทรศัพท์",
        "หมายเลขโทรศัพท์",
        "โทร",
        "tel",
        "telephone",
        "mobile",
    ),
    "email": ("อีเมล", "email", "อีเมล์", "e-mail"),
    "address": ("ที่อยู่", "address", "ที่อยู่ผู้ร้อง"),
    "anonymous": ("ไม่ประสงค์ออกนาม", "anonymous", "ปกปิดชื่อ", "ไม่เปิดเผยชื่อ"),
    "status": ("สถานะ", "status", "สถานะเรื่อง", "ผลการดำเนินการ", "สถานะการดำเนินการ"),
    "status_at": ("วันที่สถานะ", "status_date", "status_at", "วันที่ดำเนินการ"),
    "closed_at": (
        "วันที่ยุติเรื่อง",
        "closed_at",
        "closed_date",
        "วันที่ยุติ",
        "วันยุติเรื่อง",
        "วันที่ปิดเรื่อง",
        "date closed",
    ),
    "closure_reason": (
        "ผลการยุติเรื่อง",
        "closure_reason",
        "เหตุผลการยุติเรื่อง",
        "ผลการยุติ",
        "เหตุที่ยุติ",
        "ผลการพิจารณา",
    ),
    "reason": ("เหตุผล", "reason", "เหตุผลที่ไม่รับเรื่อง"),
    "agency": ("หน่วยงานที่ส่งต่อ", "agency", "ส่งหน่วยงาน", "หน่วยงานที่รับผิดชอบ", "หน่วยงาน"),
    "due_date": ("กำหนดตอบ", "due_date", "วันครบกำหนด", "กำหนดรายงานผล"),
}
REQUIRED = ("district_code", "category", "subject", "received_at")

_BY_KEY: dict[str, str] = {
    match_key(name): field for field, names in FIELD_NAMES.items() for name in names
}


def field_of(header: str) -> str | None:
    """The field a header names, or None."""
    text = cell_text(header)
    candidates = [text]
    if "(" in text:
        before, _, rest = text.partition("(")
        candidates += [before, rest.split(")", 1)[0]]
    for candidate in candidates:
        field = _BY_KEY.get(match_key(candidate))
        if field is not None:
            return field
    return None


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column holds which field (0-based indexes), and what was not understood."""

    columns: dict[str, int]
    ignored: list[str]
    repeated: list[str]

    @property
    def missing(self) -> list[str]:
        return [f for f in REQUIRED if f not in self.columns]

    def score(self) -> int:
        return len(self.columns)


def map_headers(header: Sequence[object]) -> ColumnMap:
    """Map a header row; the first column naming a field wins, later ones are reported."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    repeated: list[str] = []
    for index, cell in enumerate(header):
        text = cell_text(cell)
        if not text:
            continue
        field = field_of(text)
        if field is None:
            ignored.append(text)
        elif field in columns:
            repeated.append(text)
        else:
            columns[field] = index
    return ColumnMap(columns, ignored, repeated)
