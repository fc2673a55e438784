"""Forged event messages written straight to the topic (whoever can write to Kafka): each
is dead-lettered by every consumer with its reason, and changes nothing anywhere."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from damrong.embedded.event_keys import PUBLISHERS, private_keys
from damrong.embedded.platform import Platform
from shared.chain import GENESIS, seal
from shared.codes import ClosureReason
from shared.config import DLQ_TOPIC, EVENTS_TOPIC, Settings
from shared.envelope_codec import to_record
from shared.events import CaseClosed, Envelope
from shared.signed_records import RecordSigner, signature_of, with_signature
from shared.signing import new_private_key
from shared.thai_calendar import fiscal_year
from shared.topic_reader import read_topic
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICT = "5007"  # used by this test only
STATUS = PUBLISHERS["status"]
# Every consumer of the case events checks every record: status, kpi, intake (its public
# view of cases) and notify.
GROUPS = {b"damrong-status", b"damrong-kpi", b"damrong-intake", b"damrong-notify"}
Record = tuple[bytes, list[tuple[str, bytes]], bytes]


def _forgeries(cid: uuid.UUID, genuine_status_key: str) -> list[tuple[Record, str]]:
    """A closure of the case at its next version, five ways, each with its reason."""

    def closure(**kw: Any) -> Envelope:
        now = dt.datetime.now(dt.UTC)
        return Envelope(
            event_id=uuid.uuid4(),
            complaint_id=cid,
            version=3,
            source=STATUS,
            occurred_at=now,
            recorded_at=now,
            data=CaseClosed(actor="intruder", reason=ClosureReason.resolved),
            **kw,
        )

    unsigned = to_record(closure())
    k, h, v = to_record(closure())
    stranger = (k, RecordSigner(STATUS, new_private_key()).sign(h, v), v)
    # Signed with status's real key, then edited on the way: the hash gives it away.
    k, h, v = to_record(seal(closure(), GENESIS))
    signed = RecordSigner(STATUS, genuine_status_key).sign(h, v)
    altered = (k, signed, orjson.dumps({**orjson.loads(v), "actor": "someone else"}))
    # A genuine closure given the signature and proof of a record of another genuine batch
    # (signed with status's real key): moved into a batch it was never in.
    genuine = RecordSigner(STATUS, genuine_status_key)
    k, h, v = to_record(seal(closure(), GENESIS))
    _k2, other_h, other_v = to_record(seal(closure(), GENESIS))
    theirs = genuine.sign_batch([(other_h, other_v), (other_h, other_v)])[1]
    moved = (k, with_signature(h, signature_of(theirs) or b""), v)
    k, h, v = to_record(closure())
    unknown = (
        k,
        [(n, b"th.go.dopa.damrong.case.teleported.v1" if n == "ce_type" else x) for n, x in h],
        v,
    )
    return [
        (unsigned, "bad signature: unsigned"),
        (stranger, f"bad signature: not signed by {STATUS}'s key over this content"),
        (altered, "content does not match its hash"),
        (moved, f"bad signature: not signed by {STATUS}'s key over this content"),
        (unknown, "unknown event type"),
    ]


async def _dead_letters(platform: Platform, key: bytes) -> list[tuple[bytes, str]]:
    settings = Settings(kafka_bootstrap_servers=platform.kafka_bootstrap, events_topic=DLQ_TOPIC)
    out = []
    async for rec in read_topic(settings):
        if rec.key == key:
            hdrs = dict(rec.headers)
            out.append((hdrs["dlq_group"], hdrs["dlq_error"].decode()))
    return out


async def test_forged_events_are_dead_lettered_and_change_nothing(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
        r = await c.post(
            f"{platform.url('intake')}/v1/complaints",
            json={
                "channel": "walk_in",
                "district_code": DISTRICT,
                "category": "land",
                "subject": "ที่ดินทับซ้อน",
                "description": "รั้วรุกล้ำ",
                "complainant": {"anonymous": True},
            },
        )
        assert r.status_code == 201, r.text
        cid = uuid.UUID(r.json()["complaint_id"])
        status, kpi = platform.url("status"), platform.url("kpi")
        await eventually(
            lambda: c.get(f"{status}/v1/complaints/{cid}"),
            lambda resp: resp.status_code == 200,
            timeout=30,
        )
        r = await c.post(f"{status}/v1/complaints/{cid}/transitions", json={"action": "accept"})
        assert r.status_code == 200, r.text
        received = (await c.get(f"{status}/v1/complaints/{cid}")).json()["received_at"]
        params: dict[str, str | int] = {
            "fiscal_year": fiscal_year(dt.datetime.fromisoformat(received)),
            "district_code": DISTRICT,
        }

        async def snapshot() -> list[Any]:
            return [
                (await c.get(f"{status}/v1/complaints/{cid}")).json(),
                (await c.get(f"{status}/v1/complaints/{cid}/history")).json(),
                (await c.get(f"{kpi}/v1/kpi/summary", params=params)).json(),
            ]

        # A closure accepted anywhere would show: status "closed", a 3rd event, kpi closed=1.
        before = await eventually(snapshot, lambda s: s[2]["received"] == 1, timeout=30)
        assert before[0]["status"] == "accepted" and before[2]["open"] == 1

        forged = _forgeries(cid, private_keys(platform.data_dir)["status"])
        producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for (key, headers, value), _reason in forged:
                await producer.send_and_wait(EVENTS_TOPIC, value, key=key, headers=headers)
        finally:
            await producer.stop()

        key = str(cid).encode()
        dead = await eventually(
            lambda: _dead_letters(platform, key),
            lambda d: len(d) == len(forged) * len(GROUPS),
            timeout=30,
        )
        for _record, reason in forged:
            groups = {group for group, error in dead if reason in error}
            assert groups == GROUPS, (reason, dead)
        # Both consumers dead-lettered all four (and committed past them): nothing moved.
        assert await snapshot() == before
