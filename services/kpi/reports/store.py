"""The KPI questions in SQL, over ``case_intervals``: counts only, the meaning is in
``metrics``.

Every question picks, per case, the one rectangle holding the state it asks about:
``valid_from < cut <= valid_to`` (the state just before the cut, i.e. at the end of the
``as_of`` day) and ``recorded_from <= known_at < recorded_to`` (what was known then), or
the open-ended rows when there is no cut / no ``known_at``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Coroutine, Sequence
from typing import Any

from services.kpi.domain import asof, metrics
from services.kpi.domain.asof import Scope
from services.kpi.domain.metrics import Cell, DistrictCounts, DistrictRecords, Group, MonthMoves
from shared.dbtypes import Reads

# Bangkok wall-clock time of a timestamptz, without relying on the server's tz database.
LOCAL = "(({col} AT TIME ZONE 'UTC') + interval '7 hours')"
# Days between two timestamps, in float8 throughout: extract() answers numeric, which
# cost a fifth of a national summary (200,000 cases) to compute and then to sort.
# Migration 011 indexes the recording lag as written here: change both or neither.
DAYS = "date_part('epoch', {a} - {b}) / 86400.0"
# A case's first segment: one row per case at any known time.
FIRST = "{a}.valid_from = {a}.received_at"
# A case's filing, as known now: its first segment in the latest knowledge, one row per
# case.  A filing's times and area never change (``domain.cases``: a case belongs to the
# year, province, district, channel and category of its filing), and it is known from
# its recording on, for good; so the filings known at any time are these rows recorded by
# then (``Sql.filed``).  Migration 011's indexes hold these rows only.
FILED = FIRST + " AND {a}.recorded_to = 'infinity'"


class Sql:
    """WHERE conditions with their positional arguments."""

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.conds: list[str] = []

    def p(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, cond: str) -> Sql:
        self.conds.append(cond)
        return self

    def at(self, cut: dt.datetime | None, alias: str = "i") -> Sql:
        if cut is None:
            return self.where(f"{alias}.valid_to = 'infinity'")
        c = self.p(cut)
        return self.where(f"{alias}.valid_from < {c} AND {c} <= {alias}.valid_to")

    def known(self, known_at: dt.datetime | None, alias: str = "i") -> Sql:
        if known_at is None:
            return self.where(f"{alias}.recorded_to = 'infinity'")
        t = self.p(known_at)
        return self.where(f"{alias}.recorded_from <= {t} AND {t} < {alias}.recorded_to")

    def filed(self, known_at: dt.datetime | None, alias: str = "i") -> Sql:
        """The filings known at ``known_at`` (now if ``None``), one row per case."""
        self.where(FILED.format(a=alias))
        if known_at is None:
            return self
        return self.where(f"{alias}.recorded_at <= {self.p(known_at)}")

    def filters(self, scope: Scope, *, fiscal_year: bool = True, alias: str = "i") -> Sql:
        pairs: list[tuple[str, str | int | None]] = [
            ("province_code", scope.province_code),
            ("district_code", scope.district_code),
            ("channel", scope.channel),
            ("category", scope.category),
        ]
        if fiscal_year:
            pairs.append(("fiscal_year", scope.fiscal_year))
        for column, value in pairs:
            if value is not None:
                self.where(f"{alias}.{column} = {self.p(value)}")
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.conds) or "TRUE"


async def together(*statements: Coroutine[Any, Any, Any]) -> list[Any]:
    """The results of ``statements``, started at once (on a snapshot of several
    connections they run side by side).  The first to fail fails them all, as it would
    have one after another; the others are cancelled."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(s) for s in statements]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]


def known_apart(known_at: dt.datetime | None) -> list[Sql]:
    """The rows known at ``known_at`` (now if ``None``) as disjoint parts, each read from
    an index of its own (migration 011) and side by side: the rows known now that were
    recorded by then, and those known then that were replaced since.  For a national
    year's segment starts at 2,000,000 cases the parts took 42 and 15 ms, against 61 ms
    for every row of the year from one index."""
    if known_at is None:
        return [Sql().known(None)]
    current = Sql().known(None)
    current.where(f"i.recorded_from <= {current.p(known_at)}")
    replaced = Sql().where("i.recorded_to <> 'infinity'").known(known_at)
    return [current, replaced]


def _state(scope: Scope, *, fiscal_year: bool = True, cut: Any = "scope") -> Sql:
    return (
        Sql()
        .at(scope.cut if cut == "scope" else cut)
        .known(scope.known_at)
        .filters(scope, fiscal_year=fiscal_year)
    )


async def summary(db: Reads, scope: Scope, sla: metrics.SlaPolicy) -> list[Group]:
    """Counts, cases closed within their category's SLA, median and p90 days to close,
    for all cases of ``scope``, per channel and per category.

    One statement gathers each (channel, category) cell's days to close by hashing, and
    ``metrics.summary_groups`` picks the quantiles from them: percentiles in SQL sorted a
    national year's closures three times over (all, by channel, by category)."""
    q = _state(scope)
    days = DAYS.format(a="i.closed_at", b="i.received_at")
    rows = await db.fetch(
        f"""
        SELECT channel, category, count(*)::int AS received,
               coalesce(array_agg({days}) FILTER (WHERE i.closed_at IS NOT NULL),
                        '{{}}') AS days
          FROM case_intervals AS i WHERE {q.sql}
         GROUP BY channel, category""",
        *q.args,
    )
    cells = [Cell(r["channel"], r["category"], r["received"], r["days"]) for r in rows]
    # 10–16 ms of selection for a national year, mostly in Arrow's kernels, which let go
    # of the interpreter: off the event loop, other requests go on meanwhile.
    return await asyncio.to_thread(metrics.summary_groups, cells, sla)


async def backlog(db: Reads, scope: Scope) -> dict[int, int]:
    """Open cases at the cut, by fiscal year of origin."""
    q = _state(scope).where("i.closed_at IS NULL")
    rows = await db.fetch(
        f"SELECT fiscal_year, count(*)::int AS n FROM case_intervals AS i WHERE {q.sql} "
        "GROUP BY fiscal_year",
        *q.args,
    )
    return {r["fiscal_year"]: r["n"] for r in rows}


async def carry_over(
    db: Reads, scope: Scope, origins: Sequence[int], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[int, int]]:
    """Per fiscal year of origin in ``origins``: cases open at ``start``, and how many of
    those are closed at ``end``."""
    q = (
        Sql()
        .at(start, "a")
        .known(scope.known_at, "a")
        .filters(scope, fiscal_year=False, alias="a")
        .where("a.closed_at IS NULL")
    )
    q.where(f"a.fiscal_year = ANY ({q.p(list(origins))}::int[])")
    q.at(end, "b").known(scope.known_at, "b")
    rows = await db.fetch(
        f"""
        SELECT a.fiscal_year, count(*)::int AS open, count(b.closed_at)::int AS closed
          FROM case_intervals AS a
          JOIN case_intervals AS b ON b.complaint_id = a.complaint_id
         WHERE {q.sql} GROUP BY a.fiscal_year""",
        *q.args,
    )
    return {r["fiscal_year"]: (r["open"], r["closed"]) for r in rows}


async def aging(db: Reads, scope: Scope, ref: dt.date) -> dict[int, int]:
    """Open cases at the cut by age bucket (index into ``metrics.AGE_BUCKETS``), age in
    Bangkok calendar days from receipt to ``ref``."""
    q = _state(scope).where("i.closed_at IS NULL")
    ref_p, edges = q.p(ref), q.p(list(metrics.AGE_EDGES))
    rows = await db.fetch(
        f"""
        SELECT width_bucket({ref_p}::date - {LOCAL.format(col="i.received_at")}::date,
                            {edges}::int[]) AS bucket, count(*)::int AS n
          FROM case_intervals AS i WHERE {q.sql} GROUP BY 1""",
        *q.args,
    )
    return {r["bucket"]: r["n"] for r in rows}


async def recording_lag(db: Reads, scope: Scope) -> tuple[int, float | None, int, int]:
    """Over the filings of ``scope``: count, median lag in days, and how many were
    recorded within 1 and within 7 days of receipt.

    A filing's lag is fixed, so each case is read from its filing (``FILED``; at a cut, a
    case exists once received before it), from an index that holds the year's filings in
    order of lag (migration 011): the median's sort then finds its input in order and
    only checks it.  Sorting a national year's 200,000 lags was most of the answer."""
    q = Sql().filed(scope.known_at).filters(scope)
    if scope.cut is not None:
        q.where(f"i.received_at < {q.p(scope.cut)}")
    lag = DAYS.format(a="i.recorded_at", b="i.received_at")
    row = await db.fetchrow(
        f"""
        SELECT count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS med,
               count(*) FILTER (WHERE lag <= 1)::int AS d1,
               count(*) FILTER (WHERE lag <= 7)::int AS d7
          FROM (SELECT {lag} AS lag FROM case_intervals AS i WHERE {q.sql}
                 ORDER BY 1) AS s""",
        *q.args,
    )
    assert row is not None
    return row["n"], row["med"], row["d1"], row["d7"]


async def continuity(
    db: Reads, scope: Scope, until: dt.datetime | None, year: tuple[dt.datetime, dt.datetime]
) -> list[DistrictRecords]:
    """Per district of ``scope`` (any fiscal year of origin): the Bangkok date of its last
    filing recorded before ``until``, and in how many weeks of ``year`` (counted from its
    start) it recorded one.

    Read from two indexes of the filings (``FILED``), never from every case of the
    decade: the districts one after another (a skip scan) each with its latest filing,
    then the filings recorded in ``year``, side by side."""
    q = Sql().filed(scope.known_at).filters(scope, fiscal_year=False)
    if until is not None:
        q.where(f"i.recorded_at < {q.p(until)}")
    # The districts to visit: those of the area with any case (the probe then applies
    # every filter of the question).
    area = [FILED.format(a="c")]
    area.extend(
        f"c.{column} = {q.p(value)}"
        for column in ("province_code", "district_code")
        if (value := getattr(scope, column)) is not None
    )
    if scope.province_code is not None:
        # A district's code starts with its province's (DOPA's numbering): the skip scan
        # starts and ends inside the province instead of stepping through the country.
        low, high = q.p(f"{scope.province_code}00"), q.p(f"{scope.province_code}99")
        area.append(f"c.district_code BETWEEN {low} AND {high}")
    area_sql = " AND ".join(area)
    latest = db.fetch(
        f"""
        WITH RECURSIVE d AS (
            (SELECT c.district_code FROM case_intervals AS c WHERE {area_sql}
              ORDER BY c.district_code LIMIT 1)
            UNION ALL
            SELECT (SELECT c.district_code FROM case_intervals AS c
                     WHERE {area_sql} AND c.district_code > d.district_code
                     ORDER BY c.district_code LIMIT 1)
              FROM d WHERE d.district_code IS NOT NULL
        )
        SELECT last.province_code, d.district_code,
               ({LOCAL.format(col="last.recorded_at")})::date AS last
          FROM d CROSS JOIN LATERAL (
                SELECT i.province_code, i.recorded_at FROM case_intervals AS i
                 WHERE {q.sql} AND i.district_code = d.district_code
                 ORDER BY i.recorded_at DESC LIMIT 1) AS last""",
        *q.args,
    )
    w = Sql().filed(scope.known_at).filters(scope, fiscal_year=False)
    if until is not None:
        w.where(f"i.recorded_at < {w.p(until)}")
    start, end = w.p(year[0]), w.p(year[1])
    w.where(f"i.recorded_at >= {start} AND i.recorded_at < {end}")
    if scope.province_code is not None:  # as above: the province's districts are a range
        low, high = w.p(f"{scope.province_code}00"), w.p(f"{scope.province_code}99")
        w.where(f"i.district_code BETWEEN {low} AND {high}")
    # A filing's week is found among the year's week starts (a fifth cheaper than dividing
    # its time since the start, at 200,000 filings).
    weeks_p = w.p(asof.week_edges(*year))
    # The distinct (district, week) pairs by hashing, then counted per district: a
    # count(DISTINCT ...) per district sorted every filing of the year instead.
    in_weeks = db.fetch(
        f"""
        SELECT district_code, count(*)::int AS weeks
          FROM (SELECT DISTINCT i.district_code,
                       width_bucket(i.recorded_at, {weeks_p}::timestamptz[])
                  FROM case_intervals AS i WHERE {w.sql}) AS dw
         GROUP BY district_code""",
        *w.args,
    )
    rows, by_week = await together(latest, in_weeks)
    weeks = {r["district_code"]: r["weeks"] for r in by_week}
    return [
        DistrictRecords(
            r["province_code"], r["district_code"], r["last"], weeks.get(r["district_code"], 0)
        )
        for r in rows
    ]


async def open_at(db: Reads, scope: Scope, cut: dt.datetime) -> int:
    """Open cases of ``scope`` (any fiscal year of origin) just before ``cut``."""
    q = _state(scope, fiscal_year=False, cut=cut).where("i.closed_at IS NULL")
    return int(
        await db.fetchval(f"SELECT count(*) FROM case_intervals AS i WHERE {q.sql}", *q.args)
    )


async def month_moves(
    db: Reads, scope: Scope, start: dt.datetime, end: dt.datetime
) -> dict[dt.date, MonthMoves]:
    """Per Bangkok month in [start, end): cases received, closures (a segment closed
    after an open one, or a case received closed), reopenings (open after closed).

    Counted from the segments starting in the period and the closed ones ending in it
    (``MonthMoves.of_segments`` says why that is enough), each read from an index made
    for it.  Telling each segment's predecessor by ordering every segment of the period
    per case cost half a second for a national year of 200,000 cases."""
    edges = asof.month_edges(start, end)
    is_first = FIRST.format(a="i")

    def starting(q: Sql) -> Coroutine[Any, Any, list[Any]]:
        q.filters(scope, fiscal_year=False)
        months, month_ends = q.p(edges), q.p([*edges[1:], end])
        # Month by month, each a range of the index counted as it is read: sorting
        # 390,000 segment starts of a national year into months (width_bucket, then
        # hashing) cost a third more than reading them.
        return db.fetch(
            f"""
            SELECT m.month, s.first, s.closed, s.open_later
              FROM unnest({months}::timestamptz[], {month_ends}::timestamptz[])
                   WITH ORDINALITY AS m(low, high, month)
             CROSS JOIN LATERAL (
                   SELECT count(*) FILTER (WHERE {is_first})::int AS first,
                          count(i.closed_at)::int AS closed,
                          count(*) FILTER (WHERE i.closed_at IS NULL AND NOT ({is_first}))::int
                              AS open_later
                     FROM case_intervals AS i
                    WHERE {q.sql} AND i.valid_from >= m.low AND i.valid_from < m.high) AS s""",
            *q.args,
        )

    q = Sql().known(scope.known_at).filters(scope, fiscal_year=False)
    s, e, months = q.p(start), q.p(end), q.p(edges)
    ending = db.fetch(
        f"""
        SELECT width_bucket(i.valid_to, {months}::timestamptz[]) AS month,
               count(*)::int AS closed
          FROM case_intervals AS i
         WHERE {q.sql} AND i.closed_at IS NOT NULL AND i.valid_to >= {s} AND i.valid_to < {e}
         GROUP BY 1""",
        *q.args,
    )
    *parts, ended = await together(*map(starting, known_apart(scope.known_at)), ending)
    # Per month: first segments, closed ones, open ones after the first.
    started: dict[int, tuple[int, int, int]] = {}
    for r in itertools.chain.from_iterable(parts):
        first, closed, open_later = started.get(r["month"], (0, 0, 0))
        started[r["month"]] = (
            first + r["first"],
            closed + r["closed"],
            open_later + r["open_later"],
        )
    closed_ending = {r["month"]: r["closed"] for r in ended}
    return {
        asof.local_date(edges[month - 1]): MonthMoves.of_segments(
            first, closed, open_later, closed_ending.get(month, 0)
        )
        for month, (first, closed, open_later) in started.items()
        if first or closed or open_later  # a month where nothing started
    }


async def districts(db: Reads, scope: Scope) -> list[DistrictCounts]:
    """Per district with a case of ``scope.fiscal_year`` or an open case at the cut:
    received and closed of that year, and the backlog of every fiscal year, at the cut.
    (A district whose cases are all closed and of other years has nothing to show.)

    Two statements, each reading only its own rows through an index: the fiscal year's
    cases (``case_intervals_fy``) and the segments open at the cut
    (``case_intervals_open``).  One pass over every case of every year grew with the
    decade."""
    year = _state(scope)
    counted = db.fetch(
        f"""
        SELECT province_code, district_code, count(*)::int AS received,
               count(closed_at)::int AS closed
          FROM case_intervals AS i WHERE {year.sql}
         GROUP BY province_code, district_code""",
        *year.args,
    )
    open_ = _state(scope, fiscal_year=False).where("i.closed_at IS NULL")
    backlog = db.fetch(
        f"""
        SELECT province_code, district_code, count(*)::int AS backlog
          FROM case_intervals AS i WHERE {open_.sql}
         GROUP BY province_code, district_code""",
        *open_.args,
    )
    year_rows, open_rows = await together(counted, backlog)
    out: dict[tuple[str, str], list[int]] = {}
    for r in year_rows:
        out[(r["province_code"], r["district_code"])] = [r["received"], r["closed"], 0]
    for r in open_rows:
        out.setdefault((r["province_code"], r["district_code"]), [0, 0, 0])[2] = r["backlog"]
    return [
        DistrictCounts(province, district, received, closed, backlog_)
        for (province, district), (received, closed, backlog_) in out.items()
    ]
