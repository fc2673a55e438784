"""Per district, days since it last recorded a complaint: the signal the ministry's letters
are about (recording that stops), as the gauge
``damrong_district_days_since_last_record{province, district}`` on kpi's ``/metrics``,
for the alert on districts silent for more than ``SILENT_AFTER_DAYS`` days.

Counted as the ``recording`` report counts it: Bangkok calendar days from the day the
district's latest filing was recorded (any fiscal year of origin) to today.  Read at each
scrape with two index probes per district that recorded (a skip scan over
``cases_district_recorded``), not a scan of every case.

A district that never recorded anything is the silence the letters mean most.  In a
province that records on the platform (any of its districts has), such a district counts
from the day its province's first filing was recorded; a province where nothing was ever
recorded is not on the platform yet (a roll-out province by province), and has no series.
The current districts are DOPA's (``geothai``, as intake validates them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import asyncpg
import geothai
from prometheus_client import Gauge

from services.kpi.domain.asof import local_date
from shared.metrics import Metrics

# The next district after the one before, then that district's latest recording: both
# answered from the index, whatever the number of cases.
LAST_RECORDED = """
WITH RECURSIVE d AS (
    (SELECT district_code FROM cases ORDER BY district_code LIMIT 1)
    UNION ALL
    SELECT (SELECT c.district_code FROM cases AS c WHERE c.district_code > d.district_code
             ORDER BY c.district_code LIMIT 1)
      FROM d WHERE d.district_code IS NOT NULL
)
SELECT d.district_code,
       (SELECT min(c.recorded_at) FROM cases AS c WHERE c.district_code = d.district_code)
           AS first,
       (SELECT max(c.recorded_at) FROM cases AS c WHERE c.district_code = d.district_code)
           AS last
  FROM d WHERE d.district_code IS NOT NULL"""


def days_since(last: dt.datetime, now: dt.datetime) -> int:
    """Bangkok calendar days from the day of ``last`` to the day of ``now``."""
    return (local_date(now) - local_date(last)).days


def current_districts() -> dict[str, list[str]]:
    """DOPA's current district codes by province code."""
    return {p.code: [d.code for d in geothai.districts(p.code)] for p in geothai.provinces()}


def silence(
    recorded: Mapping[str, tuple[dt.datetime, dt.datetime]],
    districts: Mapping[str, Sequence[str]],
    now: dt.datetime,
) -> dict[tuple[str, str], int]:
    """Days of silence by (province, district): ``recorded`` holds each recording
    district's first and latest record; ``districts`` the current districts by province
    (see the module docstring for those that never recorded)."""
    out = {(code[:2], code): days_since(last, now) for code, (_first, last) in recorded.items()}
    started: dict[str, dt.datetime] = {}
    for code, (first, _last) in recorded.items():
        province = code[:2]
        started[province] = min(first, started.get(province, first))
    for province, start in started.items():
        for code in districts.get(province, ()):
            if code not in recorded:
                out[(province, code)] = days_since(start, now)
    return out


def install(
    metrics: Metrics,
    pool: Callable[[], asyncpg.Pool | None],
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """Add the gauge to ``metrics``, refreshed from ``pool()`` before each scrape."""
    districts = current_districts()
    gauge = Gauge(
        "damrong_district_days_since_last_record",
        "Days since the district last recorded a complaint (Bangkok calendar days).",
        ["province", "district"],
        registry=metrics.registry,
    )

    async def refresh() -> None:
        db = pool()
        if db is None:
            return  # not started yet
        rows = await db.fetch(LAST_RECORDED)
        recorded = {r["district_code"]: (r["first"], r["last"]) for r in rows}
        gauge.clear()
        for (province, district), days in silence(recorded, districts, now()).items():
            gauge.labels(province, district).set(days)

    metrics.on_scrape.append(refresh)
