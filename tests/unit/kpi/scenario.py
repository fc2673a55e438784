"""A hand-built set of cases with their exact expected KPI figures.

Used by the pure tests (folding and summarising in memory) and by the integration test
(publishing the same envelopes to the broker), so both tiers check the same numbers.

Cases (times UTC; Bangkok is UTC+7, FY 2569 starts 2025-09-30T17:00Z):

====  ========  ==============  ===============  =======  ==========================
case  district  channel         category         FY       outcome (days to close)
====  ========  ==============  ===============  =======  ==========================
A     5001      walk_in         land             2569     closed (10.0)
B     5001      hotline_1567    informal_debt    2569     open (accepted, started)
C     5001      walk_in         informal_debt    2569     closed then reopened: open
D     1001      web             land             2569     closed (5.0); first second
E     1001      web             land             2568     last second; closed in 2569
F     5001      letter          other            2568     open (filed only)
G     1001      line            drugs            2569     rejected (1.25)
H     5002      web             land             2569     forwarded and back, closed (3)
====  ========  ==============  ===============  =======  ==========================
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseStarted,
    ComplaintFiled,
    Envelope,
    EventData,
    reply_due,
)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


LAG = dt.timedelta(minutes=30)  # recorded half an hour after it happened


def filed(cid: uuid.UUID, received: str, district: str, channel: str, category: str) -> Envelope:
    at = utc(received)
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=cid,
        version=1,
        source="test/intake",
        occurred_at=at,
        recorded_at=at + LAG,
        data=ComplaintFiled(
            tracking_no=f"T-{cid.hex[:8]}",
            channel=ChannelCode(channel),
            category=CategoryCode(category),
            province_code=district[:2],
            district_code=district,
            received_at=at,
            recorded_at=at + LAG,
            anonymous=False,
        ),
    )


def step(cid: uuid.UUID, version: int, kind: str, at_text: str) -> Envelope:
    at = utc(at_text)
    makers: dict[str, Callable[[], EventData]] = {
        "accepted": lambda: CaseAccepted(actor="officer"),
        "rejected": lambda: CaseRejected(actor="officer", reason="not a complaint"),
        "started": lambda: CaseStarted(actor="officer"),
        "forwarded": lambda: CaseForwarded(
            actor="officer",
            agency="PEA",
            reply_due=reply_due(at.date() + dt.timedelta(days=15), at),
        ),
        "closed": lambda: CaseClosed(actor="officer", reason=ClosureReason.resolved),
        "reopened": lambda: CaseReopened(actor="officer", reason="complainant returned"),
    }
    data = makers[kind]()
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=cid,
        version=version,
        source="test/status",
        occurred_at=at,
        recorded_at=at + LAG,
        data=data,
    )


def build() -> dict[str, list[Envelope]]:
    """Fresh ids each call; each case's envelopes in version order."""
    ids = {name: uuid.uuid4() for name in "ABCDEFGH"}
    a, b, c, d, e, f, g, h = (ids[n] for n in "ABCDEFGH")
    return {
        "A": [
            filed(a, "2025-11-01T03:00", "5001", "walk_in", "land"),
            step(a, 2, "accepted", "2025-11-02T03:00"),
            step(a, 3, "closed", "2025-11-11T03:00"),
        ],
        "B": [
            filed(b, "2025-11-02T05:00", "5001", "hotline_1567", "informal_debt"),
            step(b, 2, "accepted", "2025-11-03T05:00"),
            step(b, 3, "started", "2025-11-04T05:00"),
        ],
        "C": [
            filed(c, "2025-12-01T00:00", "5001", "walk_in", "informal_debt"),
            step(c, 2, "accepted", "2025-12-01T06:00"),
            step(c, 3, "closed", "2025-12-03T12:00"),
            step(c, 4, "reopened", "2025-12-10T00:00"),
        ],
        "D": [
            filed(d, "2025-09-30T17:00:00", "1001", "web", "land"),
            step(d, 2, "accepted", "2025-10-01T17:00"),
            step(d, 3, "closed", "2025-10-05T17:00"),
        ],
        "E": [
            filed(e, "2025-09-30T16:59:59", "1001", "web", "land"),
            step(e, 2, "accepted", "2025-10-01T00:00"),
            step(e, 3, "closed", "2025-10-20T16:59:59"),
        ],
        "F": [filed(f, "2025-03-01T02:00", "5001", "letter", "other")],
        "G": [
            filed(g, "2026-01-05T00:00", "1001", "line", "drugs"),
            step(g, 2, "rejected", "2026-01-06T06:00"),
        ],
        "H": [
            filed(h, "2026-02-01T00:00", "5002", "web", "land"),
            step(h, 2, "accepted", "2026-02-01T06:00"),
            step(h, 3, "started", "2026-02-01T12:00"),
            step(h, 4, "forwarded", "2026-02-02T00:00"),
            step(h, 5, "started", "2026-02-03T00:00"),
            step(h, 6, "closed", "2026-02-04T00:00"),
        ],
    }


def _c(received: int, closed: int) -> dict[str, int]:
    return {"received": received, "closed": closed, "open": received - closed}


def _sla(within: int, rate: float | None) -> dict[str, object]:
    return {"closed_within_sla": within, "sla_rate": rate}


# Every question here is "as of now, knowing everything", over all channels and categories.
_NOW = {"channel": None, "category": None, "as_of": None, "known_at": None}

# (fiscal_year, province_code, district_code) -> expected summary.  With sla.toml (land 60,
# informal_debt 15, others 30 days) every closure here is within its SLA.
EXPECTED: dict[tuple[int, str | None, str | None], dict[str, object]] = {
    (2569, None, None): {
        "fiscal_year": 2569,
        "province_code": None,
        "district_code": None,
        **_NOW,
        **_c(6, 4),
        "closure_rate": 0.6667,
        **_sla(4, 1.0),
        "median_days_to_close": 4.0,
        "p90_days_to_close": 8.5,
        "by_channel": {
            "hotline_1567": _c(1, 0),
            "line": _c(1, 1),
            "walk_in": _c(2, 1),
            "web": _c(2, 2),
        },
        "by_category": {"drugs": _c(1, 1), "informal_debt": _c(2, 0), "land": _c(3, 3)},
    },
    (2569, "50", None): {
        "fiscal_year": 2569,
        "province_code": "50",
        "district_code": None,
        **_NOW,
        **_c(4, 2),
        "closure_rate": 0.5,
        **_sla(2, 1.0),
        "median_days_to_close": 6.5,
        "p90_days_to_close": 9.3,
        "by_channel": {"hotline_1567": _c(1, 0), "walk_in": _c(2, 1), "web": _c(1, 1)},
        "by_category": {"informal_debt": _c(2, 0), "land": _c(2, 2)},
    },
    (2569, None, "5001"): {
        "fiscal_year": 2569,
        "province_code": None,
        "district_code": "5001",
        **_NOW,
        **_c(3, 1),
        "closure_rate": 0.3333,
        **_sla(1, 1.0),
        "median_days_to_close": 10.0,
        "p90_days_to_close": 10.0,
        "by_channel": {"hotline_1567": _c(1, 0), "walk_in": _c(2, 1)},
        "by_category": {"informal_debt": _c(2, 0), "land": _c(1, 1)},
    },
    # median of 5.0 and 1.25 is 3.125: half-up rounding gives 3.13 (round() says 3.12)
    (2569, "10", "1001"): {
        "fiscal_year": 2569,
        "province_code": "10",
        "district_code": "1001",
        **_NOW,
        **_c(2, 2),
        "closure_rate": 1.0,
        **_sla(2, 1.0),
        "median_days_to_close": 3.13,
        "p90_days_to_close": 4.63,
        "by_channel": {"line": _c(1, 1), "web": _c(1, 1)},
        "by_category": {"drugs": _c(1, 1), "land": _c(1, 1)},
    },
    (2568, None, None): {
        "fiscal_year": 2568,
        "province_code": None,
        "district_code": None,
        **_NOW,
        **_c(2, 1),
        "closure_rate": 0.5,
        **_sla(1, 1.0),
        "median_days_to_close": 20.0,
        "p90_days_to_close": 20.0,
        "by_channel": {"letter": _c(1, 0), "web": _c(1, 1)},
        "by_category": {"land": _c(1, 1), "other": _c(1, 0)},
    },
    (2570, "10", None): {
        "fiscal_year": 2570,
        "province_code": "10",
        "district_code": None,
        **_NOW,
        **_c(0, 0),
        "closure_rate": None,
        **_sla(0, None),
        "median_days_to_close": None,
        "p90_days_to_close": None,
        "by_channel": {},
        "by_category": {},
    },
}
