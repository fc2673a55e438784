"""The supervisors' dashboard: its filters (all in the URL), and kpi's answers as rows.

``parse_filters`` reads the GET form (fiscal year in BE, an as-of date, area, channel,
category) into ``Filters`` plus field errors as message keys; ``Filters.params`` is what
the kpi API takes, and ``Filters.query`` the same filters for a link (exports, the PDF).
The rest turns kpi documents into the rows a page, a download and the PDF share (the
satisfaction report: its 1..5 distribution as bars and its per-district rows).
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from services.console.domain.dates import parse_date
from shared.codes import CategoryCode, ChannelCode
from shared.thai_calendar import BANGKOK, fiscal_year

MIN_YEAR, MAX_YEAR = 2500, 2700
PROVINCE = re.compile(r"^\d{2}$")
DISTRICT = re.compile(r"^\d{4}$")
TILES = (
    "received",
    "closed",
    "open",
    "closure_rate",
    "closed_within_sla",
    "median_days_to_close",
)
MONTH_SERIES = ("carried_in", "received", "closed", "remaining")


@dataclass(frozen=True, slots=True)
class Filters:
    fiscal_year: int
    as_of: dt.date | None = None
    province_code: str | None = None
    district_code: str | None = None
    channel: str | None = None
    category: str | None = None

    def params(self) -> dict[str, Any]:
        """The kpi API's query parameters for these filters."""
        return {
            "fiscal_year": self.fiscal_year,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "province_code": self.province_code,
            "district_code": self.district_code,
            "channel": self.channel,
            "category": self.category,
        }

    def query(self, **extra: Any) -> str:
        """The console's query string for the same filters (plus ``extra``)."""
        pairs = {
            "fiscal_year": self.fiscal_year,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "province": self.province_code,
            "district": self.district_code,
            "channel": self.channel,
            "category": self.category,
            **extra,
        }
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def sensible(day: dt.date | None) -> dt.date | None:
    """``day`` when within the fiscal years a report can ask for; ValueError otherwise (a
    typo such as year 1 is named, not sent on)."""
    if day is not None and not MIN_YEAR - 544 <= day.year <= MAX_YEAR - 543:
        raise ValueError("date out of range")
    return day


def _text(query: Mapping[str, str], name: str) -> str | None:
    value = (query.get(name) or "").strip()
    return value or None


def parse_filters(query: Mapping[str, str], now: dt.datetime) -> tuple[Filters, dict[str, str]]:
    """The filters asked for, and ``{field: message key}`` for each one that is not valid
    (that filter is then left out, so the page still answers).  Without ``fiscal_year``
    the current one, without ``as_of`` today (Bangkok)."""
    errors: dict[str, str] = {}
    year = fiscal_year(now)
    raw_year = _text(query, "fiscal_year")
    if raw_year is not None:
        if raw_year.isdigit() and MIN_YEAR <= int(raw_year) <= MAX_YEAR:
            year = int(raw_year)
        else:
            errors["fiscal_year"] = "dashboard.error.fiscal_year"
    # As of today (Bangkok) unless asked: the form shows the date the figures are for, and
    # the months of the year still to come are not listed as if they had passed.
    today = now.astimezone(BANGKOK).date()
    filters = Filters(year, today)
    try:
        filters = replace(filters, as_of=sensible(parse_date(_text(query, "as_of"))) or today)
    except ValueError:
        errors["as_of"] = "dashboard.error.as_of"
    province = _text(query, "province")
    if province is not None:
        if PROVINCE.match(province):
            filters = replace(filters, province_code=province)
        else:
            errors["province"] = "dashboard.error.province"
    district = _text(query, "district")
    if district is not None:
        if DISTRICT.match(district):
            filters = replace(filters, district_code=district)
        else:
            errors["district"] = "dashboard.error.district"
    channel = _text(query, "channel")
    if channel is not None:
        if channel in ChannelCode.__members__:
            filters = replace(filters, channel=channel)
        else:
            errors["channel"] = "dashboard.error.channel"
    category = _text(query, "category")
    if category is not None:
        if category in CategoryCode.__members__:
            filters = replace(filters, category=category)
        else:
            errors["category"] = "dashboard.error.category"
    return filters, errors


@dataclass(frozen=True, slots=True)
class Month:
    year_ce: int
    month: int
    carried_in: int
    received: int
    closed: int
    reopened: int
    remaining: int


def months(monthly: Mapping[str, Any]) -> list[Month]:
    """kpi's monthly rows (``month`` as ``YYYY-MM``) with their year and month apart."""
    out: list[Month] = []
    for row in monthly.get("months") or []:
        year, month = (int(p) for p in str(row["month"]).split("-"))
        out.append(
            Month(
                year,
                month,
                int(row["carried_in"]),
                int(row["received"]),
                int(row["closed"]),
                int(row["reopened"]),
                int(row["remaining"]),
            )
        )
    return out


def series(rows: Sequence[Month]) -> list[list[int]]:
    """The chart's series, in ``MONTH_SERIES`` order."""
    return [[int(getattr(m, name)) for m in rows] for name in MONTH_SERIES]


@dataclass(frozen=True, slots=True)
class Silence:
    province_code: str
    district_code: str
    last_record_date: dt.date
    days_since_last_record: int
    weeks_with_records: int
    weeks_elapsed: int
    silent: bool


def continuity(recording: Mapping[str, Any], limit: int | None = None) -> list[Silence]:
    """Each district's recording continuity, the silent ones first (longest silence first);
    only the first ``limit`` when given (picked before any is read in full)."""
    docs = recording.get("districts") or []

    def order(d: Mapping[str, Any]) -> tuple[bool, int, str]:
        return not d["silent"], -int(d["days_since_last_record"]), str(d["district_code"])

    first = (
        heapq.nsmallest(limit, docs, key=order) if limit is not None else sorted(docs, key=order)
    )
    return [
        Silence(
            str(d["province_code"]),
            str(d["district_code"]),
            dt.date.fromisoformat(str(d["last_record_date"])),
            int(d["days_since_last_record"]),
            int(d["weeks_with_records"]),
            int(d["weeks_elapsed"]),
            bool(d["silent"]),
        )
        for d in first
    ]


def with_dates(doc: Mapping[str, Any], *fields: str) -> dict[str, Any]:
    """``doc`` with its ISO date ``fields`` read as dates (for the date filters)."""
    out = dict(doc)
    for name in fields:
        if out.get(name):
            out[name] = dt.date.fromisoformat(str(out[name])[:10])
    return out


# The satisfaction report's columns (kpi ``/v1/kpi/satisfaction``), counts beside rates.
SATISFACTION_COLUMNS = (
    "closures",
    "rated",
    "response_rate",
    "mean_score",
    "score_1",
    "score_2",
    "score_3",
    "score_4",
    "score_5",
    "disputed",
    "disputed_rate",
    "reopened",
    "reopened_rate",
)
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Score:
    """One bar of the 1..5 distribution: how many closures were rated ``score``, their
    share of the ratings (None with no rating) and the bar's length out of ``BAR``."""

    score: int
    count: int
    share: float | None
    bar: int


BAR = 100


def distribution(row: Mapping[str, Any]) -> list[Score]:
    """The ratings 1..5 of a satisfaction row (the total or a district's)."""
    counts = [int(row.get(f"score_{s}") or 0) for s in SCORES]
    rated = sum(counts)
    return [
        Score(s, n, n / rated if rated else None, round(BAR * n / rated) if rated else 0)
        for s, n in zip(SCORES, counts, strict=True)
    ]


# The dashboard lists the districts that most need attention, not all of them: a national
# page of some 900 districts twice over is unreadable (and most of the page's cost).  The
# downloads carry every district; the province pages list each province's.
SHOWN_DISTRICTS = 25


def most_concerning(doc: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` districts of a satisfaction report with the most disputed and
    reopened closures (then by code), as ``satisfaction_rows``."""

    def order(d: Mapping[str, Any]) -> tuple[int, str]:
        concern = int(d.get("disputed") or 0) + int(d.get("reopened") or 0)
        return -concern, str(d.get("district_code"))

    first = heapq.nsmallest(limit, doc.get("districts") or [], key=order)
    return satisfaction_rows({"districts": first})


def satisfaction_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """kpi's per-district rows in its (DOPA code) order, each with its codes and only the
    report's columns."""
    return [
        {
            "province_code": str(d.get("province_code") or ""),
            "district_code": str(d.get("district_code") or ""),
            **{c: d.get(c) for c in SATISFACTION_COLUMNS},
        }
        for d in doc.get("districts") or []
    ]
