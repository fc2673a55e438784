"""Dates as Thai offices write them: Buddhist Era years, Bangkok time, Thai month names."""

from __future__ import annotations

import datetime as dt

from shared.thai_calendar import BANGKOK, BE_OFFSET, fiscal_year

MONTHS_TH = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
MONTHS_TH_FULL = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
MONTHS_EN = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def _local(value: dt.datetime | dt.date) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=BANGKOK)
        return value.astimezone(BANGKOK)
    return value


def be_date(value: dt.datetime | dt.date | None, lang: str = "th") -> str:
    """``4 ธ.ค. 2569`` (Thai) or ``4 Dec 2569 BE`` (English): the year is always BE."""
    if value is None:
        return "–"
    local = _local(value)
    year = local.year + BE_OFFSET
    if lang == "en":
        return f"{local.day} {MONTHS_EN[local.month - 1]} {year} BE"
    return f"{local.day} {MONTHS_TH[local.month - 1]} {year}"


def be_datetime(value: dt.datetime | None, lang: str = "th") -> str:
    """``4 ธ.ค. 2569 14:05 น.``: Bangkok time to the minute."""
    if value is None:
        return "–"
    local = _local(value)
    assert isinstance(local, dt.datetime)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    return f"{be_date(local, lang)} {clock}" + (" น." if lang == "th" else "")


def be_month(year_ce: int, month: int, lang: str = "th") -> str:
    """A calendar month with its BE year: ``ต.ค. 2568``."""
    names = MONTHS_EN if lang == "en" else MONTHS_TH
    return f"{names[month - 1]} {year_ce + BE_OFFSET}"


def current_fiscal_year(now: dt.datetime) -> int:
    return fiscal_year(now)


def parse_date(text: str | None) -> dt.date | None:
    """A date typed or picked in a form: ISO ``2026-12-04`` (the date input's value) or
    Thai ``4/12/2569`` (day/month/BE year); None for empty; ValueError otherwise."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if "/" in text:
        day, month, year = (int(p) for p in text.split("/"))
        if year > 2400:
            year -= BE_OFFSET
        return dt.date(year, month, day)
    return dt.date.fromisoformat(text)
