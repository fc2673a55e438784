"""The province map as a tile grid, and the reference lists as names.

There is no boundary data here: each of the 77 provinces has a fixed cell in a grid that
roughly follows the country's shape (north at the top, the south's long tail below), so a
supervisor finds a province where they expect it.  Colours come from a value's band
(``band``), and every tile also shows its value as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# (row, column) of each province, by its DOPA code.
GRID: dict[str, tuple[int, int]] = {
    # North
    "57": (0, 4), "58": (1, 1), "50": (1, 2), "56": (1, 4), "55": (1, 5),
    "51": (2, 2), "52": (2, 3), "54": (2, 4), "53": (2, 5), "42": (2, 7), "43": (2, 8),
    "38": (2, 9),
    "63": (3, 1), "64": (3, 3), "65": (3, 4), "67": (3, 5), "39": (3, 7), "41": (3, 8),
    "47": (3, 9), "48": (3, 10),
    "62": (4, 2), "66": (4, 3), "60": (4, 4), "36": (4, 6), "40": (4, 7), "46": (4, 8),
    "49": (4, 10),
    # Centre and north-east
    "61": (5, 2), "18": (5, 3), "17": (5, 4), "16": (5, 5), "30": (5, 6), "44": (5, 7),
    "45": (5, 8), "35": (5, 9), "37": (5, 10),
    "71": (6, 1), "72": (6, 2), "15": (6, 3), "14": (6, 4), "19": (6, 5), "31": (6, 6),
    "32": (6, 7), "33": (6, 8), "34": (6, 9),
    "70": (7, 1), "73": (7, 2), "12": (7, 3), "13": (7, 4), "26": (7, 5), "25": (7, 6),
    "27": (7, 7),
    "75": (8, 1), "74": (8, 2), "10": (8, 3), "11": (8, 4), "24": (8, 5), "20": (8, 6),
    "22": (8, 7),
    "76": (9, 1), "21": (9, 6), "23": (9, 7),
    # South
    "77": (10, 1), "86": (11, 1), "85": (12, 0), "84": (12, 1),
    "82": (13, 0), "80": (13, 1), "83": (14, 0), "81": (14, 1), "93": (14, 2),
    "92": (15, 1), "90": (15, 2), "91": (16, 1), "94": (16, 3), "95": (17, 2), "96": (17, 3),
}  # fmt: skip
ROWS = 1 + max(r for r, _ in GRID.values())
COLUMNS = 1 + max(c for _, c in GRID.values())
BANDS = 5
MEASURES = ("backlog", "closure_rate")


@dataclass(frozen=True, slots=True)
class Tile:
    code: str
    name: str
    row: int
    column: int
    value: float | None  # None: no case in this province for the year
    band: int | None  # 0..BANDS-1, darker is "worse" for the measure; None: no value
    received: int
    closed: int
    backlog: int


def name_of(item: Mapping[str, Any], lang: str) -> str:
    """A reference item's name in the user's language (Thai when no English one)."""
    if lang == "en" and item.get("name_en"):
        return str(item["name_en"])
    return str(item.get("name_th") or item.get("code") or "")


def names(items: Iterable[Mapping[str, Any]], lang: str) -> dict[str, str]:
    return {str(i["code"]): name_of(i, lang) for i in items}


@dataclass(frozen=True, slots=True)
class AreaTotals:
    received: int = 0
    closed: int = 0
    backlog: int = 0

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.received if self.received else None


def by_province(district_rows: Sequence[Mapping[str, Any]]) -> dict[str, AreaTotals]:
    """kpi's district rows summed per province."""
    out: dict[str, AreaTotals] = {}
    for r in district_rows:
        code = str(r["province_code"])
        t = out.get(code, AreaTotals())
        out[code] = AreaTotals(
            t.received + int(r["received"]),
            t.closed + int(r["closed"]),
            t.backlog + int(r["backlog"]),
        )
    return out


def band(value: float | None, measure: str, peak: float) -> int | None:
    """The colour band of ``value``: backlog grows darker with size (relative to the
    largest), closure rate darker as it falls (a low rate is the one to look at)."""
    if value is None:
        return None
    if measure == "closure_rate":
        return min(BANDS - 1, max(0, int((1.0 - value) * BANDS)))
    # Multiply before dividing: a count on a band's edge lands exactly on it.
    return min(BANDS - 1, max(0, int(value * BANDS / peak))) if peak > 0 else 0


def backlog_bands(peak: int) -> list[tuple[int, int] | None]:
    """The whole backlog counts each colour band stands for, ``(low, high)`` (None: no
    count falls in that band for this ``peak``), as ``band`` assigns them."""
    if peak <= 0:
        return [(0, 0), *([None] * (BANDS - 1))]
    out: list[tuple[int, int] | None] = []
    for b in range(BANDS):
        low = -(-b * peak // BANDS)
        high = peak if b == BANDS - 1 else -(-(b + 1) * peak // BANDS) - 1
        out.append((low, high) if low <= high else None)
    return out


def tiles(
    provinces: Mapping[str, str], totals: Mapping[str, AreaTotals], measure: str
) -> list[Tile]:
    """One tile per province in ``GRID`` (named from ``provinces``), in reading order."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}")
    peak = max((t.backlog for t in totals.values()), default=0)
    out: list[Tile] = []
    for code, (row, column) in sorted(GRID.items(), key=lambda kv: kv[1]):
        t = totals.get(code, AreaTotals())
        value: float | None
        if measure == "closure_rate":
            value = t.closure_rate
        else:
            value = t.backlog if t.received or t.backlog else None
        out.append(
            Tile(
                code,
                provinces.get(code, code),
                row,
                column,
                value,
                band(value, measure, float(peak)),
                t.received,
                t.closed,
                t.backlog,
            )
        )
    return out


# Thai dictionary order files a word under its first consonant, not its leading vowel
# (เมือง under ม): swapping each leading vowel with the consonant after it sorts so.
_LEADING_VOWEL = re.compile("([\u0e40-\u0e44])([\u0e01-\u0e2e])")


def thai_key(name: str) -> str:
    return _LEADING_VOWEL.sub(r"\2\1", name)


SORTS = ("name", "received", "closed", "closure_rate", "backlog")


def sort_districts(
    rows: Sequence[Mapping[str, Any]], key: str, descending: bool
) -> list[Mapping[str, Any]]:
    """District rows sorted by a column of ``SORTS`` (unknown: by name); rows without a
    rate sort last whichever the direction."""
    if key not in SORTS:
        key = "name"
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    if key == "name":
        present.sort(key=lambda r: thai_key(str(r[key])), reverse=descending)
    else:
        present.sort(key=lambda r: r[key], reverse=descending)
    return [*present, *missing]


def district_rows(
    reference: Sequence[Mapping[str, Any]], counts: Sequence[Mapping[str, Any]], lang: str
) -> list[dict[str, Any]]:
    """Every district of the reference list (a province's), with kpi's counts beside it
    (zeros for a district without cases) and its closure rate."""
    by_code = {str(r["district_code"]): r for r in counts}
    out: list[dict[str, Any]] = []
    for item in reference:
        code = str(item["code"])
        r = by_code.get(code, {})
        received, closed = int(r.get("received", 0)), int(r.get("closed", 0))
        out.append(
            {
                "code": code,
                "name": name_of(item, lang),
                "received": received,
                "closed": closed,
                "closure_rate": closed / received if received else None,
                "backlog": int(r.get("backlog", 0)),
            }
        )
    return out
