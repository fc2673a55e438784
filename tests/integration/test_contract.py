"""The published contract (docs/events) against real records from the broker.

Intake and status run in-process on one topic; a complaint is filed and moved through
every transition, the complainant rates the closure and disputes it, and a legacy
``case.forwarded.v1`` (no longer written, still read) and a forged record are put on the
topic as an old writer and an intruder would.  Every record
read back must validate against its checked-in JSON Schema and its AsyncAPI message
(headers, payload, key); the dead letter against the dead-letter message.  The consumer
example then reads the same topic with confluent-kafka and must apply exactly the genuine
records (tests/integration/test_contract_example.py).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from services.intake.main import create_app as intake_app
from services.status.main import create_app as status_app
from shared import feedback_links
from shared.chain import Link, compute_hash
from shared.contract import cloudevent_of
from shared.envelope_codec import from_record, link_from_record
from shared.events import STATUS_SOURCE, CaseForwarded
from shared.kafka import make_producer
from shared.signed_records import RecordVerifier
from shared.signing import Signer
from shared.topic_reader import read_topic
from tests.service_app import RunningApp, running_app
from tests.signing import PRIVATE_KEYS, PUBLIC_KEYS, sign
from tests.waiting import eventually

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
PREFIX = "th.go.dopa.damrong."
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()
LEGACY = PREFIX + "case.forwarded.v1"
WRITTEN = {
    PREFIX + t
    for t in (
        "complaint.filed.v1",
        "case.accepted.v1",
        "case.rejected.v1",
        "case.started.v1",
        "case.forwarded.v2",
        "case.closed.v1",
        "case.reopened.v1",
        "case.satisfaction_rated.v1",
        "case.reopen_requested.v1",
    )
}
FEEDBACK_SECRET = "contract-feedback-secret-" + "f" * 32


@dataclass
class Platform:
    intake: RunningApp
    status: RunningApp
    producer: AIOKafkaProducer
    forged: set[str] = field(default_factory=set)  # ce_id of records no reader may trust

    @property
    def topic(self) -> str:
        return self.intake.settings.events_topic

    @property
    def bootstrap(self) -> str:
        return self.intake.settings.kafka_bootstrap_servers

    async def file(self, district: str = "5001") -> str:
        body = {
            "channel": "line",
            "district_code": district,
            "category": "land",
            "subject": "รั้วรุกล้ำ",
            "description": "รั้วบ้านข้างเคียงรุกล้ำที่ดิน",
            "complainant": {"anonymous": False, "name": "สมชาย ใจดี", "phone": "0812345678"},
        }
        r = await self.intake.client.post(
            "/v1/complaints", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201, r.text
        cid: str = r.json()["complaint_id"]
        await eventually(
            lambda: self.status.client.get(f"/v1/complaints/{cid}"),
            lambda resp: resp.status_code == 200,
        )
        return cid

    async def move(self, cid: str, action: str, **kw: Any) -> None:
        r = await self.status.client.post(
            f"/v1/complaints/{cid}/transitions", json={"action": action, **kw}
        )
        assert r.status_code == 200, r.text

    async def forge(self, headers: list[tuple[str, bytes]], value: bytes) -> str:
        """Publish a copy of a record as a new event (its hash recomputed) signed by a key
        that is not its source's; return its event id."""
        event_id = str(uuid.uuid4())
        kept = [(k, v) for k, v in headers if k not in ("ce_id", "ce_hash", "ce_signature")]
        kept.append(("ce_id", event_id.encode()))
        digest = compute_hash(link_from_record(kept, value))
        forged = [*kept, ("ce_hash", digest.encode())]
        forged.append(("ce_signature", Signer(PRIVATE_KEYS["/test"]).sign(digest)))
        self.forged.add(event_id)
        key = texts_of(headers)["ce_subject"].encode()
        await self.producer.send_and_wait(self.topic, value, key=key, headers=forged)
        return event_id

    async def records(self, topic: str) -> list[ConsumerRecord]:
        """Every record of ``topic`` (the events or the dead-letter topic) so far."""
        settings = self.intake.settings.model_copy(update={"events_topic": topic})
        return [rec async for rec in read_topic(settings)]


@pytest.fixture(scope="module")
async def platform(infra: dict[str, str]) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(running_app(intake_app, infra))
        topics = {
            "events_topic": intake.settings.events_topic,
            "dlq_topic": intake.settings.dlq_topic,
        }
        status = await stack.enter_async_context(
            running_app(status_app, infra, feedback_link_secret=FEEDBACK_SECRET, **topics)
        )
        producer = make_producer(intake.settings)
        await producer.start()
        stack.push_async_callback(producer.stop)
        yield Platform(intake, status, producer)


def asyncapi() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8"))
    return doc


def message(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["messages"][name]
    return found


def validate(schema: dict[str, Any], instance: Any, doc: dict[str, Any] | None = None) -> None:
    if doc is not None:  # refs into the AsyncAPI document's components
        schema = {**schema, "components": doc["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


def texts(rec: ConsumerRecord) -> dict[str, str]:
    return {k: bytes(v).decode() for k, v in rec.headers}


async def legacy_forwarding(p: Platform, cid: str) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """A ``case.forwarded.v1`` at version 2 of ``cid``, chained and signed as status wrote
    them before v2 existed."""
    # Headers by hand, not tests.events: an Envelope holds only current payloads (a v1
    # is upcast on read), so no envelope can be encoded as the v1 record an old writer left.
    history = (await p.status.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    now = dt.datetime.now(dt.UTC)
    data = {"actor": "officer-legacy", "note": None, "agency": "สำนักงานที่ดิน", "due_date": DUE}
    link = Link(
        complaint_id=uuid.UUID(cid),
        version=2,
        event_id=uuid.uuid4(),
        source=STATUS_SOURCE,
        type=LEGACY,
        occurred_at=now,
        recorded_at=now,
        correlation_id=None,
        data=data,
        prev_hash=history[0]["hash"],
        hash=None,
    )
    text = now.isoformat().replace("+00:00", "Z")
    headers = [
        ("ce_id", str(link.event_id)),
        ("ce_source", STATUS_SOURCE),
        ("ce_type", LEGACY),
        ("ce_specversion", "1.0"),
        ("ce_time", text),
        ("ce_subject", cid),
        ("content-type", "application/json"),
        ("ce_version", "2"),
        ("ce_recordedtime", text),
        ("ce_prevhash", history[0]["hash"]),
        ("ce_hash", compute_hash(link)),
    ]
    value = orjson.dumps(data)
    return cid.encode(), sign([(k, v.encode()) for k, v in headers], value), value


async def test_every_record_on_the_topic_is_as_the_contract_says(platform: Platform) -> None:
    p = platform
    moved = await p.file()
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {"note": "รับเรื่องแล้ว"}),
        ("start", {}),
        ("forward", {"agency": "สำนักงานที่ดินจังหวัด", "agency_code": "LD-50", "due_date": DUE}),
        ("start", {}),
        ("close", {"reason": "resolved"}),
        ("reopen", {"reason": "ผู้ร้องแจ้งว่ายังไม่ได้แก้ไข"}),
        ("start", {}),
        ("close", {"reason": "mediated"}),
    ]
    for action, kw in steps:
        await p.move(moved, action, **kw)
    # The complainant rates the closure and says the problem was not solved.
    link = feedback_links.issue(uuid.UUID(moved), 9, FEEDBACK_SECRET, dt.datetime.now(dt.UTC))
    r = await p.status.client.post(
        "/v1/feedback", json={"token": link, "score": 2, "not_solved": True}
    )
    assert r.status_code == 201, r.text
    await p.move(await p.file(), "reject", reason="ไม่อยู่ในอำนาจ")

    # An old writer's record and an intruder's, one after the other in the same partition.
    old = await p.file()
    key, headers, value = await legacy_forwarding(p, old)
    await p.producer.send_and_wait(p.topic, value, key=key, headers=headers)
    legacy_id = texts_of(headers)["ce_id"]
    forwarded = from_record(headers, value)  # our readers decode it, upcast to v2
    assert isinstance(forwarded.data, CaseForwarded) and forwarded.data.agency_code is None
    forged_id = await p.forge(headers, value)

    doc = asyncapi()
    dlq_name = p.intake.settings.dlq_topic
    dead = await eventually(
        lambda: p.records(dlq_name),
        lambda recs: any(texts(r).get("ce_id") == forged_id for r in recs),
    )
    assert all(texts(r).get("ce_id") != legacy_id for r in dead), "the legacy event was refused"
    for rec in dead:
        validate(message(doc, "deadLetter")["headers"], texts(rec))
        assert texts(rec)["dlq_origin"].startswith(f"{p.topic}/")

    verifier = RecordVerifier(PUBLIC_KEYS)
    seen: set[str] = set()
    every_type = WRITTEN | {LEGACY}  # the relays publish after the moves have answered
    records = await eventually(
        lambda: p.records(p.topic),
        lambda recs: {texts(r)["ce_type"] for r in recs} >= every_type,
    )
    for rec in records:
        hdrs = texts(rec)
        if hdrs["ce_id"] in p.forged:
            continue
        verifier.check(rec.headers, rec.value)  # genuine, as every reader checks
        ce_type = hdrs["ce_type"]
        schema = json.loads((DOCS / "schemas" / f"{ce_type}.json").read_text("utf-8"))
        validate(schema, cloudevent_of(list(rec.headers), rec.value))
        msg = message(doc, ce_type.removeprefix(PREFIX))
        validate(msg["headers"], hdrs)
        validate(msg["payload"], json.loads(rec.value), doc)
        validate(msg["bindings"]["kafka"]["key"], rec.key.decode())
        assert rec.key.decode() == hdrs["ce_subject"]
        seen.add(ce_type)
    assert seen >= every_type, sorted(every_type - seen)


def texts_of(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers}
