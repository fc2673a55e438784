"""The KPI use cases: ask ``queries`` for counts, let ``metrics`` turn them into figures.

Each returns a ``Report``: the JSON document and the same figures as one flat table
(the ``?format=csv`` answer), with its columns named even when it has no rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.kpi.domain import asof, metrics
from services.kpi.domain.asof import Scope
from services.kpi.reports import store as queries
from services.kpi.reports.answers import Snapshot
from shared.thai_calendar import fiscal_year_bounds

# What a report reads from: never a bare connection, since a report's independent
# statements are started together (``queries.together``).  A snapshot runs them side by
# side on its connections, a pool on connections of its own.
Db = asyncpg.Pool | Snapshot


@dataclass(frozen=True, slots=True)
class Report:
    doc: dict[str, Any]
    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _head(scope: Scope) -> dict[str, Any]:
    return {
        "fiscal_year": scope.fiscal_year,
        "province_code": scope.province_code,
        "district_code": scope.district_code,
        "channel": scope.channel,
        "category": scope.category,
        "as_of": scope.as_of,
        "known_at": scope.known_at,
    }


FIGURES = (
    "received",
    "closed",
    "open",
    "closure_rate",
    "closed_within_sla",
    "sla_rate",
    "median_days_to_close",
    "p90_days_to_close",
)


async def summary(db: Db, scope: Scope, sla: metrics.SlaPolicy) -> Report:
    """Received, closed, open, closure and SLA rates, median and p90 days to close."""
    groups = await queries.summary(db, scope, sla)
    order = {"all": 0, "channel": 1, "category": 2}
    rows = [
        {"dimension": g.dimension, "key": g.key, **metrics.figures(g)}
        for g in sorted(groups, key=lambda g: (order[g.dimension], g.key))
    ]
    if not rows:  # nothing matched: the totals row still says so
        rows = [
            {
                "dimension": "all",
                "key": "",
                **metrics.figures(metrics.Group("all", "", 0, 0, 0, None, None)),
            }
        ]
    return Report(metrics.summary(_head(scope), groups), ("dimension", "key", *FIGURES), rows)


async def backlog(db: Db, scope: Scope) -> Report:
    """Open cases at the end of ``as_of`` by fiscal year of origin."""
    counts = await queries.backlog(db, scope)
    rows = [{"origin_fiscal_year": fy, "open": n} for fy, n in sorted(counts.items())]
    doc = {**_head(scope), "open": sum(counts.values()), "by_fiscal_year": rows}
    return Report(doc, ("origin_fiscal_year", "open"), rows)


async def carry_over(db: Db, scope: Scope) -> Report:
    """Cases still open when fiscal year N began, received in N−2 and N−1, and how many of
    them were closed by its end (or by the end of ``as_of``, if earlier)."""
    year = scope.fiscal_year
    assert year is not None
    start, end = fiscal_year_bounds(year)
    origins = (year - 2, year - 1)
    until = asof.earlier(end, scope.cut)
    assert until is not None
    counts = await queries.carry_over(db, scope, origins, start, max(start, until))
    rows = []
    for fy in origins:
        opened, closed = counts.get(fy, (0, 0))
        rows.append(
            {
                "origin_fiscal_year": fy,
                "open_at_start": opened,
                "closed_during": closed,
                "still_open": opened - closed,
            }
        )
    doc = {
        **_head(scope),
        "rows": rows,
        "open_at_start": sum(r["open_at_start"] for r in rows),
        "closed_during": sum(r["closed_during"] for r in rows),
    }
    return Report(doc, ("origin_fiscal_year", "open_at_start", "closed_during", "still_open"), rows)


async def aging(db: Db, scope: Scope, now: dt.datetime) -> Report:
    """The open backlog at the end of ``as_of`` by age since receipt (calendar days to
    ``as_of``, or to today when there is none)."""
    ref = asof.reference_date(scope.as_of, now)
    counts = await queries.aging(db, scope, ref)
    rows = [
        {"bucket": name, "open": counts.get(i, 0)} for i, name in enumerate(metrics.AGE_BUCKETS)
    ]
    doc = {**_head(scope), "reference_date": ref, "open": sum(counts.values()), "buckets": rows}
    return Report(doc, ("bucket", "open"), rows)


async def recording(db: Db, scope: Scope, now: dt.datetime) -> Report:
    """Recording lag of the filings of ``scope``, and each district's continuity.

    Continuity looks at every filing of the area, whatever its fiscal year of origin (a
    backfilled old case recorded this week is a record of this week); ``fiscal_year``
    (default: that of the reference date) picks the year whose weeks are counted.
    """
    ref = asof.reference_date(scope.as_of, now)
    year = scope.fiscal_year or asof.fiscal_year_of_day(ref)
    (n, med, d1, d7), records = await queries.together(
        queries.recording_lag(db, scope),
        queries.continuity(db, scope, scope.cut, fiscal_year_bounds(year)),
    )
    rows = metrics.continuity(records, ref, asof.weeks_elapsed(year, ref))
    doc = {
        **_head(scope),
        "reference_date": ref,
        "filings": n,
        "median_lag_days": metrics.days(med),
        "within_1_day": d1,
        "share_within_1_day": metrics.rate(d1, n),
        "within_7_days": d7,
        "share_within_7_days": metrics.rate(d7, n),
        "continuity_fiscal_year": year,
        "districts": rows,
        "silent_districts": [r["district_code"] for r in rows if r["silent"]],
    }
    columns = (
        "province_code",
        "district_code",
        "last_record_date",
        "days_since_last_record",
        "weeks_with_records",
        "weeks_elapsed",
        "silent",
    )
    return Report(doc, columns, rows)


async def monthly(db: Db, scope: Scope) -> Report:
    """The supervisors' monthly report of fiscal year N, month by month up to ``as_of``."""
    year = scope.fiscal_year
    assert year is not None
    points = asof.month_starts(year)
    cut = scope.cut
    months = [asof.local_date(p) for p in points[:12] if cut is None or p < cut]
    rows: list[dict[str, Any]] = []
    if months:
        end = asof.earlier(points[12], cut)
        assert end is not None
        carried, moves = await queries.together(
            queries.open_at(db, scope, points[0]), queries.month_moves(db, scope, points[0], end)
        )
        rows = metrics.monthly(months, carried, moves)
    doc = {**_head(scope), "months": rows}
    columns = (
        "month",
        "carried_in",
        "received",
        "closed",
        "reopened",
        "remaining",
        "cumulative_received",
        "cumulative_closed",
    )
    return Report(doc, columns, rows)


async def districts(db: Db, scope: Scope) -> Report:
    """Every district with cases: FY N's received/closed and rate, backlog, and ranks."""
    rows = metrics.rank_districts(await queries.districts(db, scope))
    doc = {**_head(scope), "districts": rows}
    columns = (
        "province_code",
        "district_code",
        "received",
        "closed",
        "open",
        "closure_rate",
        "closure_rate_lower_bound",
        "backlog",
        "rank_backlog",
        "rank_closure",
    )
    return Report(doc, columns, rows)
