"""Realistic demo complaints: a pure, seeded generator (no I/O, time passed in).

Each plan is one complaint request plus the transitions that move it along, with
effective times spread after its received date.  Mixes follow what provincial
Damrongtham systems report: walk-ins and the 1567 hotline dominate, requests for help
and disputes lead the categories, and about three quarters of cases end closed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import geothai

from shared.codes import CategoryCode, ChannelCode, ClosureReason

CHANNEL_WEIGHTS: dict[ChannelCode, int] = {
    ChannelCode.walk_in: 34,
    ChannelCode.hotline_1567: 22,
    ChannelCode.letter: 9,
    ChannelCode.web: 7,
    ChannelCode.mobile_app: 3,
    ChannelCode.line: 7,
    ChannelCode.email: 2,
    ChannelCode.facebook: 2,
    ChannelCode.pm_office_1111: 5,
    ChannelCode.ombudsman: 1,
    ChannelCode.ministry_referral: 2,
    ChannelCode.provincial_centre: 3,
    ChannelCode.district_centre: 2,
    ChannelCode.central_centre: 1,
}
CATEGORY_WEIGHTS: dict[CategoryCode, int] = {
    CategoryCode.assistance_request: 30,
    CategoryCode.informal_debt: 6,
    CategoryCode.land: 10,
    CategoryCode.dispute_mediation: 14,
    CategoryCode.official_misconduct: 7,
    CategoryCode.drugs: 4,
    CategoryCode.gambling: 2,
    CategoryCode.debt_collection: 4,
    CategoryCode.public_utilities: 10,
    CategoryCode.environment: 5,
    CategoryCode.tip_off: 3,
    CategoryCode.suggestion: 2,
    CategoryCode.other: 3,
}
CLOSURE_WEIGHTS: dict[ClosureReason, int] = {
    ClosureReason.resolved: 55,
    ClosureReason.mediated: 15,
    ClosureReason.withdrawn: 6,
    ClosureReason.out_of_jurisdiction: 6,
    ClosureReason.duplicate: 3,
    ClosureReason.insufficient_information: 5,
    ClosureReason.referred_elsewhere: 10,
}
SUBJECTS: dict[CategoryCode, str] = {
    CategoryCode.assistance_request: "ขอความช่วยเหลือค่าครองชีพ",
    CategoryCode.informal_debt: "ถูกเรียกดอกเบี้ยเกินอัตรา",
    CategoryCode.land: "ข้อพิพาทแนวเขตที่ดิน",
    CategoryCode.dispute_mediation: "ขอให้ไกล่เกลี่ยข้อพิพาทเพื่อนบ้าน",
    CategoryCode.official_misconduct: "ร้องเรียนการปฏิบัติหน้าที่ของเจ้าหน้าที่",
    CategoryCode.drugs: "แจ้งเบาะแสการค้ายาเสพติด",
    CategoryCode.gambling: "แจ้งบ่อนการพนันในหมู่บ้าน",
    CategoryCode.debt_collection: "ถูกทวงหนี้ไม่เป็นธรรม",
    CategoryCode.public_utilities: "ไฟฟ้าส่องสว่างถนนชำรุด",
    CategoryCode.environment: "กลิ่นเหม็นจากโรงงาน",
    CategoryCode.tip_off: "แจ้งเบาะแสการกระทำผิด",
    CategoryCode.suggestion: "ข้อเสนอแนะการให้บริการ",
    CategoryCode.other: "เรื่องอื่น ๆ",
}
AGENCIES = (
    "องค์การบริหารส่วนตำบล",
    "สถานีตำรวจภูธร",
    "สำนักงานที่ดินจังหวัด",
    "การไฟฟ้าส่วนภูมิภาค",
    "สำนักงานสาธารณสุขจังหวัด",
    "สำนักงานทรัพยากรธรรมชาติจังหวัด",
)
FIRST_NAMES = ("สมชาย", "สมหญิง", "วิชัย", "มาลี", "ประเสริฐ", "สุดา", "อนันต์", "พรทิพย์")
LAST_NAMES = ("ใจดี", "รักไทย", "ทองคำ", "ศรีสุข", "บุญมา", "แก้วมณี", "สุขสวัสดิ์")
BKK = dt.timezone(dt.timedelta(hours=7))
DEMO_START = dt.datetime(2024, 10, 1, tzinfo=BKK)  # first day of fiscal year 2568


@dataclass(frozen=True)
class Step:
    action: str
    at: dt.datetime
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    request: dict[str, Any]
    steps: tuple[Step, ...]


def all_districts() -> list[str]:
    return [d.code for p in geothai.provinces() for d in geothai.districts(p.code)]


def national_id(rng: random.Random) -> str:
    """A random 13-digit number with a valid check digit (first digit 1–8)."""
    digits = [rng.randint(1, 8)] + [rng.randint(0, 9) for _ in range(11)]
    check = (11 - sum(d * (13 - i) for i, d in enumerate(digits)) % 11) % 10
    return "".join(map(str, digits)) + str(check)


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _complainant(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.25:
        return {"anonymous": True}
    return {
        "anonymous": False,
        "title": rng.choice(("นาย", "นาง", "นางสาว")),
        "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "national_id": national_id(rng),
        "phone": "08" + "".join(str(rng.randint(0, 9)) for _ in range(8)),
    }


def _lifecycle(rng: random.Random, received: dt.datetime, now: dt.datetime) -> list[Step]:
    """Steps with effective times after ``received`` and never after ``now``."""
    steps: list[Step] = []
    t = received
    closing = rng.random() < 0.78
    stages = 4 if closing else rng.randint(0, 3)

    def later(days_lo: float, days_hi: float) -> dt.datetime | None:
        nonlocal t
        nxt = t + dt.timedelta(days=rng.uniform(days_lo, days_hi))
        if nxt >= now:
            return None
        t = nxt
        return t

    if stages >= 1 and (at := later(0.05, 3)):
        steps.append(Step("accept", at))
    else:
        return steps
    if stages >= 2 and (at := later(0.1, 5)):
        steps.append(Step("start", at))
    else:
        return steps
    if stages >= 3 and rng.random() < 0.45 and (at := later(1, 10)):
        due = (at + dt.timedelta(days=rng.choice((7, 15, 30)))).date()
        steps.append(
            Step("forward", at, {"agency": rng.choice(AGENCIES), "due_date": due.isoformat()})
        )
        if at := later(3, 35):
            steps.append(Step("start", at, {"note": "หน่วยงานแจ้งผลการดำเนินการ"}))
        else:
            return steps
    if closing and (at := later(1, 45)):
        steps.append(Step("close", at, {"reason": _pick(rng, CLOSURE_WEIGHTS).value}))
    return steps


def plans(n: int, now: dt.datetime, seed: int = 2569) -> list[Plan]:
    """``n`` complaints covering every district (once n ≥ 928), received since FY 2568."""
    rng = random.Random(seed)
    districts = all_districts()
    rng.shuffle(districts)
    span = (now - DEMO_START).total_seconds()
    out: list[Plan] = []
    for i in range(n):
        district = districts[i % len(districts)]
        category = _pick(rng, CATEGORY_WEIGHTS)
        received = DEMO_START + dt.timedelta(seconds=rng.uniform(0, span * 0.995))
        request = {
            "channel": _pick(rng, CHANNEL_WEIGHTS).value,
            "district_code": district,
            "category": category.value,
            "subject": SUBJECTS[category],
            "description": "รายละเอียดเรื่องร้องเรียน (ข้อมูลตัวอย่าง)",
            "received_at": received.isoformat(),
            "complainant": _complainant(rng),
        }
        out.append(Plan(request, tuple(_lifecycle(rng, received, now))))
    return out
