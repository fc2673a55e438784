"""The two time axes of a KPI question, and the calendar arithmetic around them: pure.

``as_of=D`` asks for the world at the end of day D in Bangkok: every event whose
effective time is before the *cut*, midnight at the start of D+1 (Bangkok), counts.  No
``as_of`` means no cut: after every event (the live projection's view).  ``known_at=T``
ignores every event recorded after T; none means everything recorded so far.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from shared.thai_calendar import BANGKOK, fiscal_year, fiscal_year_bounds

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which cases, and on which time axes: the filters every KPI endpoint takes."""

    fiscal_year: int | None = None
    province_code: str | None = None
    district_code: str | None = None
    channel: str | None = None
    category: str | None = None
    as_of: dt.date | None = None
    known_at: dt.datetime | None = None

    @property
    def cut(self) -> dt.datetime | None:
        return None if self.as_of is None else end_of_day(self.as_of)


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant (UTC) that ends ``day`` in Bangkok: midnight at the start of the next."""
    nxt = day + dt.timedelta(days=1)
    return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=BANGKOK).astimezone(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The Bangkok calendar date of an aware ``moment``."""
    return moment.astimezone(BANGKOK).date()


def reference_date(as_of: dt.date | None, now: dt.datetime) -> dt.date:
    """The day ages and silences are counted to: ``as_of``, else today in Bangkok."""
    return as_of if as_of is not None else local_date(now)


def earlier(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    """The earlier of two cuts, ``None`` being the end of time."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def month_starts(year: int) -> list[dt.datetime]:
    """The 13 instants (UTC) bounding the months of fiscal year ``year``: 1 Oct .. 1 Oct."""
    start, end = fiscal_year_bounds(year)
    return [*month_edges(start, end), end]


def month_edges(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The instants (UTC) starting the Bangkok months that [start, end) reaches, from the
    month holding ``start``: PostgreSQL's ``width_bucket`` over them tells an instant's
    month (bucket ``i`` is the month starting at the ``i``-th)."""
    local = start.astimezone(BANGKOK)
    y, m = local.year, local.month
    out: list[dt.datetime] = []
    month = dt.datetime(y, m, 1, tzinfo=BANGKOK).astimezone(dt.UTC)
    while month < end or not out:
        out.append(month)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        month = dt.datetime(y, m, 1, tzinfo=BANGKOK).astimezone(dt.UTC)
    return out


def week_edges(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The instants starting the weeks counted from ``start`` that [start, end) reaches
    (the last one may be short): PostgreSQL's ``width_bucket`` over them tells an
    instant's week, as ``month_edges`` its month."""
    return [start + k * WEEK for k in range(max(1, math.ceil((end - start) / WEEK)))]


def weeks_elapsed(year: int, ref: dt.date) -> int:
    """How many weeks of fiscal year ``year`` (counted from 1 October, 53 at most, the
    last one short) have begun by the end of ``ref``."""
    start = local_date(fiscal_year_bounds(year)[0])
    days = (ref - start).days + 1
    return max(0, min(53, math.ceil(days / 7)))


def fiscal_year_of_day(day: dt.date) -> int:
    """The fiscal year a Bangkok calendar day belongs to."""
    return fiscal_year(dt.datetime(day.year, day.month, day.day, tzinfo=BANGKOK))
