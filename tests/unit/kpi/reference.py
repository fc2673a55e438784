"""The KPI questions answered in memory from the pure history (``timeline``) and
``metrics``: what the SQL in ``queries`` computes, as a reference for both tiers."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Literal

from services.kpi.domain import asof, metrics, timeline
from services.kpi.domain import cases as domain
from services.kpi.domain.asof import Scope
from services.kpi.domain.timeline import Interval
from shared.events import Envelope


def history(cases: dict[str, list[Envelope]]) -> dict[str, list[Interval]]:
    """Each case's rectangles, from its events folded in version order."""
    out = {}
    for name, envs in cases.items():
        facts = [domain.Fact.of(e) for e in envs]
        case = domain.catch_up(None, facts)
        assert case is not None
        out[name] = timeline.intervals(
            case, [timeline.Step(f.version, f.kind, f.occurred_at, f.recorded_at) for f in facts]
        )
    return out


def states(
    hist: dict[str, list[Interval]],
    scope: Scope,
    *,
    cut: dt.datetime | Literal["scope"] | None = "scope",
    fiscal_year: bool = True,
) -> dict[str, Interval]:
    """Per case of ``scope``, the rectangle holding its state at the cut."""
    at = scope.cut if isinstance(cut, str) else cut
    out = {}
    for name, rows in hist.items():
        r = timeline.state_at(rows, at, scope.known_at)
        if r is None:
            continue
        if fiscal_year and scope.fiscal_year not in (None, r.fiscal_year):
            continue
        if not _in_area(r, scope):
            continue
        out[name] = r
    return out


def _days(r: Interval) -> float | None:
    return None if r.closed_at is None else domain.days_between(r.received_at, r.closed_at)


def summary(
    hist: dict[str, list[Interval]], scope: Scope, policy: metrics.SlaPolicy
) -> dict[str, object]:
    chosen = list(states(hist, scope).values())

    def group(dim: str, key: str, rows: list[Interval]) -> metrics.Group:
        d = [x for x in map(_days, rows) if x is not None]
        within = sum(
            1 for r in rows if (x := _days(r)) is not None and x <= policy.days_for(r.category)
        )
        return metrics.Group(
            dim, key, len(rows), len(d), within, metrics.quantile(d, 0.5), metrics.quantile(d, 0.9)
        )

    groups = [group("all", "", chosen)]
    for dim in ("channel", "category"):
        groups.extend(
            group(dim, key, [r for r in chosen if getattr(r, dim) == key])
            for key in sorted({getattr(r, dim) for r in chosen})
        )
    head = {
        "fiscal_year": scope.fiscal_year,
        "province_code": scope.province_code,
        "district_code": scope.district_code,
        "channel": scope.channel,
        "category": scope.category,
        "as_of": scope.as_of,
        "known_at": scope.known_at,
    }
    return metrics.summary(head, groups)


def open_count(hist: dict[str, list[Interval]], scope: Scope, cut: dt.datetime) -> int:
    return sum(
        1 for r in states(hist, scope, cut=cut, fiscal_year=False).values() if r.closed_at is None
    )


def snapshot_monthly(hist: dict[str, list[Interval]], scope: Scope) -> list[tuple[int, int]]:
    """(open at start, open at end) of each month of ``scope.fiscal_year``: what the
    monthly report's carried_in and remaining must be."""
    assert scope.fiscal_year is not None
    points = asof.month_starts(scope.fiscal_year)
    return [
        (open_count(hist, scope, a), open_count(hist, scope, b))
        for a, b in itertools.pairwise(points)
    ]


def districts(hist: dict[str, list[Interval]], scope: Scope) -> list[metrics.DistrictCounts]:
    """Per district with a case of the fiscal year or an open case at the cut: the
    year's received and closed, and the backlog of every year, sorted by district."""
    out: dict[tuple[str, str], list[int]] = {}
    for r in states(hist, scope, fiscal_year=False).values():
        mine = r.fiscal_year == scope.fiscal_year
        if not mine and r.closed_at is not None:
            continue
        counts = out.setdefault((r.province_code, r.district_code), [0, 0, 0])
        counts[0] += mine
        counts[1] += mine and r.closed_at is not None
        counts[2] += r.closed_at is None
    return [metrics.DistrictCounts(p, d, *counts) for (p, d), counts in sorted(out.items())]


def recording_lag(
    hist: dict[str, list[Interval]], scope: Scope
) -> tuple[int, float | None, int, int]:
    """Over the cases of ``scope`` at its cut as known then: how many, the median days
    from receipt to recording, and how many were recorded within 1 and 7 days."""
    lags = [domain.days_between(r.received_at, r.recorded_at) for r in states(hist, scope).values()]
    within = [sum(1 for lag in lags if lag <= days) for days in (1, 7)]
    return len(lags), metrics.quantile(lags, 0.5), within[0], within[1]


def month_moves(
    hist: dict[str, list[Interval]], scope: Scope, start: dt.datetime, end: dt.datetime
) -> dict[dt.date, metrics.MonthMoves]:
    """Per Bangkok month in [start, end): the segments known at ``scope.known_at`` that
    start in it, each told apart by its predecessor among the case's segments that reach
    into the period (the plain definition, before any index narrows the rows)."""
    counts: dict[dt.date, list[int]] = {}
    for rows in hist.values():
        reach = sorted(
            (
                r
                for r in rows
                if _known(r, scope.known_at)
                and _in_area(r, scope)
                and (r.valid_to is None or r.valid_to >= start)
                and r.valid_from < end
            ),
            key=lambda r: r.valid_from,
        )
        prev_closed: bool | None = None
        for r in reach:
            first, closed = r.valid_from == r.received_at, r.closed_at is not None
            if r.valid_from >= start:
                c = counts.setdefault(asof.local_date(r.valid_from).replace(day=1), [0, 0, 0])
                c[0] += first
                c[1] += closed and (first or prev_closed is False)
                c[2] += (not first) and (not closed) and prev_closed is True
            prev_closed = closed
    return {m: metrics.MonthMoves(*c) for m, c in counts.items()}


def _known(r: Interval, known_at: dt.datetime | None) -> bool:
    if known_at is None:
        return r.recorded_to is None
    return r.recorded_from <= known_at and (r.recorded_to is None or known_at < r.recorded_to)


def continuity(
    hist: dict[str, list[Interval]],
    scope: Scope,
    until: dt.datetime | None,
    year: tuple[dt.datetime, dt.datetime],
) -> list[metrics.DistrictRecords]:
    """Per district with a filing of ``scope`` known and recorded before ``until``: the
    Bangkok date of the latest, and the weeks of ``year`` with one, sorted by district."""
    last: dict[tuple[str, str], dt.date] = {}
    weeks: dict[tuple[str, str], set[int]] = {}
    for rows in hist.values():
        for r in rows:
            if r.valid_from != r.received_at or not _known(r, scope.known_at):
                continue
            if until is not None and r.recorded_at >= until:
                continue
            if not _in_area(r, scope):
                continue
            key = (r.province_code, r.district_code)
            last[key] = max(last.get(key, dt.date.min), asof.local_date(r.recorded_at))
            marks = weeks.setdefault(key, set())
            if year[0] <= r.recorded_at < year[1]:
                marks.add(int((r.recorded_at - year[0]).total_seconds() // 604800))
    return [
        metrics.DistrictRecords(p, d, day, len(weeks[(p, d)]))
        for (p, d), day in sorted(last.items())
    ]


def _in_area(r: Interval, scope: Scope) -> bool:
    """``r`` passes the scope's province, district, channel and category filters."""
    return all(
        v in (None, getattr(r, k))
        for k, v in (
            ("province_code", scope.province_code),
            ("district_code", scope.district_code),
            ("channel", scope.channel),
            ("category", scope.category),
        )
    )
