"""Satisfaction after closure: a scenario with its exact figures (FY 2569), checked in
memory here and on PostgreSQL by tests/integration/kpi/test_satisfaction.py.

Times UTC at 03:00 (10:00 Bangkok), each recorded an hour later.

====  ========  =====================================================================
case  district  events after filing (version: kind day)
====  ========  =====================================================================
c1    5001      2 closed 11-10, 3 rated 5 11-12
c2    5001      2 accepted 11-10, 3 closed 11-15, 4 rated 2 11-20, 5 reopen requested
                11-20, 6 reopened 11-25, 7 closed 12-05, 8 rated 4 12-10
c3    5001      2 closed 11-20, 3 reopen requested 11-21
c4    5001      open (accepted 11-05)
c5    5001      2 rejected 11-04 (not a closure)
d1    5002      2 closed 11-06, 3 rated 3 11-07
d2    5002      2 closed 11-06, 3 reopened 11-08
e1    5001      FY 2568: filed 2025-09-01, closed 09-05, rated 1 10-02 (not counted)
====  ========  =====================================================================
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from services.kpi.domain import cases as fold
from services.kpi.domain import satisfaction as sat
from services.kpi.domain import timeline
from services.kpi.domain.asof import end_of_day
from shared.codes import CaseStatus, CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseRejected,
    CaseReopened,
    CaseReopenRequested,
    CaseSatisfactionRated,
    ComplaintFiled,
    Envelope,
    EventData,
)
from shared.thai_calendar import fiscal_year as thai_fiscal_year

LAG = dt.timedelta(hours=1)


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(hour=3, tzinfo=dt.UTC)


def _env(cid: uuid.UUID, version: int, at: dt.datetime, data: EventData) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=cid,
        version=version,
        source="/damrong/status" if version > 1 else "/damrong/intake",
        occurred_at=at,
        recorded_at=at + LAG,
        data=data,
    )


def _payload(kind: str, closed_version: int, score: int) -> EventData:
    makers: dict[str, Callable[[], EventData]] = {
        "accepted": lambda: CaseAccepted(actor="o"),
        "rejected": lambda: CaseRejected(actor="o", reason="not ours"),
        "closed": lambda: CaseClosed(actor="o", reason=ClosureReason.resolved),
        "reopened": lambda: CaseReopened(actor="o"),
        "rated": lambda: CaseSatisfactionRated(
            actor="complainant", closed_version=closed_version, score=score
        ),
        "disputed": lambda: CaseReopenRequested(actor="complainant", closed_version=closed_version),
    }
    return makers[kind]()


PLAN: dict[str, tuple[str, str, list[tuple[str, str, int]]]] = {
    # name: (district, filed on, [(kind, day, score)]); a rating or dispute answers the
    # case's latest closure.
    "c1": ("5001", "2025-11-01", [("closed", "2025-11-10", 0), ("rated", "2025-11-12", 5)]),
    "c2": (
        "5001",
        "2025-11-01",
        [
            ("accepted", "2025-11-10", 0),
            ("closed", "2025-11-15", 0),
            ("rated", "2025-11-20", 2),
            ("disputed", "2025-11-20", 0),
            ("reopened", "2025-11-25", 0),
            ("closed", "2025-12-05", 0),
            ("rated", "2025-12-10", 4),
        ],
    ),
    "c3": ("5001", "2025-11-02", [("closed", "2025-11-20", 0), ("disputed", "2025-11-21", 0)]),
    "c4": ("5001", "2025-11-03", [("accepted", "2025-11-05", 0)]),
    "c5": ("5001", "2025-11-03", [("rejected", "2025-11-04", 0)]),
    "d1": ("5002", "2025-11-05", [("closed", "2025-11-06", 0), ("rated", "2025-11-07", 3)]),
    "d2": ("5002", "2025-11-05", [("closed", "2025-11-06", 0), ("reopened", "2025-11-08", 0)]),
    "e1": ("5001", "2025-09-01", [("closed", "2025-09-05", 0), ("rated", "2025-10-02", 1)]),
}


def cases() -> dict[str, list[Envelope]]:
    """The scenario's events, per case, fresh ids."""
    out: dict[str, list[Envelope]] = {}
    for name, (district, received, moves) in PLAN.items():
        cid = uuid.uuid4()
        at = day(received)
        envs = [
            _env(
                cid,
                1,
                at,
                ComplaintFiled(
                    tracking_no=f"T-{cid.hex[:8]}",
                    channel=ChannelCode.walk_in,
                    category=CategoryCode.land,
                    province_code=district[:2],
                    district_code=district,
                    received_at=at,
                    recorded_at=at + LAG,
                    anonymous=False,
                ),
            )
        ]
        closed_version = 0
        for kind, when, score in moves:
            version = len(envs) + 1
            if kind == "closed":
                closed_version = version
            envs.append(_env(cid, version, day(when), _payload(kind, closed_version, score)))
        out[name] = envs
    return out


def row(
    district: str,
    closures: int,
    dist: tuple[int, ...],
    n_disputed: int,
    n_reopened: int,
    **rates: Any,
) -> dict[str, Any]:
    """An expected report row: the counts given, the rates and mean as written in ``rates``."""
    return {
        "province_code": district[:2],
        "district_code": district,
        "closures": closures,
        "rated": sum(dist),
        "response_rate": rates["response"],
        "mean_score": rates["mean"],
        **{f"score_{i + 1}": n for i, n in enumerate(dist)},
        "disputed": n_disputed,
        "disputed_rate": rates["disputed"],
        "reopened": n_reopened,
        "reopened_rate": rates["reopened"],
    }


# FY 2569, as of the end of time, knowing everything.
EXPECTED = {
    "5001": row(
        "5001", 4, (0, 1, 0, 1, 1), 2, 1, response=0.75, mean=3.67, disputed=0.5, reopened=0.25
    ),
    "5002": row(
        "5002", 2, (0, 0, 1, 0, 0), 0, 1, response=0.5, mean=3.0, disputed=0.0, reopened=0.5
    ),
}
TOTAL = {
    **row(
        "", 6, (0, 1, 1, 1, 1), 2, 2, response=0.6667, mean=3.5, disputed=0.3333, reopened=0.3333
    ),
    "province_code": "",
}
# As of 2025-11-30 (Bangkok): c2's second closure and its rating have not happened yet.
AS_OF = dt.date(2025, 11, 30)
EXPECTED_AS_OF_5001 = row(
    "5001", 3, (0, 1, 0, 0, 1), 2, 1, response=0.6667, mean=3.5, disputed=0.6667, reopened=0.3333
)
# Known at 2025-11-16 12:00 UTC: c1 closed and rated, c2 closed (v3), nothing of c3 yet.
KNOWN_AT = dt.datetime(2025, 11, 16, 12, 0, tzinfo=dt.UTC)
EXPECTED_KNOWN_5001 = row(
    "5001", 2, (0, 0, 0, 0, 1), 0, 0, response=0.5, mean=5.0, disputed=0.0, reopened=0.0
)


# --- the arithmetic, in memory -----------------------------------------------------------


def _steps(envs: list[Envelope]) -> list[sat.Step]:
    return [
        sat.Step(
            e.version,
            e.kind,
            e.occurred_at,
            e.recorded_at,
            getattr(e.data, "closed_version", None),
            getattr(e.data, "score", None),
        )
        for e in envs
    ]


def reference(
    all_cases: dict[str, list[Envelope]],
    *,
    cut: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
    fiscal_year: int = 2569,
) -> sat.Report:
    """The report from the pure functions alone: what the SQL must agree with."""
    by_district: dict[str, list[sat.Closure]] = {}
    for envs in all_cases.values():
        filing = envs[0].data
        assert isinstance(filing, ComplaintFiled)
        if thai_fiscal_year(filing.received_at) != fiscal_year:
            continue
        found = sat.closures(_steps(envs), cut, known_at)
        if found:
            by_district.setdefault(filing.district_code, []).extend(found)
    return sat.report(sat.tally(d[:2], d, found) for d, found in by_district.items())


def test_the_scenario_figures() -> None:
    got = reference(cases())
    assert {r["district_code"]: r for r in got.districts} == EXPECTED
    assert got.total == TOTAL


def test_as_of_and_known_at() -> None:
    all_cases = cases()
    got = reference(all_cases, cut=end_of_day(AS_OF))
    assert got.districts[0] == EXPECTED_AS_OF_5001
    got = reference(all_cases, known_at=KNOWN_AT)
    assert got.districts[0] == EXPECTED_KNOWN_5001


def test_the_kpi_fold_keeps_the_status_and_closure_through_feedback() -> None:
    for name, expected in (("c1", CaseStatus.closed), ("c3", CaseStatus.closed)):
        envs = cases()[name]
        case = fold.catch_up(None, [fold.Fact.of(e) for e in envs])
        assert case is not None and case.status is expected
        assert case.closed_at == envs[1].occurred_at  # the closure's, not the feedback's
    c2 = cases()["c2"]
    case = fold.catch_up(None, [fold.Fact.of(e) for e in c2[:5]])  # rated, disputed
    assert case is not None and case.status is CaseStatus.closed
    assert case.closed_at == c2[2].occurred_at


def test_feedback_changes_no_rectangle_of_the_history() -> None:
    """Ratings and disputes add no state: the case's open/closed history is as without."""
    envs = cases()["c2"]
    plain = [e for e in envs if e.kind not in (sat.RATED, sat.DISPUTED)]
    plain = [e.model_copy(update={"version": i}) for i, e in enumerate(plain, start=1)]

    def shape(es: list[Envelope]) -> list[tuple[Any, ...]]:
        facts = [fold.Fact.of(e) for e in es]
        case = fold.catch_up(None, facts)
        assert case is not None
        steps = [timeline.Step(f.version, f.kind, f.occurred_at, f.recorded_at) for f in facts]
        return sorted(
            (i.valid_from, i.valid_to, i.closed_at)
            for i in timeline.intervals(case, steps)
            if i.recorded_to is None
        )

    assert shape(envs) == shape(plain)


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        ((0, 0, 0, 0, 0), None),
        ((1, 0, 0, 0, 0), 1.0),
        ((0, 1, 0, 0, 1), 3.5),
        ((0, 1, 0, 1, 1), 3.67),  # 11/3 = 3.666..
        ((1, 1, 0, 0, 0), 1.5),
        ((0, 0, 1, 0, 0), 3.0),
        ((1, 0, 0, 0, 7), 4.5),
        ((2, 0, 0, 0, 6), 4.0),
        ((0, 0, 0, 1, 7), 4.88),  # 39/8 = 4.875: half-up, not to even
        ((0, 0, 0, 3, 5), 4.63),  # 37/8 = 4.625
        ((3, 0, 0, 0, 0), 1.0),
    ],
)
def test_mean_score_is_exact_and_half_up(dist: tuple[int, ...], mean: float | None) -> None:
    assert sat.mean_score(dist) == mean


def test_rates_beside_counts_and_none_without_closures() -> None:
    row_ = sat.figures(sat.Counts("50", "5001"))
    assert row_["closures"] == 0 and row_["response_rate"] is None
    assert row_["mean_score"] is None and row_["disputed_rate"] is None
    row_ = sat.figures(sat.Counts("50", "5001", 3, 1, 2, (0, 0, 0, 0, 2)))
    assert (row_["response_rate"], row_["disputed_rate"], row_["reopened_rate"]) == (
        0.6667,
        0.3333,
        0.6667,
    )


def test_a_rating_of_a_later_closure_does_not_count_for_an_earlier_one() -> None:
    at = day("2025-11-01")
    steps = [
        sat.Step(2, sat.CLOSED, at, at),
        sat.Step(3, sat.REOPENED, at, at),
        sat.Step(4, sat.CLOSED, at, at),
        sat.Step(5, sat.RATED, at, at, closed_version=4, score=1),
        sat.Step(6, sat.DISPUTED, at, at, closed_version=4),
    ]
    assert sat.closures(steps, None, None) == [
        sat.Closure(2, None, False, True),
        sat.Closure(4, 1, True, False),
    ]
