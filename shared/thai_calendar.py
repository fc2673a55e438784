"""Thai time and the Thai fiscal year (ปีงบประมาณ): pure, standard library only.

Fiscal year N (Buddhist Era) runs 1 October N−544 CE to 30 September N−543 CE, judged in
Asia/Bangkok: FY 2569 = 2025-10-01 .. 2026-09-30.
"""

from __future__ import annotations

import datetime as dt

# Thailand keeps no daylight saving time, so a fixed offset is exact and needs no tz database.
BANGKOK = dt.timezone(dt.timedelta(hours=7), "Asia/Bangkok")
BE_OFFSET = 543


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` with a zone: a naive time is Bangkok time, which is what a Thai officer
    or register means by a time without one; an aware time is returned as it is."""
    return moment.replace(tzinfo=BANGKOK) if moment.tzinfo is None else moment


def fiscal_year(moment: dt.datetime) -> int:
    """The fiscal year (BE) of an aware ``moment``; ValueError for a naive one."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("fiscal_year needs an aware datetime")
    local = moment.astimezone(BANGKOK)
    return local.year + BE_OFFSET + (1 if local.month >= 10 else 0)


def fiscal_year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of fiscal year ``year`` (BE) as aware UTC datetimes."""
    start = dt.datetime(year - BE_OFFSET - 1, 10, 1, tzinfo=BANGKOK)
    end = dt.datetime(year - BE_OFFSET, 10, 1, tzinfo=BANGKOK)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
