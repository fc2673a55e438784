"""The dashboard's pure parts: filters from the URL, kpi rows as months and continuity,
and the SVG chart's geometry."""

from __future__ import annotations

import datetime as dt

import pytest

from services.console.domain import charts
from services.console.domain import dashboard as dash

NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)  # fiscal year 2570
TODAY = dt.date(2026, 12, 4)


def test_no_filter_means_the_current_fiscal_year() -> None:
    filters, errors = dash.parse_filters({}, NOW)
    assert (filters, errors) == (dash.Filters(2570, TODAY), {})
    assert filters.params()["fiscal_year"] == 2570
    assert filters.query() == "fiscal_year=2570&as_of=2026-12-04"
    # Late evening in UTC is already the next day in Bangkok.
    late = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    assert dash.parse_filters({}, late)[0].as_of == dt.date(2026, 12, 5)


def test_every_filter_is_read_and_given_back_as_a_link() -> None:
    query = {
        "fiscal_year": "2569",
        "as_of": "4/12/2568",
        "province": "58",
        "district": "5801",
        "channel": "walk_in",
        "category": "land",
    }
    filters, errors = dash.parse_filters(query, NOW)
    assert errors == {}
    assert filters == dash.Filters(2569, dt.date(2025, 12, 4), "58", "5801", "walk_in", "land")
    assert filters.params() == {
        "fiscal_year": 2569,
        "as_of": "2025-12-04",
        "province_code": "58",
        "district_code": "5801",
        "channel": "walk_in",
        "category": "land",
    }
    assert dash.parse_filters(dict(_pairs(filters.query())), NOW)[0] == filters


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fiscal_year", "abc"),
        ("fiscal_year", "1999"),
        ("as_of", "31/02/2569"),
        ("as_of", "0001-01-01"),
        ("as_of", "1/1/3000"),
        ("province", "5"),
        ("district", "58x1"),
        ("channel", "pigeon"),
        ("category", "weather"),
    ],
)
def test_a_bad_filter_is_named_and_left_out(name: str, value: str) -> None:
    filters, errors = dash.parse_filters({name: value}, NOW)
    assert errors == {name: f"dashboard.error.{name}"}
    assert filters == dash.Filters(2570, TODAY)


def test_months_and_series_come_from_kpis_rows() -> None:
    doc = {
        "months": [
            {"month": "2026-10", "carried_in": 3, "received": 2, "closed": 1, "reopened": 0,
             "remaining": 4},
            {"month": "2026-11", "carried_in": 4, "received": 0, "closed": 2, "reopened": 1,
             "remaining": 3},
        ]
    }  # fmt: skip
    months = dash.months(doc)
    assert [(m.year_ce, m.month) for m in months] == [(2026, 10), (2026, 11)]
    assert dash.series(months) == [[3, 4], [2, 0], [1, 2], [4, 3]]


def test_silent_districts_come_first_longest_silence_first() -> None:
    def row(code: str, days: int, silent: bool) -> dict[str, object]:
        return {
            "province_code": code[:2],
            "district_code": code,
            "last_record_date": "2026-11-01",
            "days_since_last_record": days,
            "weeks_with_records": 1,
            "weeks_elapsed": 9,
            "silent": silent,
        }

    doc = {"districts": [row("5801", 3, False), row("5802", 20, True), row("5803", 40, True)]}
    assert [r.district_code for r in dash.continuity(doc)] == ["5803", "5802", "5801"]
    assert [r.district_code for r in dash.continuity(doc, 2)] == ["5803", "5802"]


def test_with_dates_reads_iso_dates() -> None:
    assert dash.with_dates({"reference_date": "2026-12-04", "x": 1}, "reference_date") == {
        "reference_date": dt.date(2026, 12, 4),
        "x": 1,
    }


@pytest.mark.parametrize(
    ("value", "nice"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (150, 200), (501, 1000)]
)
def test_the_axis_ends_at_a_round_number(value: int, nice: int) -> None:
    assert charts.nice_max(value) == nice


def test_bars_scale_to_the_axis_and_group_by_label() -> None:
    chart = charts.grouped_bars(["a", "b"], [[10, 5], [0, 2]], width=208, height=144)
    assert len(chart.bars) == 4 and [g.label for g in chart.groups] == ["a", "b"]
    tallest = chart.bars[0]
    assert tallest.value == 10 and tallest.y + tallest.height == chart.plot_bottom
    assert chart.bars[1].height == 0  # series 1 at "a" is zero
    assert chart.bars[2].height == pytest.approx(tallest.height / 2, abs=0.1)
    # Ticks are whole counts from 0 to the axis' top.
    assert [t.value for t in chart.ticks] == [0, 2, 4, 6, 8, 10]
    assert chart.bars[0].x < chart.bars[1].x < chart.bars[2].x < chart.bars[3].x


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per label"):
        charts.grouped_bars(["a", "b"], [[1]])
