"""Backfilled filings with an outcome open their case already at that outcome."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.chain import GENESIS, seal
from shared.envelope_codec import from_record
from shared.events import BackfilledOutcome, ComplaintFiled, Envelope
from tests.integration.status.conftest import StatusService
from tests.unit.status.factories import T0, filed
from tests.waiting import eventually

pytestmark = pytest.mark.integration

AT = dt.datetime(2025, 11, 20, 6, 15, tzinfo=dt.UTC)


def backfilled(**outcome: Any) -> Envelope:
    env = filed()
    assert isinstance(env.data, ComplaintFiled)
    data = env.data.model_copy(update={"backfilled": True, "outcome": BackfilledOutcome(**outcome)})
    # Sealed again: other content under the old hash would be dead-lettered as altered.
    return seal(env.model_copy(update={"data": data, "hash": None}), GENESIS)


async def _topic_records(svc: StatusService, key: bytes, n: int) -> list[Any]:
    """The first ``n`` records of the events topic with ``key`` from status's outbox."""
    c = AIOKafkaConsumer(
        bootstrap_servers=svc.settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await c.start()
    try:
        c.assign(
            [
                TopicPartition(svc.settings.events_topic, p)
                for p in range(svc.settings.topic_partitions)
            ]
        )
        await c.seek_to_beginning()
        mine: list[Any] = []
        deadline = time.monotonic() + 20
        while len(mine) < n and time.monotonic() < deadline:
            for recs in (await c.getmany(timeout_ms=300)).values():
                mine += [
                    r
                    for r in recs
                    if r.key == key and dict(r.headers)["ce_source"] == b"/damrong/status"
                ]
        assert len(mine) == n, f"{len(mine)} of {n} records"
        return mine
    finally:
        await c.stop()


async def test_closed_outcome(status_service: StatusService) -> None:
    svc = status_service
    env = backfilled(status="closed", at=AT, closure_reason="mediated", reason="ไกล่เกลี่ยแล้ว")
    cid = env.complaint_id
    await svc.publish(env)
    case = await svc.wait_for_case(cid)
    # The case appears in one transaction with its outcome: never seen at "filed".
    assert (case["status"], case["version"], case["closure_reason"]) == ("closed", 2, "mediated")
    assert dt.datetime.fromisoformat(case["closed_at"]) == AT
    assert dt.datetime.fromisoformat(case["received_at"]) == T0
    events = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert [(e["version"], e["type"].split(".")[-2]) for e in events] == [
        (1, "filed"),
        (2, "closed"),
    ]
    assert dt.datetime.fromisoformat(events[1]["occurred_at"]) == AT
    assert dt.datetime.fromisoformat(events[1]["recorded_at"]) > AT + dt.timedelta(days=30)
    assert events[1]["actor"] == "backfill"
    assert events[1]["data"] == {"actor": "backfill", "note": "ไกล่เกลี่ยแล้ว", "reason": "mediated"}

    [rec] = await _topic_records(svc, str(cid).encode(), 1)
    published = from_record(rec.headers, rec.value)
    assert published.type == "th.go.dopa.damrong.case.closed.v1"
    assert (published.version, published.occurred_at) == (2, AT)
    assert str(published.event_id) == events[1]["event_id"]

    # Redelivery changes nothing.
    consumer = svc.runtime.consumer
    assert consumer is not None
    before = consumer.applied
    await svc.publish(env)

    async def applied() -> int:
        return consumer.applied

    await eventually(applied, lambda n: n > before)
    again = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert again == events


async def test_forwarded_outcome_and_refused_outcome(status_service: StatusService) -> None:
    svc = status_service
    fwd = backfilled(status="forwarded", at=AT, agency="สำนักงานที่ดิน", due_date=dt.date(2025, 12, 20))
    bad = backfilled(status="closed", at=AT)  # no closure reason: opened at "filed"
    await svc.publish(fwd)
    await svc.publish(bad)
    case = await svc.wait_for_case(fwd.complaint_id)
    assert (case["status"], case["version"]) == ("forwarded", 4)
    assert (case["agency"], case["due_date"]) == ("สำนักงานที่ดิน", "2025-12-20")
    assert dt.datetime.fromisoformat(case["last_event_at"]) == AT
    events = (await svc.client.get(f"/v1/complaints/{fwd.complaint_id}/history")).json()
    assert [e["type"].split(".")[-2] for e in events["events"]] == [
        "filed",
        "accepted",
        "started",
        "forwarded",
    ]
    records = await _topic_records(svc, str(fwd.complaint_id).encode(), 3)
    assert [dict(r.headers)["ce_version"] for r in records] == [b"2", b"3", b"4"]

    case = await svc.wait_for_case(bad.complaint_id)
    assert (case["status"], case["version"]) == ("filed", 1)
    # An officer corrects it through the normal transitions.
    r = await svc.client.post(
        f"/v1/complaints/{bad.complaint_id}/transitions",
        json={"action": "close", "reason": "resolved", "occurred_at": AT.isoformat()},
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    assert uuid.UUID(case["complaint_id"]) == bad.complaint_id
