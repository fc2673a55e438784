"""The province map's pure parts: the grid, totals per province, colour bands, district
rows and their sorting."""

from __future__ import annotations

import geothai
import pytest

from services.console.domain import provinces as pv


def test_the_grid_holds_every_current_province_once() -> None:
    assert set(pv.GRID) == {p.code for p in geothai.provinces()}
    assert len(set(pv.GRID.values())) == len(pv.GRID) == 77


def test_the_grid_roughly_follows_the_map() -> None:
    row = {code: r for code, (r, _) in pv.GRID.items()}
    column = {code: c for code, (_, c) in pv.GRID.items()}
    assert row["57"] < row["10"] < row["90"] < row["96"]  # Chiang Rai, Bangkok, the south
    assert column["63"] < column["65"] < column["40"] < column["34"]  # Tak .. Ubon


def _row(district: str, received: int, closed: int, backlog: int) -> dict[str, object]:
    return {
        "province_code": district[:2],
        "district_code": district,
        "received": received,
        "closed": closed,
        "backlog": backlog,
    }


def test_districts_sum_per_province() -> None:
    totals = pv.by_province([_row("5801", 4, 1, 3), _row("5802", 2, 2, 1), _row("1001", 1, 0, 1)])
    assert totals["58"] == pv.AreaTotals(6, 3, 4)
    assert totals["58"].closure_rate == 0.5
    assert pv.AreaTotals().closure_rate is None


@pytest.mark.parametrize(
    ("value", "measure", "peak", "band"),
    [
        (None, "backlog", 10, None),
        (0, "backlog", 10, 0),
        (10, "backlog", 10, 4),
        (5, "backlog", 10, 2),
        (1.0, "closure_rate", 0, 0),
        (0.0, "closure_rate", 0, 4),
        (0.5, "closure_rate", 0, 2),
    ],
)
def test_bands_darken_towards_what_needs_looking_at(
    value: float | None, measure: str, peak: float, band: int | None
) -> None:
    assert pv.band(value, measure, peak) == band


def test_tiles_name_every_province_and_carry_the_value() -> None:
    totals = {"58": pv.AreaTotals(6, 3, 4), "10": pv.AreaTotals(2, 0, 2)}
    tiles = {t.code: t for t in pv.tiles({"58": "แม่ฮ่องสอน"}, totals, "backlog")}
    assert len(tiles) == 77
    assert tiles["58"].name == "แม่ฮ่องสอน" and tiles["58"].value == 4 and tiles["58"].band == 4
    assert tiles["10"].name == "10" and tiles["10"].band == 2
    assert tiles["96"].value is None and tiles["96"].band is None
    rates = {t.code: t for t in pv.tiles({}, totals, "closure_rate")}
    assert rates["58"].value == 0.5
    with pytest.raises(ValueError, match="measure"):
        pv.tiles({}, totals, "colour")


def test_names_prefer_english_only_when_asked_and_present() -> None:
    items = [{"code": "58", "name_th": "แม่ฮ่องสอน", "name_en": "Mae Hong Son"},
             {"code": "99", "name_th": "ทดสอบ", "name_en": ""}]  # fmt: skip
    assert pv.names(items, "th") == {"58": "แม่ฮ่องสอน", "99": "ทดสอบ"}
    assert pv.names(items, "en") == {"58": "Mae Hong Son", "99": "ทดสอบ"}


def test_every_reference_district_gets_a_row_and_sorts() -> None:
    reference = [
        {"code": "5801", "name_th": "เมือง"},
        {"code": "5802", "name_th": "ขุนยวม"},
        {"code": "5803", "name_th": "ปาย"},
    ]
    rows = pv.district_rows(reference, [_row("5801", 4, 1, 3), _row("5803", 2, 2, 0)], "th")
    assert [r["code"] for r in rows] == ["5801", "5802", "5803"]
    assert rows[1] == {"code": "5802", "name": "ขุนยวม", "received": 0, "closed": 0,
                       "closure_rate": None, "backlog": 0}  # fmt: skip
    by_rate = pv.sort_districts(rows, "closure_rate", descending=True)
    assert [r["code"] for r in by_rate] == ["5803", "5801", "5802"]  # no rate: last
    by_rate_up = pv.sort_districts(rows, "closure_rate", descending=False)
    assert [r["code"] for r in by_rate_up] == ["5801", "5803", "5802"]
    # Thai order: ขุนยวม, ปาย, เมือง (under ม, not after every consonant).
    assert [r["code"] for r in pv.sort_districts(rows, "bogus", False)] == ["5802", "5803", "5801"]
    names = ["แม่สะเรียง", "ปาย", "เมือง", "ขุนยวม", "สบเมย"]
    ordered = sorted(names, key=pv.thai_key)
    assert ordered == ["ขุนยวม", "ปาย", "เมือง", "แม่สะเรียง", "สบเมย"]


@pytest.mark.parametrize("peak", [0, 1, 2, 3, 5, 7, 10, 99, 1234])
def test_the_legend_states_exactly_the_counts_of_each_band(peak: int) -> None:
    ranges = pv.backlog_bands(peak)
    assert len(ranges) == pv.BANDS
    for value in range(peak + 1):
        b = pv.band(value, "backlog", peak)
        assert b is not None
        found = ranges[b]
        assert found is not None and found[0] <= value <= found[1], (peak, value, ranges)
    covered = sum(high - low + 1 for r in ranges if r for low, high in [r])
    assert covered == peak + 1  # the bands do not overlap
