"""KPI arithmetic beyond the per-case fold: SLA, quantiles, aging, fair ranking, the
monthly report.  Pure: the store counts, these functions decide what the counts mean.

Conventions (as ``domain``): rates are 4 decimals, days 2 decimals, half-up; a rate with
nothing to divide by is ``None``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.kpi.domain.cases import closure_rate, round_half_up

# Aging buckets of the open backlog by whole days since receipt (Bangkok calendar days):
# an age falls in bucket i when AGE_EDGES[i-1] <= age < AGE_EDGES[i] (PostgreSQL's
# width_bucket with these thresholds gives the same index).
AGE_EDGES: tuple[int, ...] = (16, 31, 61, 91)
AGE_BUCKETS: tuple[str, ...] = ("0-15", "16-30", "31-60", "61-90", ">90")
SILENT_AFTER_DAYS = 14
WILSON_Z = 1.959964  # 95 % two-sided


def rate(part: int, whole: int) -> float | None:
    """part / whole, 4 decimals half-up; ``None`` when ``whole`` is 0."""
    return closure_rate(part, whole)


def days(value: float | None) -> float | None:
    """A number of days as reported (a median, a p90): 2 decimals half-up, None stays None."""
    return None if value is None else round_half_up(value, 2)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile by linear interpolation, PostgreSQL's ``percentile_cont(q)``."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    return _between(ordered[lo], ordered[min(lo + 1, len(ordered) - 1)], pos)


def _between(low: float, high: float, pos: float) -> float:
    """The value at fractional rank ``pos`` between the order statistics at its floor
    (``low``) and ceiling (``high``), interpolated as ``percentile_cont`` does."""
    return low + (high - low) * (pos - math.floor(pos))


def age_bucket(age_days: int) -> int:
    """Index into ``AGE_BUCKETS`` of an age in whole days."""
    return sum(1 for edge in AGE_EDGES if age_days >= edge)


def wilson_lower(successes: int, trials: int, z: float = WILSON_Z) -> float | None:
    """Lower bound of the Wilson score interval of a proportion, 4 decimals.

    Ranks by what the counts can vouch for: 3 of 3 closed gives 0.4385, 2,900 of 3,000
    gives 0.9596, so the big district ranks first.
    """
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return round_half_up(max(0.0, (centre - margin) / (1 + z2 / trials)), 4)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Days allowed to close a case, per category (``default_days`` for the others)."""

    default_days: int = 30
    by_category: Mapping[str, int] = field(default_factory=dict)

    def days_for(self, category: str) -> int:
        return self.by_category.get(category, self.default_days)


# --- the summary ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """Counts of one group of cases (all of them, or one channel, or one category), with
    the raw median and p90 of days to close over its closed cases."""

    dimension: str  # "all" | "channel" | "category"
    key: str
    received: int
    closed: int
    within_sla: int
    median: float | None
    p90: float | None


def figures(g: Group) -> dict[str, object]:
    """A group's reported figures: counts beside the rates they make."""
    return {
        "received": g.received,
        "closed": g.closed,
        "open": g.received - g.closed,
        "closure_rate": rate(g.closed, g.received),
        "closed_within_sla": g.within_sla,
        "sla_rate": rate(g.within_sla, g.closed),
        "median_days_to_close": days(g.median),
        "p90_days_to_close": days(g.p90),
    }


@dataclass(frozen=True, slots=True)
class Cell:
    """The cases of one (channel, category): how many, and the days to close of the
    closed ones, in no order."""

    channel: str
    category: str
    received: int
    days: Sequence[float]


QUANTILES = (0.5, 0.9)


def _quantiles(days: pa.Array) -> list[float | None]:
    """``quantile(days, q)`` for each of ``QUANTILES``, without sorting ``days``: Arrow
    selects the two order statistics around each position (``lower``/``higher`` at
    q·(n−1)), and they are interpolated here as ``percentile_cont`` does."""
    n = len(days)
    if n == 0:
        return [None for _ in QUANTILES]
    qs = list(QUANTILES)
    lows = pc.quantile(days, q=qs, interpolation="lower").to_pylist()
    highs = pc.quantile(days, q=qs, interpolation="higher").to_pylist()
    return [_between(lo, hi, q * (n - 1)) for q, lo, hi in zip(qs, lows, highs, strict=True)]


def summary_groups(cells: Iterable[Cell], sla: SlaPolicy) -> list[Group]:
    """All cases, each channel and each category, from the (channel, category) cells.

    Counts add up; the median and p90 of a group are taken over the days of all its
    cells at once (they do not add up), by selection in Arrow: sorting 160,000 closures
    of a national year once per grouping was most of a national summary."""
    # Per cell: the cell, its days as an Arrow array, how many within the SLA.
    parts = []
    for c in cells:
        days = pa.array(c.days, pa.float64())
        limit = float(sla.days_for(c.category))
        parts.append((c, days, pc.sum(pc.less_equal(days, limit), min_count=0).as_py()))

    def group(dimension: str, key: str, members: list[tuple[Cell, pa.Array, int]]) -> Group:
        days = pa.concat_arrays([d for _c, d, _w in members] or [pa.array([], pa.float64())])
        median, p90 = _quantiles(days)
        received = sum(c.received for c, _d, _w in members)
        return Group(dimension, key, received, len(days), sum(w for *_, w in members), median, p90)

    out = [group("all", "", parts)]
    for dimension in ("channel", "category"):
        keys = sorted({getattr(c, dimension) for c, _d, _w in parts})
        out.extend(
            group(dimension, key, [m for m in parts if getattr(m[0], dimension) == key])
            for key in keys
        )
    return out


def _counts(g: Group) -> dict[str, int]:
    return {"received": g.received, "closed": g.closed, "open": g.received - g.closed}


def summary(head: Mapping[str, object], groups: Iterable[Group]) -> dict[str, object]:
    """The summary document: ``head`` (the question), the figures of all cases, and
    received/closed/open by channel and by category."""
    groups = list(groups)
    total = next((g for g in groups if g.dimension == "all"), Group("all", "", 0, 0, 0, None, None))
    return {
        **head,
        **figures(total),
        "by_channel": {
            g.key: _counts(g)
            for g in sorted((g for g in groups if g.dimension == "channel"), key=lambda g: g.key)
        },
        "by_category": {
            g.key: _counts(g)
            for g in sorted((g for g in groups if g.dimension == "category"), key=lambda g: g.key)
        },
    }


# --- the monthly report -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthMoves:
    """What happened in one month: cases received, closures, reopenings."""

    received: int = 0
    closed: int = 0
    reopened: int = 0

    @classmethod
    def of_segments(
        cls, first: int, closed: int, open_later: int, closed_ending: int
    ) -> MonthMoves:
        """The month's moves from four counts of the segments known at one time: those
        starting in it (a case's first ones, the closed ones, the open ones that are not
        first) and the closed ones ending in it.

        A case's segments known at one time tile effective time from its receipt, and
        neighbours differ (equal ones are merged, ``timeline.segments``).  So an open
        segment that is not first follows a closed one (a reopening), and a closed
        segment that ends is followed by an open one (that reopening) or by a closed one
        with another closing time (closed again, which is no closure).  The closures are
        the closed segments starting in the month less those closed again."""
        closed_again = closed_ending - open_later
        return cls(first, closed - closed_again, open_later)


def monthly(
    months: Sequence[dt.date], carried_in: int, moves: Mapping[dt.date, MonthMoves]
) -> list[dict[str, object]]:
    """The monthly report rows: each month starts with what the previous one left open.

    remaining = carried_in + received − closed + reopened, which is the backlog at the
    end of the month; cumulative totals run from the first month listed.
    """
    rows: list[dict[str, object]] = []
    cum_received = cum_closed = 0
    for month in months:
        m = moves.get(month, MonthMoves())
        remaining = carried_in + m.received - m.closed + m.reopened
        cum_received += m.received
        cum_closed += m.closed
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "carried_in": carried_in,
                "received": m.received,
                "closed": m.closed,
                "reopened": m.reopened,
                "remaining": remaining,
                "cumulative_received": cum_received,
                "cumulative_closed": cum_closed,
            }
        )
        carried_in = remaining
    return rows


# --- the national table of districts --------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistrictCounts:
    province_code: str
    district_code: str
    received: int  # of the fiscal year asked about
    closed: int  # of those
    backlog: int  # open cases of any fiscal year


def rank_districts(rows: Iterable[DistrictCounts]) -> list[dict[str, object]]:
    """Every district with its counts, rates and two ranks (1 = first), sorted by district.

    ``rank_backlog``: largest backlog first (ties: district code).  ``rank_closure``: by the
    Wilson lower bound of the closure rate, then the rate, then more cases received, then
    district code; a district that received nothing ranks last.
    """
    table: list[dict[str, Any]] = [
        {
            "province_code": r.province_code,
            "district_code": r.district_code,
            "received": r.received,
            "closed": r.closed,
            "open": r.received - r.closed,
            "closure_rate": rate(r.closed, r.received),
            "closure_rate_lower_bound": wilson_lower(r.closed, r.received),
            "backlog": r.backlog,
        }
        for r in rows
    ]

    def backlog_key(d: dict[str, Any]) -> tuple[Any, ...]:
        return -d["backlog"], d["district_code"]

    def closure_key(d: dict[str, Any]) -> tuple[Any, ...]:
        lb, cr = d["closure_rate_lower_bound"], d["closure_rate"]
        return lb is None, -(lb or 0.0), -(cr or 0.0), -d["received"], d["district_code"]

    for i, d in enumerate(sorted(table, key=backlog_key), 1):
        d["rank_backlog"] = i

    for i, d in enumerate(sorted(table, key=closure_key), 1):
        d["rank_closure"] = i
    return sorted(table, key=lambda d: str(d["district_code"]))


# --- recording ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistrictRecords:
    province_code: str
    district_code: str
    last_recorded: dt.date  # Bangkok date of its latest recorded filing
    weeks_with_records: int


def continuity(
    rows: Iterable[DistrictRecords], ref: dt.date, weeks_elapsed: int
) -> list[dict[str, object]]:
    """Per district: days since the last record, weeks of the year with a record, and
    whether it has been silent for more than ``SILENT_AFTER_DAYS`` days."""
    out = []
    for r in sorted(rows, key=lambda r: r.district_code):
        since = (ref - r.last_recorded).days
        out.append(
            {
                "province_code": r.province_code,
                "district_code": r.district_code,
                "last_record_date": r.last_recorded.isoformat(),
                "days_since_last_record": since,
                "weeks_with_records": r.weeks_with_records,
                "weeks_elapsed": weeks_elapsed,
                "silent": since > SILENT_AFTER_DAYS,
            }
        )
    return out
