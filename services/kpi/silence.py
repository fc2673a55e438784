"""Per district, days since it last recorded a complaint: the signal the ministry's letters
are about (recording that stops), as the gauge
``damrong_district_days_since_last_record{province, district}`` on kpi's ``/metrics``,
for the alert on districts silent for more than ``SILENT_AFTER_DAYS`` days.

Counted as the ``recording`` report counts it: Bangkok calendar days from the day the
district's latest filing was recorded (any fiscal year of origin) to today.  Read at each
scrape with one index probe per district (a skip scan over ``cases_district_recorded``),
not a scan of every case.  A district that never recorded anything has no series: the
reference list of districts lives in intake, and the ``recording`` report lists the
silent ones by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import asyncpg
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
       (SELECT max(c.recorded_at) FROM cases AS c WHERE c.district_code = d.district_code)
           AS last
  FROM d WHERE d.district_code IS NOT NULL"""


def days_since(last: dt.datetime, now: dt.datetime) -> int:
    """Bangkok calendar days from the day of ``last`` to the day of ``now``."""
    return (local_date(now) - local_date(last)).days


def install(
    metrics: Metrics,
    pool: Callable[[], asyncpg.Pool | None],
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """Add the gauge to ``metrics``, refreshed from ``pool()`` before each scrape."""
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
        today = now()
        gauge.clear()
        for r in rows:
            district = r["district_code"]
            gauge.labels(district[:2], district).set(days_since(r["last"], today))

    metrics.on_scrape.append(refresh)
