"""The console benchmark's data: a register of N cases, loaded through intake's import.

``make_register`` is pure and deterministic for a seed and ``today``: CSV chunks in the
register template's Thai headers, with what the services must show once they have caught
up (cases, open cases).  The cases are spread over every district (a few busy districts,
a long tail: district ``busiest`` gets the most), the channels and categories, received
over the current and the two previous fiscal years, most of the older ones closed, the
open ones filed, accepted, in progress or forwarded (some past their reply date), a few
rejected; about a third name their complainant (a valid national ID and phone), whose
personal data intake seals as in production.

``load`` posts the chunks to ``POST /v1/imports?wait=true`` one after another (each import
parses with its own worker processes and answers its summary once filed) and
``wait_caught_up`` polls status and kpi until both show every case and every open case.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import geothai
import httpx

from bench.import_gen import _national_id, _phone
from shared.codes import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    CLOSURE_REASON_LABELS,
    CategoryCode,
    ChannelCode,
)
from shared.thai_calendar import BANGKOK, fiscal_year, fiscal_year_bounds

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
    "วันที่สถานะ",
    "วันที่ยุติเรื่อง",
    "ผลการยุติเรื่อง",
    "เหตุผล",
    "หน่วยงานที่ส่งต่อ",
    "กำหนดตอบ",
]
# Channels and categories by how often centres see them (walk-ins and the hotline lead).
CHANNEL_WEIGHTS = {
    ChannelCode.walk_in: 30,
    ChannelCode.hotline_1567: 25,
    ChannelCode.letter: 12,
    ChannelCode.web: 8,
    ChannelCode.line: 6,
    ChannelCode.pm_office_1111: 6,
    ChannelCode.provincial_centre: 4,
    ChannelCode.district_centre: 3,
    ChannelCode.email: 2,
    ChannelCode.facebook: 1,
    ChannelCode.mobile_app: 1,
    ChannelCode.ombudsman: 1,
    ChannelCode.ministry_referral: 1,
}
CATEGORY_WEIGHTS = {
    CategoryCode.assistance_request: 22,
    CategoryCode.public_utilities: 15,
    CategoryCode.land: 12,
    CategoryCode.dispute_mediation: 10,
    CategoryCode.informal_debt: 8,
    CategoryCode.debt_collection: 6,
    CategoryCode.official_misconduct: 6,
    CategoryCode.environment: 5,
    CategoryCode.drugs: 4,
    CategoryCode.gambling: 3,
    CategoryCode.tip_off: 3,
    CategoryCode.suggestion: 2,
    CategoryCode.other: 4,
}
SUBJECTS = [
    "ขอความช่วยเหลือค่ารักษาพยาบาล",
    "ถนนชำรุดเป็นหลุมบ่อ",
    "เพื่อนบ้านบุกรุกที่ดิน",
    "ถูกเจ้าหนี้นอกระบบทวงหนี้",
    "น้ำประปาไม่ไหล",
    "เสียงดังรบกวนยามวิกาล",
    "ร้องเรียนการปฏิบัติหน้าที่ของเจ้าหน้าที่",
    "แจ้งเบาะแสแหล่งมั่วสุม",
]
DETAILS = [
    "ขอให้หน่วยงานที่เกี่ยวข้องเข้าตรวจสอบและแก้ไขโดยเร็ว",
    "ผู้ร้องกู้เงิน ๕๐,๐๐๐ บาท ถูกเรียกดอกเบี้ยร้อยละ ๒๐ ต่อเดือน",
    "ล้อมรั้วรุกล้ำเข้ามาในที่ดินของผู้ร้องประมาณ ๒ เมตร",
    "",
]
FIRST = ["สมชาย", "มาลี", "สมศรี", "ประเสริฐ", "วิไล", "สุดา", "ชัยวัฒน์", "บุญมี"]
LAST = ["ใจดี", "ศรีสุข", "ทองคำ", "แก้วมณี", "สุขสวัสดิ์", "พรหมมา"]
AGENCIES = ["สำนักงานที่ดินจังหวัด", "การประปาส่วนภูมิภาค", "องค์การบริหารส่วนตำบล"]
OPEN_STATUSES = {"": 25, "รับเรื่อง": 20, "อยู่ระหว่างดำเนินการ": 40, "ส่งต่อ": 15}
REJECTED_SHARE = 0.02
DISTRICT_SKEW = 0.6  # weight of the district ranked r is r ** -skew: a few busy, a long tail


@dataclass(frozen=True)
class Register:
    """A generated register: CSV chunks (each with the header) and what they add up to."""

    chunks: list[bytes]
    rows: int
    open: int
    busiest: str
    by_district: Counter[str] = field(default_factory=Counter)
    open_by_district: Counter[str] = field(default_factory=Counter)
    first_day: dt.date = dt.date.min


def district_codes() -> list[str]:
    return [d.code for p in geothai.provinces() for d in geothai.districts(p.code)]


def _be(day: dt.date, rng: random.Random) -> str:
    """A date as registers write it: mostly d/m/BE year, some ISO."""
    if rng.random() < 0.85:
        return f"{day.day}/{day.month}/{day.year + 543}"
    return day.isoformat()


def _close_after(age: int, rng: random.Random) -> int | None:
    """Days from receipt to closure for a case ``age`` days old, or None if still open:
    most cases close within weeks, so the older a case, the likelier it is closed."""
    days = int(rng.expovariate(1 / 25))
    if days > age:
        return None
    if age > 60 and rng.random() < 0.08:  # some cases linger for months
        return None
    return days


def make_register(
    rows: int,
    *,
    today: dt.date,
    busiest: str = "5001",
    chunk_rows: int = 40_000,
    seed: int = 2570,
) -> Register:
    """``rows`` distinct, valid register rows (received from the first day of fiscal year
    ``fy(today) - 2`` to ``today``) in chunks of ``chunk_rows``; district ``busiest`` is the
    district with the most cases."""
    rng = random.Random(seed)
    codes = district_codes()
    if busiest not in codes:
        raise ValueError(f"unknown district {busiest}")
    rng.shuffle(codes)
    codes.remove(busiest)
    codes.insert(0, busiest)
    weights = [(rank + 1) ** -DISTRICT_SKEW for rank in range(len(codes))]
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    first = fiscal_year_bounds(fiscal_year(noon) - 2)[0].astimezone(BANGKOK).date()
    span = (today - first).days
    channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    categories, category_w = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    reasons = [labels[0] for labels in CLOSURE_REASON_LABELS.values()]
    statuses, status_w = list(OPEN_STATUSES), list(OPEN_STATUSES.values())

    by_district: Counter[str] = Counter()
    open_by_district: Counter[str] = Counter()
    chunks: list[bytes] = []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i in range(rows):
        if i % chunk_rows == 0:
            if i:
                chunks.append(out.getvalue().encode("utf-8-sig"))
                out.seek(0)
                out.truncate()
            writer.writerow(HEADER)
        district = rng.choices(codes, weights)[0]
        channel = rng.choices(channels, channel_w)[0]
        category = rng.choices(categories, category_w)[0]
        age = rng.randint(0, span)
        received = today - dt.timedelta(days=age)
        named = rng.random() < 1 / 3
        status = status_at = closed_at = closure = reason = agency = due = ""
        after = _close_after(age, rng)
        if rng.random() < REJECTED_SHARE:
            status, reason = "ไม่รับเรื่อง", "ไม่อยู่ในอำนาจหน้าที่"
            status_at = _be(received + dt.timedelta(days=min(age, rng.randint(0, 5))), rng)
        elif after is not None:
            status = "ยุติเรื่อง"
            closed_at = _be(received + dt.timedelta(days=after), rng)
            closure = rng.choice(reasons)
        else:
            status = rng.choices(statuses, status_w)[0]
            moved = received + dt.timedelta(days=min(age, rng.randint(0, 10)))
            if status:
                status_at = _be(moved, rng)
            if status == "ส่งต่อ":
                agency = rng.choice(AGENCIES)
                due = _be(moved + dt.timedelta(days=rng.randint(15, 60)), rng)
            open_by_district[district] += 1
        by_district[district] += 1
        letter = f"ที่ มท {district}/{i:07d}" if channel is ChannelCode.letter else ""
        writer.writerow(
            [
                letter,
                _be(received, rng),
                CHANNEL_LABELS[channel][0] if rng.random() < 0.7 else channel.value,
                district,
                CATEGORY_LABELS[category][0] if rng.random() < 0.7 else category.value,
                f"{rng.choice(SUBJECTS)} #{i}",
                rng.choice(DETAILS),
                f"{rng.choice(['นาย', 'นาง', 'นางสาว'])}{rng.choice(FIRST)} {rng.choice(LAST)}"
                if named
                else "",
                _national_id(rng) if named else "",
                _phone(rng) if named and rng.random() < 0.8 else "",
                "ไม่ใช่" if named else "ใช่",
                status,
                status_at,
                closed_at,
                closure,
                reason,
                agency,
                due,
            ]
        )
    if rows:
        chunks.append(out.getvalue().encode("utf-8-sig"))
    return Register(
        chunks,
        rows,
        sum(open_by_district.values()),
        busiest,
        by_district,
        open_by_district,
        first,
    )


async def load(intake_url: str, headers: dict[str, str], register: Register) -> float:
    """Post every chunk to intake's import; seconds taken.  Any rejected row is an error
    here: the bench must hold exactly the cases it counted."""
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=intake_url, headers=headers, timeout=900) as client:
        for n, chunk in enumerate(register.chunks):
            r = await client.post(
                "/v1/imports",
                params={"wait": "true"},
                files={"file": (f"register-{n}.csv", chunk, "text/csv")},
            )
            r.raise_for_status()
            body = r.json()
            if body["rejected"] or body["duplicates"]:
                raise RuntimeError(
                    f"chunk {n}: {len(body['rejected'])} rejected, {body['duplicates']} "
                    f"duplicates; first: {body['rejected'][:3] or body['duplicate_rows'][:3]}"
                )
    return time.perf_counter() - t0


async def wait_caught_up(
    urls: dict[str, str], headers: dict[str, str], register: Register, timeout: float = 3600
) -> float:
    """Seconds until kpi counts every case and status and kpi both count every open case
    (polled twice a second); TimeoutError with what they showed after ``timeout``."""
    t0 = time.perf_counter()
    seen: dict[str, int] = {}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        while True:
            progress = await client.get(f"{urls['kpi']}/v1/kpi/progress")
            backlog = await client.get(f"{urls['kpi']}/v1/kpi/backlog")
            worklist = await client.get(
                f"{urls['status']}/v1/worklists/backlog", params={"limit": 1}
            )
            for r in (progress, backlog, worklist):
                r.raise_for_status()
            seen = {
                "kpi cases": progress.json()["cases"],
                "kpi open": backlog.json()["open"],
                "status open": worklist.json()["total"],
            }
            if seen == {
                "kpi cases": register.rows,
                "kpi open": register.open,
                "status open": register.open,
            }:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(
                    f"after {timeout:.0f} s: {seen}; expected {register.rows} cases, "
                    f"{register.open} open"
                )
            await asyncio.sleep(0.5)
