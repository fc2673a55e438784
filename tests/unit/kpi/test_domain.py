"""Fiscal years, rates, medians, rounding and the per-case fold, without I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid

import pytest

from services.kpi.deps import load_sla
from services.kpi.domain import cases as domain
from services.kpi.domain import metrics
from services.kpi.domain.asof import Scope
from services.kpi.domain.cases import Fact, InvalidEvent, NotNext
from shared.codes import CaseStatus
from tests.unit.kpi import reference, scenario
from tests.unit.kpi.scenario import utc


@pytest.mark.parametrize(
    ("ts", "fy"),
    [
        ("2025-09-30T16:59:59", 2568),  # 23:59:59 in Bangkok on 30 September
        ("2025-09-30T17:00:00", 2569),  # 00:00 on 1 October in Bangkok
        ("2024-10-01T00:00:00", 2568),
        ("2026-09-30T16:59:59", 2569),
        ("2026-09-30T17:00:00", 2570),
        ("2026-01-01T00:00:00", 2569),
    ],
)
def test_fiscal_year_boundaries(ts: str, fy: int) -> None:
    assert domain.fiscal_year(utc(ts)) == fy


def test_fiscal_year_of_other_offsets_and_naive() -> None:
    bangkok_midnight = dt.datetime(2025, 10, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert domain.fiscal_year(bangkok_midnight) == 2569
    with pytest.raises(ValueError):
        domain.fiscal_year(dt.datetime(2025, 10, 1))


def test_fiscal_year_bounds() -> None:
    start, end = domain.fiscal_year_bounds(2569)
    assert start == utc("2025-09-30T17:00:00")
    assert end == utc("2026-09-30T17:00:00")
    assert domain.fiscal_year(start) == 2569
    assert domain.fiscal_year(end - dt.timedelta(microseconds=1)) == 2569


@pytest.mark.parametrize(
    ("closed", "received", "rate"),
    [
        (0, 0, None),
        (0, 3, 0.0),
        (2, 3, 0.6667),
        (1, 3, 0.3333),
        (3, 3, 1.0),
        (1, 8, 0.125),
        (1313, 1328, 0.9887),
        (1, 20000, 0.0001),
        (1, 40000, 0.0),
    ],
)
def test_closure_rate(closed: int, received: int, rate: float | None) -> None:
    assert domain.closure_rate(closed, received) == rate


def test_rounding_is_half_up() -> None:
    assert domain.round_half_up(3.125, 2) == 3.13  # round(3.125, 2) would give 3.12
    assert domain.round_half_up(2.675, 2) == 2.68
    assert domain.round_half_up(0.66665, 4) == 0.6667
    assert metrics.days(None) is None
    assert metrics.days(4.004999) == 4.0


def test_days_between() -> None:
    assert domain.days_between(utc("2025-12-01T00:00"), utc("2025-12-03T12:00")) == 2.5


def _facts(envs: list) -> list[Fact]:
    return [Fact.of(e) for e in envs]


def _fold(facts: list[Fact]) -> domain.CaseRow | None:
    case = None
    for f in facts:
        case = domain.apply(case, f)
    return case


def test_filing_starts_a_case() -> None:
    a = _facts(scenario.build()["A"])
    case = domain.apply(None, a[0])
    assert case.applied_version == 1
    assert case.status is CaseStatus.filed
    assert (case.fiscal_year, case.province_code, case.district_code) == (2569, "50", "5001")
    assert (case.channel, case.category) == ("walk_in", "land")
    assert case.closed_at is None
    assert case.recorded_at == case.received_at + scenario.LAG


def test_close_reopen_and_reject() -> None:
    cases = scenario.build()
    a = _fold(_facts(cases["A"]))
    assert a is not None and a.status is CaseStatus.closed
    assert a.closed_at == utc("2025-11-11T03:00") and a.applied_version == 3
    c = _fold(_facts(cases["C"]))
    assert c is not None and c.status is CaseStatus.reopened and c.closed_at is None
    g = _fold(_facts(cases["G"]))
    assert g is not None and g.status is CaseStatus.rejected and g.is_closed
    h = _fold(_facts(cases["H"]))
    assert h is not None and h.status is CaseStatus.closed and h.applied_version == 6
    assert h.last_recorded_at == utc("2026-02-04T00:00") + scenario.LAG
    b = _fold(_facts(cases["B"]))
    assert b is not None and b.status is CaseStatus.in_progress and not b.is_closed


def test_apply_refuses_anything_but_the_next_version() -> None:
    c = _facts(scenario.build()["C"])
    with pytest.raises(NotNext):
        domain.apply(None, c[1])  # a transition before the filing
    case = domain.apply(None, c[0])
    with pytest.raises(NotNext):
        domain.apply(case, c[2])  # a gap
    with pytest.raises(NotNext):
        domain.apply(domain.apply(case, c[1]), c[1])  # a duplicate


def test_impossible_events_are_invalid() -> None:
    a = scenario.build()["A"]
    with pytest.raises(InvalidEvent):
        domain.check(Fact.of(a[0].model_copy(update={"version": 2})))
    with pytest.raises(InvalidEvent):
        domain.check(Fact.of(a[1].model_copy(update={"version": 1})))


def _arrive(order: list[Fact]) -> domain.CaseRow | None:
    """The handler's semantics, in memory: store each new event, fold what now follows."""
    stored: dict[int, Fact] = {}
    case: domain.CaseRow | None = None
    for f in order:
        if f.version in stored:
            continue  # duplicate: nothing else happens
        stored[f.version] = f
        case = domain.catch_up(case, stored.values())
    return case


def test_every_arrival_order_with_duplicates_gives_the_in_order_result() -> None:
    facts = _facts(scenario.build()["C"])
    expected = _fold(facts)
    for perm in itertools.permutations(facts):
        assert _arrive(list(perm) + list(reversed(perm))) == expected
    assert _arrive(facts[1:]) is None  # never filed: no case yet
    partial = _arrive([facts[0], facts[1], facts[3]])  # v3 missing: v4 waits
    assert partial is not None and partial.applied_version == 2


def test_receive_in_any_chunks_is_the_handler_semantics() -> None:
    """receive (the batch fold) agrees with _arrive whatever splits the arrivals."""
    for name in "CH":
        facts = _facts(scenario.build()[name])
        for perm in itertools.permutations(facts):
            for cut in range(len(perm) + 1):
                case: domain.CaseRow | None = None
                stored: dict[int, Fact] = {}
                for seen, chunk in ((cut, perm[:cut]), (len(perm), perm[cut:])):
                    applied = case.applied_version if case else 0
                    waiting = [f for v, f in stored.items() if v > applied]
                    case = domain.receive(case, waiting, chunk)
                    stored.update((f.version, f) for f in chunk)
                    assert case == _arrive(list(perm[:seen])), (name, perm, cut)


@pytest.mark.parametrize("key", list(scenario.EXPECTED))
def test_scenario_summaries(key: tuple[int, str | None, str | None]) -> None:
    fy, prov, dist = key
    hist = reference.history(scenario.build())
    got = reference.summary(hist, Scope(fy, prov, dist), load_sla())
    assert got == scenario.EXPECTED[key]


def test_case_row_is_immutable() -> None:
    case = domain.apply(None, Fact.of(scenario.build()["F"][0]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.status = CaseStatus.closed  # type: ignore[misc]  # the assignment under test
    assert isinstance(case.complaint_id, uuid.UUID)
