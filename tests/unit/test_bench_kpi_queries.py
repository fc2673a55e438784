"""bench/kpi_queries.py's workload: the events of a decade in the order they were
recorded, each case's versions in order, nothing recorded after now, some recorded late."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from bench.kpi_queries import workload
from shared.events import ComplaintFiled

NOW = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)


def test_events_come_in_recorded_order_and_each_case_in_version_order() -> None:
    events = list(workload(600, 3, NOW, seed=7))
    recorded = [e.recorded_at for e in events]
    assert recorded == sorted(recorded)
    assert max(recorded) < NOW
    versions: dict[object, list[int]] = defaultdict(list)
    for e in events:
        versions[e.complaint_id].append(e.version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    filings = [e for e in events if isinstance(e.data, ComplaintFiled)]
    assert 500 < len(filings) <= 600  # the latest may not be recorded yet
    late = [f for f in filings if f.recorded_at - f.occurred_at > dt.timedelta(days=2)]
    assert 0.05 < len(late) / len(filings) < 0.25  # one in eight, give or take
    closed = sum(1 for e in events if e.kind == "case.closed")
    assert closed > len(filings) / 2
