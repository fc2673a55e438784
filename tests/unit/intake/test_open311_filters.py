"""``GET requests`` filters: the specification's defaults and every bad argument named."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.open311.domain.errors import Open311Error
from services.intake.open311.domain.filters import LIMIT, WINDOW, parse_filter

NOW = dt.datetime(2026, 12, 4, 5, 0, tzinfo=dt.UTC)


def test_no_argument_means_the_last_90_days_and_1000_requests() -> None:
    f = parse_filter([], NOW)
    assert (f.start, f.end, f.limit) == (NOW - dt.timedelta(days=90), NOW, 1000)
    assert f.ids is None and f.service_codes is None and f.statuses is None
    assert LIMIT == 1000 and dt.timedelta(days=90) == WINDOW


def test_one_end_of_the_window_gives_the_other() -> None:
    f = parse_filter([("start_date", "2026-01-01T00:00:00Z")], NOW)
    assert f.end - f.start == WINDOW
    f = parse_filter([("end_date", "2026-06-01T00:00:00+07:00")], NOW)
    assert f.end == dt.datetime(2026, 5, 31, 17, 0, tzinfo=dt.UTC)
    assert f.end - f.start == WINDOW


def test_naive_times_and_dates_are_bangkok() -> None:
    f = parse_filter([("start_date", "2026-01-01"), ("end_date", "2026-01-02T12:00")], NOW)
    assert f.start == dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC)
    assert f.end == dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.UTC)


def test_lists_may_be_comma_separated_and_repeated() -> None:
    f = parse_filter(
        [
            ("service_code", "land, other"),
            ("service_code", "environment"),
            ("status", "open,CLOSED"),
        ],
        NOW,
    )
    assert f.service_codes == {"land", "other", "environment"}
    assert f.statuses == {"open", "closed"}
    assert f.ids is None


def test_ids_override_every_other_argument() -> None:
    f = parse_filter(
        [("service_request_id", "a,b"), ("service_request_id", "a"), ("status", "bogus")], NOW
    )
    assert f.ids == ("a", "b")
    assert f.service_codes is None and f.statuses is None


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ([("service_code", "pothole")], "service_code: 'pothole' was not found"),
        ([("status", "pending")], "status: must be open or closed"),
        ([("start_date", "yesterday")], "start_date: must be a w3 date-time"),
        ([("end_date", "2026-13-01T00:00:00Z")], "end_date: must be a w3 date-time"),
        ([("start_date", "0001-01-01T00:00:00+14:00")], "start_date: must be a w3 date-time"),
        ([("start_date", "\x00")], "start_date: must be a w3 date-time"),
        (
            [("start_date", "2026-01-01T00:00:00Z"), ("end_date", "2026-06-01T00:00:00Z")],
            "end_date: the range may not span more than 90 days",
        ),
        (
            [("start_date", "2026-02-01T00:00:00Z"), ("end_date", "2026-01-01T00:00:00Z")],
            "start_date: must not be after end_date",
        ),
        ([("service_request_id", ",".join(["x"] * 1001))], "service_request_id: may list"),
    ],
)
def test_bad_arguments_are_400_naming_them(params: list[tuple[str, str]], description: str) -> None:
    with pytest.raises(Open311Error) as exc:
        parse_filter(params, NOW)
    assert exc.value.status == 400
    assert exc.value.errors[0].description.startswith(description)


def test_every_bad_argument_is_named_at_once() -> None:
    with pytest.raises(Open311Error) as exc:
        parse_filter([("status", "x"), ("service_code", "y"), ("start_date", "z")], NOW)
    assert [e.description.split(":")[0] for e in exc.value.errors] == [
        "service_code",
        "status",
        "start_date",
    ]
