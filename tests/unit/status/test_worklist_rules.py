"""The worklist rules: open, stale, overdue and age, at their boundaries."""

from __future__ import annotations

import datetime as dt

import pytest

from services.status.domain.worklists import (
    bangkok_today,
    elapsed_days,
    is_open,
    is_overdue,
    is_stale,
    stale_cutoff,
)
from shared.codes import CaseStatus

NOW = dt.datetime(2026, 1, 31, 16, 59, tzinfo=dt.UTC)  # 23:59 on 31 Jan in Bangkok
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "open_"),
    [
        ("filed", True),
        ("accepted", True),
        ("in_progress", True),
        ("forwarded", True),
        ("reopened", True),
        ("closed", False),
        ("rejected", False),
    ],
)
def test_open_means_neither_closed_nor_rejected(status: str, open_: bool) -> None:
    assert is_open(status) is open_
    assert is_open(CaseStatus(status)) is open_


def test_elapsed_days_rounds_down_and_never_goes_negative() -> None:
    assert elapsed_days(NOW - 30 * DAY, NOW) == 30
    assert elapsed_days(NOW - 30 * DAY + dt.timedelta(seconds=1), NOW) == 29
    assert elapsed_days(NOW - dt.timedelta(hours=23), NOW) == 0
    assert elapsed_days(NOW + DAY, NOW) == 0


def test_stale_at_exactly_n_days_and_only_when_open() -> None:
    assert stale_cutoff(NOW, 30) == NOW - 30 * DAY
    assert is_stale("in_progress", NOW - 30 * DAY, NOW, 30)
    assert not is_stale("in_progress", NOW - 30 * DAY + dt.timedelta(seconds=1), NOW, 30)
    assert not is_stale("closed", NOW - 400 * DAY, NOW, 30)
    assert not is_stale("rejected", NOW - 400 * DAY, NOW, 30)
    # Stale exactly when the elapsed whole days reach N.
    for seconds in (0, 1, 86_399, 86_400, 2_592_000 - 1, 2_592_000, 2_600_000):
        last = NOW - dt.timedelta(seconds=seconds)
        assert is_stale("filed", last, NOW, 30) is (elapsed_days(last, NOW) >= 30)


def test_overdue_is_judged_by_the_bangkok_date() -> None:
    assert bangkok_today(NOW) == dt.date(2026, 1, 31)
    assert bangkok_today(NOW + dt.timedelta(minutes=1)) == dt.date(2026, 2, 1)
    due = dt.date(2026, 1, 31)
    assert not is_overdue("forwarded", due, NOW)  # due today: not yet overdue
    assert is_overdue("forwarded", due, NOW + dt.timedelta(minutes=1))  # 00:00 on 1 Feb
    assert is_overdue("forwarded", dt.date(2026, 1, 30), NOW)
    assert not is_overdue("in_progress", dt.date(2026, 1, 1), NOW)  # no longer forwarded
    assert not is_overdue("forwarded", None, NOW)
