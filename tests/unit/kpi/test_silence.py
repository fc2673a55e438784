"""Days since a district's last record, counted in Bangkok calendar days (as the
``recording`` report counts them)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.kpi.silence import days_since

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
