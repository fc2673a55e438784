"""Then vs now's pure parts: the date T, kpi's known_at for it, and the gaps."""

from __future__ import annotations

import datetime as dt

from services.console.domain import compare as cmp

NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)  # 4 Dec 2026, 10:00 in Bangkok


def test_t_defaults_to_the_end_of_the_previous_month() -> None:
    assert cmp.parse_moment(None, NOW) == (dt.date(2026, 11, 30), None)
    assert cmp.parse_moment("", NOW) == (dt.date(2026, 11, 30), None)
    # 1 Dec 00:30 in Bangkok is still 30 Nov in UTC: Bangkok's month counts.
    early = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)
    assert cmp.default_moment(early) == dt.date(2026, 11, 30)


def test_t_is_read_as_iso_or_thai_and_never_in_the_future() -> None:
    assert cmp.parse_moment("2026-11-15", NOW) == (dt.date(2026, 11, 15), None)
    assert cmp.parse_moment("15/11/2569", NOW) == (dt.date(2026, 11, 15), None)
    assert cmp.parse_moment("2026-12-04", NOW) == (dt.date(2026, 12, 4), None)
    assert cmp.parse_moment("2026-12-05", NOW) == (dt.date(2026, 11, 30), "compare.error.future")
    assert cmp.parse_moment("31/02/2569", NOW) == (dt.date(2026, 11, 30), "compare.error.at")
    assert cmp.parse_moment("0001-01-01", NOW) == (dt.date(2026, 11, 30), "compare.error.at")


def test_known_at_is_the_end_of_t_in_bangkok_time() -> None:
    assert cmp.known_at(dt.date(2026, 11, 30)) == "2026-11-30T23:59:59"


def _row(code: str, received: int, closed: int) -> dict[str, object]:
    return {"district_code": code, "received": received, "closed": closed}


def test_gaps_per_district_largest_first_with_shares() -> None:
    then = [_row("5801", 8, 2), _row("5802", 5, 5)]
    now = [_row("5801", 10, 3), _row("5802", 5, 5), _row("5803", 4, 0)]
    rows = cmp.gaps(then, now, {"5803": "แม่ลาน้อย"})
    assert [g.district_code for g in rows] == ["5803", "5801", "5802"]
    new = rows[0]
    assert (new.name, new.received_then, new.received_gap, new.received_gap_share) == (
        "แม่ลาน้อย", 0, 4, 1.0,
    )  # fmt: skip
    assert (rows[1].name, rows[1].received_gap, rows[1].closed_gap) == ("5801", 2, 1)
    assert rows[1].received_gap_share == 0.2
    assert rows[2].received_gap == 0
    assert cmp.Gap("x", "x", 0, 0, 0, 0).received_gap_share is None
    total = cmp.total(rows, "รวม")
    assert (total.received_then, total.received_now, total.received_gap) == (13, 19, 6)
    assert cmp.as_row(new)["received_gap"] == 4 and list(cmp.as_row(new)) == list(cmp.COLUMNS)
