"""Both time axes without I/O: the history rectangles, states as of a date and as known
at a time, and the arithmetic of every KPI, on hand-built cases with exact figures."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from services.kpi.deps import load_sla
from services.kpi.domain import asof, metrics, sla, timeline
from services.kpi.domain import cases as domain
from services.kpi.domain.asof import Scope
from shared.thai_calendar import aware, fiscal_year_bounds
from tests.unit.kpi import reference, scenario_asof
from tests.unit.kpi.scenario import utc

BKK_2569 = utc("2025-09-30T17:00")


def _hist() -> dict[str, list[timeline.Interval]]:
    return reference.history(scenario_asof.build())


def _closed_at(
    rows: list[timeline.Interval], cut: dt.datetime | None, known_at: dt.datetime | None
) -> dt.datetime | None:
    """When the case was closed in its state just before ``cut`` as known at ``known_at``
    (``timeline.state_at``), a state that must exist."""
    state = timeline.state_at(rows, cut, known_at)
    assert state is not None
    return state.closed_at


def test_late_closure_is_a_new_rectangle_from_its_recording() -> None:
    t = _hist()["T"]
    received, closed = utc("2025-12-20T03:00"), utc("2026-01-10T03:00")
    filed_rec, late = received + dt.timedelta(minutes=30), utc("2026-02-20T03:00")
    assert [(r.valid_from, r.valid_to, r.recorded_from, r.recorded_to, r.closed_at) for r in t] == [
        (received, None, filed_rec, late, None),  # open for good, as far as then known
        (received, closed, late, None, None),  # since the late record: open until ...
        (closed, None, late, None, closed),  # ... closed (back-dated) on 10 January
    ]
    jan31 = asof.end_of_day(dt.date(2026, 1, 31))
    assert _closed_at(t, jan31, scenario_asof.BEFORE_LATE) is None
    assert _closed_at(t, jan31, scenario_asof.AFTER_LATE) == closed
    assert _closed_at(t, None, None) == closed
    assert timeline.state_at(t, received, None) is None  # not received before it was
    assert timeline.state_at(t, jan31, filed_rec - dt.timedelta(seconds=1)) is None


def test_backfilled_case_exists_only_once_recorded_but_with_its_old_dates() -> None:
    s = _hist()["S"]
    assert len(s) == 2 and {r.recorded_from for r in s} == {utc("2026-03-01T02:00")}
    sep30 = asof.end_of_day(dt.date(2025, 9, 30))
    assert _closed_at(s, sep30, None) is None  # open at FY 2569 start
    assert timeline.state_at(s, sep30, scenario_asof.BEFORE_LATE) is None


def test_reopened_case_alternates_open_and_closed_by_effective_time() -> None:
    r = _hist()["R"]
    now = [x for x in r if x.recorded_to is None]
    assert [(x.valid_from, x.closed_at) for x in now] == [
        (utc("2025-10-10T03:00"), None),
        (utc("2025-11-04T03:00"), utc("2025-11-04T03:00")),
        (utc("2025-12-01T03:00"), None),
        (utc("2026-01-05T03:00"), utc("2026-01-05T03:00")),
    ]
    # The transition instant itself belongs to the state after it ...
    assert _closed_at(r, utc("2025-11-04T03:00:00.000001"), None)
    # ... and a cut exactly there sees the state just before.
    assert _closed_at(r, utc("2025-11-04T03:00"), None) is None


def test_the_history_ends_in_the_live_projection_whatever_the_back_dating() -> None:
    for envs in scenario_asof.build().values():
        facts = [domain.Fact.of(e) for e in envs]
        for perm in itertools.permutations(range(1, len(facts))):
            # Shuffle effective times among the transitions: back-dating in any order.
            times = [facts[i].occurred_at for i in perm]
            moved = [facts[0]] + [
                domain.Fact(f.complaint_id, f.version, at, f.recorded_at, f.data)
                for f, at in zip(facts[1:], times, strict=True)
            ]
            case = domain.catch_up(None, moved)
            assert case is not None
            rows = timeline.intervals(
                case,
                [timeline.Step(f.version, f.kind, f.occurred_at, f.recorded_at) for f in moved],
            )
            assert _closed_at(rows, None, None) == case.closed_at


def test_a_version_behind_a_gap_is_not_known() -> None:
    envs = scenario_asof.build()["R"]
    facts = [domain.Fact.of(e) for e in envs]
    case = domain.catch_up(None, facts[:2])  # v1, v2 applied; v4.. wait for v3
    assert case is not None
    steps = [
        timeline.Step(f.version, f.kind, f.occurred_at, f.recorded_at)
        for f in facts
        if f.version != 3
    ]
    rows = timeline.intervals(case, steps)
    assert all(r.closed_at is None for r in rows) and len(rows) == 1


@pytest.mark.parametrize("key", list(scenario_asof.SUMMARY_2569), ids=str)
def test_summaries_as_of_and_known_at(key: tuple[dt.date | None, dt.datetime | None]) -> None:
    as_of, known_at = key
    figures, by_channel, by_category = scenario_asof.SUMMARY_2569[key]
    got = reference.summary(_hist(), Scope(2569, as_of=as_of, known_at=known_at), load_sla())
    assert got == {
        "fiscal_year": 2569,
        "province_code": None,
        "district_code": None,
        "channel": None,
        "category": None,
        "as_of": as_of,
        "known_at": known_at,
        **figures,
        "by_channel": by_channel,
        "by_category": by_category,
    }


def test_sla_override_decides_within() -> None:
    scope = Scope(2569, as_of=dt.date(2025, 11, 4))
    default_only = metrics.SlaPolicy(30, {})
    assert reference.summary(_hist(), scope, default_only)["closed_within_sla"] == 1
    assert reference.summary(_hist(), scope, load_sla())["closed_within_sla"] == 0


def test_monthly_remaining_is_the_backlog_at_month_end() -> None:
    hist = _hist()
    snaps = reference.snapshot_monthly(hist, Scope(2569))
    assert [end for _start, end in snaps] == scenario_asof.OPEN_AT_MONTH_END
    rows = scenario_asof.MONTHLY_2569[None, None]
    assert [(r["carried_in"], r["remaining"]) for r in rows] == snaps


def test_monthly_rows() -> None:
    months = [dt.date(2025, 10, 1), dt.date(2025, 11, 1)]
    moves = {dt.date(2025, 10, 1): metrics.MonthMoves(5, 3, 1)}
    assert metrics.monthly(months, 2, moves) == [
        {
            "month": "2025-10",
            "carried_in": 2,
            "received": 5,
            "closed": 3,
            "reopened": 1,
            "remaining": 5,
            "cumulative_received": 5,
            "cumulative_closed": 3,
        },
        {
            "month": "2025-11",
            "carried_in": 5,
            "received": 0,
            "closed": 0,
            "reopened": 0,
            "remaining": 5,
            "cumulative_received": 5,
            "cumulative_closed": 3,
        },
    ]


def test_calendar() -> None:
    assert asof.end_of_day(dt.date(2025, 9, 30)) == BKK_2569
    starts = asof.month_starts(2569)
    assert starts[0] == BKK_2569 and starts[3] == utc("2025-12-31T17:00")
    assert starts[12] == utc("2026-09-30T17:00") and len(starts) == 13
    assert asof.weeks_elapsed(2569, dt.date(2025, 10, 1)) == 1
    assert asof.weeks_elapsed(2569, dt.date(2025, 10, 7)) == 1
    assert asof.weeks_elapsed(2569, dt.date(2025, 10, 8)) == 2
    assert asof.weeks_elapsed(2569, dt.date(2026, 3, 10)) == 23
    assert asof.weeks_elapsed(2569, dt.date(2026, 9, 30)) == 53
    assert asof.weeks_elapsed(2569, dt.date(2025, 9, 1)) == 0
    assert asof.fiscal_year_of_day(dt.date(2025, 10, 1)) == 2569
    assert asof.local_date(utc("2025-09-30T17:00")) == dt.date(2025, 10, 1)
    assert aware(dt.datetime(2026, 1, 1)).utcoffset() == dt.timedelta(hours=7)


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (0, "0-15"),
        (15, "0-15"),
        (16, "16-30"),
        (30, "16-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, ">90"),
        (400, ">90"),
    ],
)
def test_age_buckets(age: int, bucket: str) -> None:
    assert metrics.AGE_BUCKETS[metrics.age_bucket(age)] == bucket


def test_quantile_is_percentile_cont() -> None:
    assert metrics.quantile([], 0.9) is None
    assert metrics.quantile([21.0, 87.0], 0.5) == 54.0
    assert metrics.days(metrics.quantile([21.0, 87.0], 0.9)) == 80.4
    assert metrics.quantile([1.25, 3.0, 5.0, 10.0], 0.9) == 8.5
    assert metrics.quantile([3.0, 1.0, 2.0], 0.5) == 2.0


@pytest.mark.parametrize("seed", range(6))
def test_summary_groups_from_cells_are_the_groups_counted_case_by_case(seed: int) -> None:
    """The summary's groups from (channel, category) cells: the same counts, and exactly
    the same quantiles as ``quantile`` over each group's days (ties, single values and
    empty cells included)."""
    rng = random.Random(seed)
    policy = metrics.SlaPolicy(default_days=30, by_category={"land": 60, "debt": 7})
    cases = [
        (
            rng.choice(["1567", "walk_in", "web"]),
            rng.choice(["land", "debt", "noise", "other"]),
            rng.choice([None, rng.randint(0, 90) / 4, rng.randint(0, 86400 * 120) / 86400.0]),
        )
        for _ in range(rng.choice([1, 2, 7, 300]))
    ]
    cells = [
        metrics.Cell(ch, cat, len(group), [d for *_, d in group if d is not None])
        for (ch, cat), group in (
            (k, list(g)) for k, g in itertools.groupby(sorted(cases, key=str), lambda c: c[:2])
        )
    ]

    def counted(dimension: str, key: str, rows: list[tuple[str, str, float | None]]):
        days = [d for *_, d in rows if d is not None]
        within = sum(1 for _ch, cat, d in rows if d is not None and d <= policy.days_for(cat))
        return metrics.Group(
            dimension,
            key,
            len(rows),
            len(days),
            within,
            metrics.quantile(days, 0.5),
            metrics.quantile(days, 0.9),
        )

    expected = [counted("all", "", cases)]
    for dimension, keys in (
        ("channel", [c[0] for c in cases]),
        ("category", [c[1] for c in cases]),
    ):
        expected.extend(
            counted(dimension, key, [c for c, k in zip(cases, keys, strict=True) if k == key])
            for key in sorted(set(keys))
        )
    assert metrics.summary_groups(cells, policy) == expected


def test_summary_groups_of_nothing_is_an_empty_total() -> None:
    assert metrics.summary_groups([], metrics.SlaPolicy()) == [
        metrics.Group("all", "", 0, 0, 0, None, None)
    ]


def test_fair_ranking_puts_many_cases_above_a_fluke() -> None:
    assert metrics.wilson_lower(3, 3) == 0.4385
    assert metrics.wilson_lower(2900, 3000) == 0.9596
    assert metrics.wilson_lower(0, 0) is None and metrics.wilson_lower(0, 5) == 0.0
    table = metrics.rank_districts(
        [
            metrics.DistrictCounts("10", "1001", 3, 3, 0),
            metrics.DistrictCounts("50", "5001", 3000, 2900, 100),
            metrics.DistrictCounts("50", "5002", 0, 0, 7),
            metrics.DistrictCounts("10", "1002", 40, 20, 100),
        ]
    )
    ranks = {d["district_code"]: (d["rank_closure"], d["rank_backlog"]) for d in table}
    assert ranks == {"5001": (1, 2), "1001": (2, 4), "1002": (3, 1), "5002": (4, 3)}
    assert [d["district_code"] for d in table] == ["1001", "1002", "5001", "5002"]
    assert table[0]["closure_rate"] == 1.0 and table[2]["closure_rate"] == 0.9667


def test_sla_policy_file() -> None:
    policy = load_sla()
    assert policy.days_for("land") == 60 and policy.days_for("informal_debt") == 15
    assert policy.days_for("drugs") == 30
    with pytest.raises(ValueError, match="unknown categories"):
        sla.parse("[categories]\nlnad = 3\n")
    with pytest.raises(ValueError, match="positive integer"):
        sla.parse("default_days = 0\n")
    with pytest.raises(ValueError, match="positive integer"):
        sla.parse("[categories]\nland = 2.5\n")


def test_month_edges_start_at_the_bangkok_month_holding_the_start() -> None:
    # 3 October, 00:30 in Bangkok, is still 2 October in UTC: the edges are Bangkok's.
    start, end = utc("2025-10-02T17:30"), utc("2025-11-30T17:00")  # end: 1 December, 00:00
    assert asof.month_edges(start, end) == [utc("2025-09-30T17:00"), utc("2025-10-31T17:00")]
    assert asof.month_edges(start, end + dt.timedelta(seconds=1))[-1] == end
    assert asof.month_edges(start, start) == [utc("2025-09-30T17:00")]


def test_week_edges_count_weeks_from_the_start_the_last_one_short() -> None:
    start, end = fiscal_year_bounds(2569)  # 365 days: 52 weeks and one day
    edges = asof.week_edges(start, end)
    assert len(edges) == 53 == asof.weeks_elapsed(2569, asof.local_date(end) - dt.timedelta(1))
    assert edges[0] == start
    assert edges[-1] == start + 52 * asof.WEEK == end - dt.timedelta(days=1)
    assert asof.week_edges(start, start + asof.WEEK) == [start]
