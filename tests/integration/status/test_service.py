"""The status service end to end on the real PostgreSQL and broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.envelope_codec import from_record
from shared.events import CaseAccepted, ComplaintFiled, Envelope
from tests.auth import admin_headers
from tests.integration.status.conftest import StatusService
from tests.signing import signed_record
from tests.unit.status.factories import filed
from tests.waiting import eventually

OFFICER_7 = admin_headers("officer-7")

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()


async def _filed_case(svc: StatusService) -> Envelope:
    env = filed()
    await svc.publish(env)
    await svc.wait_for_case(env.complaint_id)
    return env


async def _move(svc: StatusService, cid: uuid.UUID, action: str, **kw: Any) -> Any:
    # The recorded actor is the token's subject.
    return await svc.client.post(
        f"/v1/complaints/{cid}/transitions", json={"action": action, **kw}, headers=OFFICER_7
    )


async def test_filing_creates_the_case(status_service: StatusService) -> None:
    env = filed()
    await status_service.publish(env)
    case = await status_service.wait_for_case(env.complaint_id)
    data = env.data
    assert isinstance(data, ComplaintFiled)
    assert case["status"] == "filed" and case["version"] == 1
    assert case["tracking_no"] == data.tracking_no
    assert (case["province_code"], case["district_code"], case["subdistrict_code"]) == (
        "10",
        "1001",
        "100101",
    )
    assert (case["category"], case["channel"]) == ("land", "walk_in")
    assert dt.datetime.fromisoformat(case["received_at"]) == data.received_at
    assert case["closed_at"] is None and case["agency"] is None


async def test_lifecycle_end_to_end_and_history(status_service: StatusService) -> None:
    svc = status_service
    env = await _filed_case(svc)
    cid = env.complaint_id
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("accept", {"note": "รับเรื่อง"}, "accepted"),
        ("start", {}, "in_progress"),
        ("forward", {"agency": "Land Office", "due_date": DUE}, "forwarded"),
        ("start", {}, "in_progress"),
        ("close", {"reason": "resolved"}, "closed"),
        ("reopen", {"reason": "complainant appealed"}, "reopened"),
        ("start", {}, "in_progress"),
        ("close", {"reason": "mediated", "expected_version": 8}, "closed"),
    ]
    for version, (action, kw, status) in enumerate(steps, start=2):
        r = await _move(svc, cid, action, **kw)
        assert r.status_code == 200, r.text
        assert r.json() == {"complaint_id": str(cid), "status": status, "version": version}
    case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
    assert (case["status"], case["version"], case["closure_reason"]) == ("closed", 9, "mediated")
    assert case["closed_at"] is not None and case["closed_at"] == case["last_event_at"]
    assert (case["agency"], case["due_date"]) == ("Land Office", DUE)

    r = await svc.client.get(f"/v1/complaints/{cid}/history")
    assert r.status_code == 200
    events = r.json()["events"]
    assert [e["version"] for e in events] == list(range(1, 10))
    assert [e["type"].split(".")[-2] for e in events] == [
        "filed",
        "accepted",
        "started",
        "forwarded",
        "started",
        "closed",
        "reopened",
        "started",
        "closed",
    ]
    assert events[0]["event_id"] == str(env.event_id) and events[0]["actor"] is None
    assert all(e["actor"] == "officer-7" for e in events[1:])
    assert events[1]["data"]["note"] == "รับเรื่อง"
    forwarded = events[3]["data"]
    assert forwarded["reply_due"]["date"] == DUE and forwarded["reply_due"]["days"] in (29, 30)
    assert {k: v for k, v in forwarded.items() if k != "reply_due"} == {
        "actor": "officer-7",
        "note": None,
        "agency": "Land Office",
        "agency_code": None,
    }
    assert events[3]["type"].endswith("case.forwarded.v2")
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    occurred = [dt.datetime.fromisoformat(e["occurred_at"]) for e in events[1:]]
    assert occurred == sorted(occurred)


async def test_conflicts_and_not_found(status_service: StatusService) -> None:
    svc = status_service
    cid = (await _filed_case(svc)).complaint_id
    assert (await _move(svc, cid, "accept", expected_version=1)).status_code == 200

    stale = await _move(svc, cid, "start", expected_version=1)
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith(PROBLEM)
    body = stale.json()
    assert (body["current_status"], body["current_version"]) == ("accepted", 2)

    illegal = await _move(svc, cid, "forward", agency="X", due_date=DUE)
    assert illegal.status_code == 409
    assert illegal.json()["current_status"] == "accepted"
    assert "accepted" in illegal.json()["detail"]

    unknown = uuid.uuid4()
    for r in (
        await _move(svc, unknown, "accept"),
        await svc.client.get(f"/v1/complaints/{unknown}"),
        await svc.client.get(f"/v1/complaints/{unknown}/history"),
    ):
        assert r.status_code == 404
        assert r.headers["content-type"].startswith(PROBLEM)

    case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
    assert (case["status"], case["version"]) == ("accepted", 2)


async def test_missing_fields_are_422(status_service: StatusService) -> None:
    svc = status_service
    cid = (await _filed_case(svc)).complaint_id
    r = await _move(svc, cid, "reject")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert r.headers["content-type"].startswith(PROBLEM)
    assert (await _move(svc, cid, "accept")).status_code == 200
    assert (await _move(svc, cid, "start")).status_code == 200
    r = await _move(svc, cid, "forward", due_date=DUE)
    assert r.status_code == 422 and r.json()["field"] == "agency"
    r = await _move(svc, cid, "forward", agency="Police")
    assert r.status_code == 422 and r.json()["field"] == "due_date"
    r = await _move(svc, cid, "forward", agency="Police", due_date="2020-01-01")
    assert r.status_code == 422 and r.json()["field"] == "due_date"
    r = await _move(svc, cid, "close", reason="tired")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await _move(svc, cid, "teleport")
    assert r.status_code == 422
    assert (await svc.client.get(f"/v1/complaints/{cid}")).json()["version"] == 3


async def test_concurrent_transitions_exactly_one_wins(status_service: StatusService) -> None:
    svc = status_service
    cid = (await _filed_case(svc)).complaint_id
    results = await asyncio.gather(
        *(_move(svc, cid, "accept", expected_version=1) for _ in range(8))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7
    history = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert [e["version"] for e in history] == [1, 2]


async def test_duplicate_filing_is_ignored(status_service: StatusService) -> None:
    svc = status_service
    env = await _filed_case(svc)
    assert (await _move(svc, env.complaint_id, "accept")).status_code == 200
    consumer = svc.runtime.consumer
    assert consumer is not None
    before = consumer.applied
    # The same event again, and a different filing claiming the same case id.
    await svc.publish(env)
    await svc.publish(filed(env.complaint_id))
    await eventually(lambda: _true(consumer.applied >= before + 2))
    case = (await svc.client.get(f"/v1/complaints/{env.complaint_id}")).json()
    assert (case["status"], case["version"]) == ("accepted", 2)
    assert isinstance(env.data, ComplaintFiled)
    assert case["tracking_no"] == env.data.tracking_no
    history = (await svc.client.get(f"/v1/complaints/{env.complaint_id}/history")).json()
    assert [e["event_id"] for e in history["events"]][:1] == [str(env.event_id)]
    assert len(history["events"]) == 2


async def _true(value: bool) -> bool:
    return value


def _consumer(svc: StatusService) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=svc.settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def _read_all(svc: StatusService, topic: str, until: Any, timeout: float = 20.0) -> list[Any]:
    """Read ``topic`` from the start (no group: no join delay) until ``until(records)``."""
    c = _consumer(svc)
    await c.start()
    try:
        c.assign([TopicPartition(topic, p) for p in range(svc.settings.topic_partitions)])
        await c.seek_to_beginning()
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recs in (await c.getmany(timeout_ms=300)).values():
                records.extend(recs)
            if until(records):
                return records
        raise AssertionError(f"{topic}: condition not met; {len(records)} records read")
    finally:
        await c.stop()


async def test_malformed_records_go_to_dlq_and_later_ones_apply(
    status_service: StatusService,
) -> None:
    svc = status_service
    good = filed()
    key = str(good.complaint_id).encode()
    # Same key -> same partition, so the good filing really comes after the bad ones.
    await svc.publish_raw(key, b"{not json", [("ce_type", b"nonsense")])
    bad_version = filed(good.complaint_id, version=2)
    k, headers, value = signed_record(bad_version)
    await svc.publish_raw(k, value, headers)
    await svc.publish(good)
    case = await svc.wait_for_case(good.complaint_id)
    assert isinstance(good.data, ComplaintFiled)
    assert case["version"] == 1 and case["tracking_no"] == good.data.tracking_no

    def both_dead(records: list[Any]) -> bool:
        return sum(1 for r in records if r.key == key) >= 2

    dead = await _read_all(svc, svc.settings.dlq_topic, both_dead)
    ours = [r for r in dead if r.key == key]
    assert len(ours) == 2
    for rec in ours:
        hdrs = dict(rec.headers)
        assert hdrs["dlq_error"]
        assert hdrs["dlq_group"] == svc.settings.consumer_group("status").encode()
    assert ours[0].value == b"{not json"


async def test_transition_events_are_published(status_service: StatusService) -> None:
    svc = status_service
    consumer = svc.runtime.consumer
    assert consumer is not None
    cid = (await _filed_case(svc)).complaint_id
    applied, dead = consumer.applied, consumer.dead_lettered
    r = await svc.client.post(
        f"/v1/complaints/{cid}/transitions",
        json={"action": "accept"},
        headers={"x-correlation-id": "corr-abc", **admin_headers("o-1")},
    )
    assert r.status_code == 200
    assert (await _move(svc, cid, "reject", reason="x")).status_code == 409
    assert (await _move(svc, cid, "start")).status_code == 200
    key = str(cid).encode()

    def mine(records: list[Any]) -> list[Any]:
        return [
            x
            for x in records
            if x.key == key and dict(x.headers)["ce_source"] == b"/damrong/status"
        ]

    topic = svc.settings.events_topic
    records = mine(await _read_all(svc, topic, lambda rs: len(mine(rs)) >= 2))
    headers = [dict(x.headers) for x in records]
    assert [(h["ce_type"], h["ce_version"]) for h in headers] == [
        (b"th.go.dopa.damrong.case.accepted.v1", b"2"),
        (b"th.go.dopa.damrong.case.started.v1", b"3"),
    ]
    assert headers[0]["ce_subject"] == key
    assert headers[0]["ce_correlationid"] == b"corr-abc"
    env = from_record(records[0].headers, records[0].value)
    assert isinstance(env.data, CaseAccepted)
    assert env.complaint_id == cid and env.data.actor == "o-1"
    history = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert history[1]["correlation_id"] == "corr-abc"
    assert history[1]["event_id"] == str(env.event_id)
    # Our own case.* events come back through the consumer and are skipped, not dead-lettered.
    await eventually(lambda: _true(consumer.applied >= applied + 2))
    assert consumer.dead_lettered == dead
    case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
    assert (case["status"], case["version"]) == ("in_progress", 3)
