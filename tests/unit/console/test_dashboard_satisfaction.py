"""The dashboard's satisfaction panel: kpi's satisfaction document as the 1..5 bars, the
per-district rows and the downloadable table (counts beside rates, the total last)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from services.console import exports
from services.console.dashboard.api import BY_DISTRICT, PATHS, TABLES, table
from services.console.domain import dashboard as dash
from services.console.domain.i18n import Translator
from services.console.templating import load_catalogue


def row(province: str, district: str, scores: tuple[int, ...], **more: Any) -> dict[str, Any]:
    rated = sum(scores)
    closures = more.pop("closures", rated + 1)
    mean = round(sum((i + 1) * n for i, n in enumerate(scores)) / rated, 2) if rated else None
    return {
        "province_code": province,
        "district_code": district,
        "closures": closures,
        "rated": rated,
        "response_rate": rated / closures if closures else None,
        "mean_score": mean,
        **{f"score_{i + 1}": n for i, n in enumerate(scores)},
        "disputed": 1,
        "disputed_rate": 1 / closures if closures else None,
        "reopened": 0,
        "reopened_rate": 0.0 if closures else None,
        **more,
    }


DOC: dict[str, Any] = {
    "fiscal_year": 2570,
    "total": row("", "", (1, 0, 0, 2, 1), closures=6),
    "districts": [row("58", "5801", (1, 0, 0, 2, 0)), row("58", "5802", (0, 0, 0, 0, 1))],
}


def test_the_distribution_is_one_bar_per_score_scaled_to_the_ratings() -> None:
    bars = dash.distribution(DOC["total"])
    assert [(b.score, b.count, b.bar) for b in bars] == [
        (1, 1, 25),
        (2, 0, 0),
        (3, 0, 0),
        (4, 2, 50),
        (5, 1, 25),
    ]
    assert bars[3].share == 0.5
    # No rating: no share and no bar, never a division by zero.
    assert [(b.count, b.share, b.bar) for b in dash.distribution({})] == [(0, None, 0)] * 5


def test_a_malformed_row_reads_as_no_ratings_rather_than_failing() -> None:
    bars = dash.distribution({"score_1": None, "score_3": "2"})
    assert [b.count for b in bars] == [0, 0, 2, 0, 0]
    assert dash.satisfaction_rows({}) == [] and dash.satisfaction_rows({"districts": None}) == []


def test_the_rows_keep_kpis_order_and_only_the_reports_columns() -> None:
    rows = dash.satisfaction_rows({**DOC, "districts": [{**DOC["districts"][0], "extra": 1}]})
    assert [r["district_code"] for r in rows] == ["5801"]
    assert set(rows[0]) == {"province_code", "district_code", *dash.SATISFACTION_COLUMNS}


def test_the_table_downloads_per_district_with_the_total_last() -> None:
    assert "satisfaction" in TABLES and "satisfaction" in BY_DISTRICT
    assert PATHS["satisfaction"] == "/v1/kpi/satisfaction"
    t = Translator(load_catalogue(), "th")
    out = table("satisfaction", DOC, t, {"5801": "เมืองแม่ฮ่องสอน"})
    assert out.name == "satisfaction-2570"
    assert out.headings[:4] == ["รหัสอำเภอ", "อำเภอ/เขต", "ครั้งที่ยุติเรื่อง", "ได้รับการประเมิน"]
    assert [r["district"] for r in out.rows] == ["เมืองแม่ฮ่องสอน", "5802", "รวม"]
    assert out.rows[-1]["closures"] == 6 and out.rows[-1]["score_4"] == 2
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(out))).active
    assert sheet is not None
    values = list(sheet.values)
    assert values[0][2] == "ครั้งที่ยุติเรื่อง" and values[-1][1] == "รวม"
    assert len(values) == 4


def test_every_satisfaction_text_has_both_languages() -> None:
    catalogue = load_catalogue()
    keys = [k for k in catalogue if k.startswith("dashboard.satisfaction.")]
    assert len(keys) > 20
    for key in keys:
        assert catalogue[key]["th"] and catalogue[key]["en"], key
    for column in ("district_code", "district", *dash.SATISFACTION_COLUMNS):
        assert f"dashboard.satisfaction.col.{column}" in catalogue


def test_the_dashboard_shows_the_most_disputed_and_reopened_first() -> None:
    rows = [
        {"district_code": "5801", "disputed": 1, "reopened": 0},
        {"district_code": "5803", "disputed": 2, "reopened": 3},
        {"district_code": "5802", "disputed": None, "reopened": 1},
        {"district_code": "5804", "disputed": 0, "reopened": 1},
    ]
    assert [r["district_code"] for r in dash.most_concerning({"districts": rows}, 3)] == [
        "5803",  # five
        "5801",  # one each, then by code
        "5802",
    ]
    assert dash.SHOWN_DISTRICTS >= 20  # a screenful, not the country
