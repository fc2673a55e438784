"""A realistic backfill register for bench/import.py: N rows of CSV as districts keep them.

Thai headers, Buddhist-Era dates (some in Thai digits, some with Thai month names), channel
and category labels in Thai or as codes, ~900 districts, about a third of the rows with a
named complainant (valid national ID and phone), about 70% with a closed outcome and 10%
in progress or forwarded.  Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import io
import random

import geothai
import phonenumbers
from stdnum.th import pin as thai_pin

from shared.thai_calendar import BANGKOK

HEADER = [
    "เลขที่หนังสือ",
    "วันที่รับเรื่อง",
    "ช่องทาง",
    "อำเภอ",
    "ประเภทเรื่อง",
    "เรื่อง",
    "รายละเอียด",
    "ชื่อผู้ร้อง",
    "เลขประจำตัวประชาชน",
    "โทรศัพท์",
    "ไม่ประสงค์ออกนาม",
    "สถานะ",
    "วันที่ยุติเรื่อง",
    "ผลการยุติเรื่อง",
]
CHANNELS = [
    "หนังสือ",
    "สายด่วน 1567",
    "มาด้วยตนเอง",
    "walk_in",
    "เว็บไซต์",
    "ไลน์",
    "letter",
    "ศูนย์ดำรงธรรมจังหวัด",
    "1111",
]
CATEGORIES = [
    "หนี้นอกระบบ",
    "ที่ดิน",
    "ข้อพิพาท",
    "เหตุเดือดร้อนรำคาญ",
    "land",
    "ทวงหนี้",
    "ขอความช่วยเหลือ",
    "ยาเสพติด",
    "สิ่งแวดล้อม",
    "อื่นๆ",
    "official_misconduct",
]
REASONS = ["แก้ไขแล้ว", "ไกล่เกลี่ยได้", "resolved", "ถอนเรื่อง", "ส่งหน่วยงานอื่น"]
SUBJECTS = [
    "ถูกเจ้าหนี้นอกระบบทวงหนี้",
    "เพื่อนบ้านบุกรุกที่ดิน",
    "เสียงดังรบกวนยามวิกาล",
    "ขอความช่วยเหลือค่ารักษาพยาบาล",
    "ถนนชำรุดเป็นหลุมบ่อ",
    "น้ำประปาไม่ไหล",
    "แจ้งเบาะแสแหล่งมั่วสุม",
    "ร้องเรียนการปฏิบัติหน้าที่ของเจ้าหน้าที่",
]
DETAILS = [
    "ผู้ร้องกู้เงิน ๕๐,๐๐๐ บาท ถูกเรียกดอกเบี้ยร้อยละ ๒๐ ต่อเดือน และถูกข่มขู่",
    "ล้อมรั้วรุกล้ำเข้ามาในที่ดินของผู้ร้องประมาณ ๒ เมตร ขอให้ตรวจสอบแนวเขต",
    "",
    "ขอให้หน่วยงานที่เกี่ยวข้องเข้าตรวจสอบและแก้ไขโดยเร็ว",
]
FIRST = ["สมชาย", "มาลี", "สมศรี", "ประเสริฐ", "วิไล", "สุดา", "ชัยวัฒน์", "อำไพ", "บุญมี"]
LAST = ["ใจดี", "ศรีสุข", "ทองคำ", "แก้วมณี", "สุขสวัสดิ์", "บุญเรือง", "พรหมมา"]
MONTHS = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
]
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def _districts() -> list[str]:
    return [d.code for p in geothai.provinces() for d in geothai.districts(p.code)]


def _be_date(rng: random.Random, day: dt.date) -> str:
    form = rng.random()
    if form < 0.55:
        return f"{day.day}/{day.month}/{day.year + 543}"
    if form < 0.8:
        return f"{day.day}/{day.month}/{day.year + 543}".translate(THAI)
    if form < 0.9:
        return f"{day.day} {MONTHS[day.month - 1]} {day.year + 543}"
    return day.isoformat()


def _national_id(rng: random.Random) -> str:
    body = str(rng.randint(1, 8)) + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return body + thai_pin.calc_check_digit(body)


def _phone(rng: random.Random) -> str:
    while True:  # Thai mobile ranges have holes: draw until the number is allocated
        number = f"0{rng.choice('689')}{rng.randint(1, 9)}{rng.randint(0, 9_999_999):07d}"
        parsed = phonenumbers.parse(number, "TH")
        if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            break
    return number if rng.random() < 0.5 else f"{number[:3]}-{number[3:6]}-{number[6:]}"


def generate(rows: int, *, seed: int = 2569, today: dt.date | None = None) -> bytes:
    """``rows`` data rows of a UTF-8 (BOM) CSV register, every row valid and distinct."""
    import csv

    rng = random.Random(seed)
    today = today or dt.datetime.now(BANGKOK).date()  # the registers' calendar
    districts = _districts()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for i in range(rows):
        received = today - dt.timedelta(days=rng.randint(30, 1500))
        channel = rng.choice(CHANNELS)
        letter = f"ที่ มท {i:07d}" if channel in ("หนังสือ", "letter") else ""
        named = rng.random() < 1 / 3
        name = f"{rng.choice(['นาย', 'นาง', 'นางสาว'])}{rng.choice(FIRST)} {rng.choice(LAST)}"
        roll = rng.random()
        status = closed = reason = ""
        if roll < 0.7:
            status = rng.choice(["ยุติเรื่อง", "ยุติ", "closed"])
            closed = _be_date(rng, min(today, received + dt.timedelta(days=rng.randint(0, 120))))
            reason = rng.choice(REASONS)
        elif roll < 0.8:
            status = "อยู่ระหว่างดำเนินการ"
        w.writerow(
            [
                letter,
                _be_date(rng, received),
                channel,
                rng.choice(districts),
                rng.choice(CATEGORIES),
                f"{rng.choice(SUBJECTS)} #{i}",
                rng.choice(DETAILS),
                name if named else "",
                _national_id(rng) if named else "",
                _phone(rng) if named and rng.random() < 0.8 else "",
                "ไม่ใช่" if named else "ใช่",
                status,
                closed,
                reason,
            ]
        )
    return out.getvalue().encode("utf-8-sig")
