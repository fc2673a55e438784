"""Days since a district's last record, counted in Bangkok calendar days (as the
``recording`` report counts them)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.kpi.silence import current_districts, days_since, silence

UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=UTC)  # UTC, January 2026


@pytest.mark.parametrize(
    ("last", "now", "days"),
    [
        # 23:30 and 00:30 Bangkok the next day: one calendar day apart, an hour in time.
        (at(4, 16, 30), at(4, 17, 30), 1),
        # Both on 5 January in Bangkok, though on two UTC dates.
        (at(4, 17, 30), at(5, 16), 0),
        # Fifteen days: one more than the alert's 14.
        (at(1, 3), at(16, 3), 15),
    ],
)
def test_days_are_bangkok_calendar_days(last: dt.datetime, now: dt.datetime, days: int) -> None:
    assert days_since(last, now) == days


def test_a_district_that_never_recorded_counts_from_its_provinces_first_record() -> None:
    districts = {"50": ["5001", "5002", "5003"], "10": ["1001", "1002"]}
    recorded = {
        "5001": (at(2, 3), at(10, 3)),  # Chiang Mai's first record, 2 January
        "5003": (at(5, 3), at(20, 3)),
    }
    days = silence(recorded, districts, at(20, 3))
    assert days == {
        ("50", "5001"): 10,
        ("50", "5003"): 0,
        ("50", "5002"): 18,  # silent since its province began recording
    }  # Bangkok, where nothing was ever recorded, is not on the platform yet: no series


def test_a_code_dopa_no_longer_lists_still_tells_its_silence() -> None:
    days = silence({"5099": (at(1, 3), at(1, 3))}, {"50": ["5001"]}, at(16, 3))
    assert days == {("50", "5099"): 15, ("50", "5001"): 15}


def test_dopas_current_districts_are_known() -> None:
    districts = current_districts()
    assert len(districts) == 77 and sum(len(d) for d in districts.values()) == 928
    assert "1001" in districts["10"] and all(c[:2] == p for p, cs in districts.items() for c in cs)
