"""A hand-built history across three fiscal years, with its exact figures as of past dates
and as known at past times.  Used by the pure tests and, over HTTP, by the integration
tests.

Times UTC (Bangkok = UTC+7; FY 2569 starts 2025-09-30T17:00Z).  Each event is recorded
30 minutes after it happened unless said otherwise.

====  ========  =======  ==============  ====  ==============================================
case  district  channel  category        FY    history
====  ========  =======  ==============  ====  ==============================================
P     1001      web      land            2567  received 2024-06-01, closed 2025-11-15 (2569)
Q     1001      walk_in  informal_debt   2568  received 2025-08-10, accepted, open
R     1001      walk_in  informal_debt   2569  received 2025-10-10, closed 11-04 (25 days,
                                               over its 15-day SLA), reopened 12-01,
                                               closed again 2026-01-05 (87 days)
S     5001      letter   other           2568  received 2025-07-01, BACKFILLED: all three
                                               events recorded 2026-03-01T02:00, closed
                                               back-dated 2025-10-20
T     5001      web      land            2569  received 2025-12-20, closed 2026-01-10 but
                                               the closure recorded late, 2026-02-20
U     5002      line     drugs           2569  received 2026-01-15, open
====  ========  =======  ==============  ====  ==============================================
"""

from __future__ import annotations

import datetime as dt
import uuid

from shared.events import ComplaintFiled, Envelope
from tests.unit.kpi.scenario import filed, step, utc

BACKFILLED_AT = "2026-03-01T02:00"
LATE_CLOSURE_RECORDED = "2026-02-20T03:00"
BEFORE_LATE = utc("2026-02-01T00:00")  # knows neither S nor T's closure
AFTER_LATE = utc("2026-03-05T00:00")  # knows everything


def _recorded(env: Envelope, at: str) -> Envelope:
    when = utc(at)
    data = env.data
    if isinstance(data, ComplaintFiled):
        data = data.model_copy(update={"recorded_at": when, "backfilled": True})
    return env.model_copy(update={"recorded_at": when, "data": data})


def build() -> dict[str, list[Envelope]]:
    """Fresh ids each call; each case's envelopes in version order."""
    p, q, r, s, t, u = (uuid.uuid4() for _ in range(6))
    return {
        "P": [
            filed(p, "2024-06-01T03:00", "1001", "web", "land"),
            step(p, 2, "accepted", "2024-06-02T03:00"),
            step(p, 3, "closed", "2025-11-15T03:00"),
        ],
        "Q": [
            filed(q, "2025-08-10T03:00", "1001", "walk_in", "informal_debt"),
            step(q, 2, "accepted", "2025-08-11T03:00"),
        ],
        "R": [
            filed(r, "2025-10-10T03:00", "1001", "walk_in", "informal_debt"),
            step(r, 2, "accepted", "2025-10-11T03:00"),
            step(r, 3, "closed", "2025-11-04T03:00"),
            step(r, 4, "reopened", "2025-12-01T03:00"),
            step(r, 5, "started", "2025-12-02T03:00"),
            step(r, 6, "closed", "2026-01-05T03:00"),
        ],
        "S": [
            _recorded(filed(s, "2025-07-01T02:00", "5001", "letter", "other"), BACKFILLED_AT),
            _recorded(step(s, 2, "accepted", "2025-07-02T02:00"), BACKFILLED_AT),
            _recorded(step(s, 3, "closed", "2025-10-20T02:00"), BACKFILLED_AT),
        ],
        "T": [
            filed(t, "2025-12-20T03:00", "5001", "web", "land"),
            step(t, 2, "accepted", "2025-12-21T03:00"),
            _recorded(step(t, 3, "closed", "2026-01-10T03:00"), LATE_CLOSURE_RECORDED),
        ],
        "U": [filed(u, "2026-01-15T03:00", "5002", "line", "drugs")],
    }


def _c(received: int, closed: int) -> dict[str, int]:
    return {"received": received, "closed": closed, "open": received - closed}


def _fig(
    received: int,
    closed: int,
    rate: float | None,
    within: int,
    sla: float | None,
    med: float | None,
    p90: float | None,
) -> dict[str, object]:
    return {
        **_c(received, closed),
        "closure_rate": rate,
        "closed_within_sla": within,
        "sla_rate": sla,
        "median_days_to_close": med,
        "p90_days_to_close": p90,
    }


# FY 2569 summaries: (as_of, known_at) -> (figures, by_channel, by_category)
SUMMARY_2569: dict[tuple[dt.date | None, dt.datetime | None], tuple[dict, dict, dict]] = {
    # Everything: R closed in 87 days (informal_debt SLA 15: late), T in 21 (land 60).
    (None, None): (
        _fig(3, 2, 0.6667, 1, 0.5, 54.0, 80.4),
        {"line": _c(1, 0), "walk_in": _c(1, 1), "web": _c(1, 1)},
        {"drugs": _c(1, 0), "informal_debt": _c(1, 1), "land": _c(1, 1)},
    ),
    # The day before R's first closure: R open.
    (dt.date(2025, 11, 3), None): (
        _fig(1, 0, 0.0, 0, None, None, None),
        {"walk_in": _c(1, 0)},
        {"informal_debt": _c(1, 0)},
    ),
    # The day of it (10:00 Bangkok): closed in 25 days, within the 30-day default but not
    # within informal_debt's 15.
    (dt.date(2025, 11, 4), None): (
        _fig(1, 1, 1.0, 0, 0.0, 25.0, 25.0),
        {"walk_in": _c(1, 1)},
        {"informal_debt": _c(1, 1)},
    ),
    # After R's reopening, T received, neither closed yet.
    (dt.date(2025, 12, 31), None): (
        _fig(2, 0, 0.0, 0, None, None, None),
        {"walk_in": _c(1, 0), "web": _c(1, 0)},
        {"informal_debt": _c(1, 0), "land": _c(1, 0)},
    ),
    # End of January as a supervisor printed it on 1 February: T's closure not recorded yet.
    (dt.date(2026, 1, 31), BEFORE_LATE): (
        _fig(3, 1, 0.3333, 0, 0.0, 87.0, 87.0),
        {"line": _c(1, 0), "walk_in": _c(1, 1), "web": _c(1, 0)},
        {"drugs": _c(1, 0), "informal_debt": _c(1, 1), "land": _c(1, 0)},
    ),
    # ... and the same day as known now: the difference is the late recording.
    (dt.date(2026, 1, 31), AFTER_LATE): (
        _fig(3, 2, 0.6667, 1, 0.5, 54.0, 80.4),
        {"line": _c(1, 0), "walk_in": _c(1, 1), "web": _c(1, 1)},
        {"drugs": _c(1, 0), "informal_debt": _c(1, 1), "land": _c(1, 1)},
    ),
}

# Backlog (open) by fiscal year of origin: (as_of, known_at) -> {origin: open}
BACKLOG: dict[tuple[dt.date | None, dt.datetime | None], dict[int, int]] = {
    (None, None): {2568: 1, 2569: 1},  # Q and U
    (dt.date(2025, 9, 30), None): {2567: 1, 2568: 2},  # P; Q and the backfilled S
    (dt.date(2025, 9, 30), BEFORE_LATE): {2567: 1, 2568: 1},  # S not recorded yet
}

# Carry-over into FY 2569: known_at -> [(origin, open_at_start, closed_during, still_open)]
CARRY_OVER_2569: dict[dt.datetime | None, list[tuple[int, int, int, int]]] = {
    None: [(2567, 1, 1, 0), (2568, 2, 1, 1)],  # P closed; S closed, Q still open
    BEFORE_LATE: [(2567, 1, 1, 0), (2568, 1, 0, 1)],
}

# Aging as of 2025-12-31 (Q 143 days, R 82, T 11; P and S closed, U not received).
AGING_2025_12_31 = {"0-15": 1, "16-30": 0, "31-60": 0, "61-90": 1, ">90": 1}

# Recording: all filings, as of 2026-03-10 (FY 2569, 23 weeks begun).
RECORDING_2026_03_10 = {
    "filings": 6,
    "median_lag_days": 0.02,  # 30 minutes; S took 243 days
    "within_1_day": 5,
    "share_within_1_day": 0.8333,
    "within_7_days": 5,
    "share_within_7_days": 0.8333,
    "continuity_fiscal_year": 2569,
    "districts": [
        {
            "province_code": "10",
            "district_code": "1001",
            "last_record_date": "2025-10-10",
            "days_since_last_record": 151,
            "weeks_with_records": 1,
            "weeks_elapsed": 23,
            "silent": True,
        },
        {
            "province_code": "50",
            "district_code": "5001",
            "last_record_date": "2026-03-01",
            "days_since_last_record": 9,
            "weeks_with_records": 2,
            "weeks_elapsed": 23,
            "silent": False,
        },
        {
            "province_code": "50",
            "district_code": "5002",
            "last_record_date": "2026-01-15",
            "days_since_last_record": 54,
            "weeks_with_records": 1,
            "weeks_elapsed": 23,
            "silent": True,
        },
    ],
    "silent_districts": ["1001", "5002"],
}


def _months(carried: int, moves: list[tuple[int, int, int]]) -> list[dict[str, object]]:
    """Expected monthly rows from Oct 2025 on, written out: (received, closed, reopened)."""
    rows, cr, cc = [], 0, 0
    for i, (rec, clo, reo) in enumerate(moves):
        y, m = (2025, 10 + i) if i < 3 else (2026, i - 2)
        remaining = carried + rec - clo + reo
        cr, cc = cr + rec, cc + clo
        rows.append(
            {
                "month": f"{y}-{m:02d}",
                "carried_in": carried,
                "received": rec,
                "closed": clo,
                "reopened": reo,
                "remaining": remaining,
                "cumulative_received": cr,
                "cumulative_closed": cc,
            }
        )
        carried = remaining
    return rows


_QUIET = [(0, 0, 0)] * 8  # February .. September
# (as_of, known_at) -> rows
MONTHLY_2569: dict[tuple[dt.date | None, dt.datetime | None], list[dict[str, object]]] = {
    # Oct: R in, S closed; Nov: P, R closed; Dec: T in, R reopened; Jan: U in, R, T closed.
    (None, None): _months(3, [(1, 1, 0), (0, 2, 0), (1, 0, 1), (1, 2, 0), *_QUIET]),
    (dt.date(2025, 12, 15), None): _months(3, [(1, 1, 0), (0, 2, 0), (0, 0, 1)]),
    (None, BEFORE_LATE): _months(2, [(1, 0, 0), (0, 2, 0), (1, 0, 1), (1, 1, 0), *_QUIET]),
}
# Open cases at the end of each month (everything known): remaining must equal these.
OPEN_AT_MONTH_END = [3, 1, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2]

# National table, FY 2569, now.
DISTRICTS_2569 = [
    {
        "province_code": "10",
        "district_code": "1001",
        "received": 1,
        "closed": 1,
        "open": 0,
        "closure_rate": 1.0,
        "closure_rate_lower_bound": 0.2065,
        "backlog": 1,
        "rank_backlog": 1,
        "rank_closure": 1,
    },
    {
        "province_code": "50",
        "district_code": "5001",
        "received": 1,
        "closed": 1,
        "open": 0,
        "closure_rate": 1.0,
        "closure_rate_lower_bound": 0.2065,
        "backlog": 0,
        "rank_backlog": 3,
        "rank_closure": 2,
    },
    {
        "province_code": "50",
        "district_code": "5002",
        "received": 1,
        "closed": 0,
        "open": 1,
        "closure_rate": 0.0,
        "closure_rate_lower_bound": 0.0,
        "backlog": 1,
        "rank_backlog": 2,
        "rank_closure": 3,
    },
]
