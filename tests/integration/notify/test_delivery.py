"""Messages reach consenting complainants once per (case, version, channel): through
re-feeds of the same events and a stop between recording and sending; nothing for an
anonymous complainant, a channel not consented to, or a kind that tells nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from aiokafka.structs import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from services.notify import store
from shared.consumer import UNTOLD_BROKER
from shared.events import CaseAccepted, CaseForwarded, CaseReopened, CaseStarted, reply_due
from shared.topic_reader import read_topic
from tests.integration.notify.conftest import Filed, Rig, person
from tests.waiting import eventually

pytestmark = pytest.mark.integration
NOW = dt.datetime.now(dt.UTC)


async def test_each_event_tells_each_consented_channel_once(rig: Rig) -> None:
    who = person()
    async with rig.notify() as app:
        case = await rig.file(who, ["sms", "email", "line"])
        await rig.accept_and_close(case)
        rows = await rig.settled(case, 9)
        # Its /metrics counts the three events its consumer applied.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
            text = (await client.get("/metrics")).text
        applied = [
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "damrong_consumer_events_applied_total"
        ]
        assert sum(applied) >= 3
    assert {(r["version"], r["template"]) for r in rows} == {
        (1, "received"),
        (2, "accepted"),
        (3, "closed"),
    }
    assert all(r["status"] == "sent" and r["attempts"] == 1 for r in rows)
    texts = rig.sms.texts_to(who.phone)
    assert len(texts) == 3 and all(case.tracking_no in t for t in texts)
    assert "ได้รับเรื่องร้องเรียนของท่านแล้ว" in texts[0]
    assert "ได้รับการรับเรื่องแล้ว" in texts[1]
    assert "เหตุผล: แก้ไขแล้วเสร็จ" in texts[2]
    assert "http://console.test/feedback/" in texts[2]
    mails = rig.smtp.messages_to(who.email)
    assert [case.tracking_no in m["Subject"] for m in mails] == [True] * 3
    assert mails[0]["Auto-Submitted"] == "auto-generated"
    pushes = [c for c in rig.line.pushes() if c.json["to"] == who.line_user_id]
    assert len(pushes) == 3 and all(c.headers.get("x-line-retry-key") for c in pushes)


async def test_only_the_channels_consented_to(rig: Rig) -> None:
    who = person()
    async with rig.notify():
        case = await rig.file(who, ["email"])
        rows = await rig.settled(case, 3)
    assert {r["channel"]: (r["status"], r["error_class"]) for r in rows} == {
        "email": ("sent", None),
        "line": ("skipped", "no consent"),
        "sms": ("skipped", "no consent"),
    }
    assert rig.sms.texts_to(who.phone) == []
    assert len(rig.smtp.messages_to(who.email)) == 1


async def test_anonymous_complainants_and_silent_kinds_tell_nothing(rig: Rig) -> None:
    who = person()
    async with rig.notify():
        anonymous = await rig.file(who, [], anonymous=True)
        await rig.accept_and_close(anonymous)
        named = await rig.file(who, ["sms"])
        await rig.publish(named, 2, CaseStarted(actor="o"))
        forwarded = CaseForwarded(
            actor="o",
            agency="สำนักงานที่ดินจังหวัด",
            reply_due=reply_due(NOW.date() + dt.timedelta(days=15), NOW),
        )
        await rig.publish(named, 3, forwarded)
        await rig.publish(named, 4, CaseReopened(actor="o", reason="ข้อความจากเจ้าหน้าที่"))
        rows = await rig.settled(named, 9)
    assert await rig.rows(anonymous) == []
    assert sorted({(r["version"], r["template"]) for r in rows}) == [
        (1, "received"),
        (3, "forwarded"),
        (4, "reopened"),
    ]
    texts = rig.sms.texts_to(who.phone)
    assert "ส่งต่อให้ สำนักงานที่ดินจังหวัด" in texts[1]
    assert "ข้อความจากเจ้าหน้าที่" not in texts[2]


async def test_refed_events_send_nothing_again(rig: Rig) -> None:
    who = person()
    async with rig.notify():
        case = await rig.file(who, ["sms", "email"])
        await rig.accept_and_close(case)
        await rig.settled(case, 9)
        # The broker re-fed: the same records again (a relay after a broker restart).
        records = await _records_of(rig, case)
        for rec in records:
            await rig.producer.send_and_wait(
                rig.settings.events_topic, rec.value, key=rec.key, headers=list(rec.headers)
            )
        marker = await rig.file(person(), ["sms"])  # read after the re-fed ones
        await rig.settled(marker, 3)
    assert len(records) == 3
    assert len(rig.sms.texts_to(who.phone)) == 3
    assert len(rig.smtp.messages_to(who.email)) == 3


async def test_an_event_read_before_its_filing_is_told_once_the_filing_is_read(
    rig: Rig,
) -> None:
    """After a broker lost its data the relays publish again from their outboxes, and
    status's may come first: notify then reads a case's acceptance before its filing.  It
    tells both, once the filing is read."""
    who = person()
    async with rig.notify():  # its schema made; nothing on the topic yet
        pass
    case = await rig.file(who, ["sms"])  # notify stopped: the filing waits on the topic
    [filing] = await _records_of(rig, case)
    await rig.publish(case, 2, CaseAccepted(actor="officer-1"))
    await rig.producer.send_and_wait(  # the filing again, after it: the re-feed
        rig.settings.events_topic, filing.value, key=filing.key, headers=list(filing.headers)
    )
    # notify's position as if the broker had lost the filing's first copy: just past it.
    await rig.db.execute(
        "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, next_offset) "
        "VALUES ($1, $2, $3, $4, $5)",
        rig.settings.consumer_group("notify"),
        filing.topic,
        filing.partition,
        UNTOLD_BROKER,
        filing.offset + 1,
    )
    async with rig.notify():
        rows = await rig.settled(case, 6)  # each version, each of the three channels
    sent = [(r["version"], r["template"]) for r in rows if r["status"] == "sent"]
    assert sent == [(1, "received"), (2, "accepted")]
    assert all(r["channel"] == "sms" for r in rows if r["status"] == "sent")
    texts = rig.sms.texts_to(who.phone)
    assert len(texts) == 2 and "ได้รับการรับเรื่องแล้ว" in texts[1]
    assert await rig.db.fetchval("SELECT count(*) FROM early_events") == 0


async def test_a_held_event_too_old_to_tell_is_let_go_with_its_record(rig: Rig) -> None:
    async with rig.notify():  # its schema made
        pass
    old, recent = uuid.uuid4(), uuid.uuid4()
    for cid, at in ((old, NOW - dt.timedelta(days=30)), (recent, NOW)):
        await rig.db.execute(
            "INSERT INTO source_records (complaint_id, version, value, headers) "
            "VALUES ($1, 2, $2, '[]')",
            cid,
            b"{}",
        )
        await store.hold_early(rig.db, cid, 2, at, stale_before=NOW - dt.timedelta(days=7))
    held = await rig.db.fetch("SELECT complaint_id FROM early_events")
    kept = await rig.db.fetch(
        "SELECT complaint_id FROM source_records WHERE complaint_id = ANY($1)", [old, recent]
    )
    assert [r["complaint_id"] for r in held] == [recent]
    assert [r["complaint_id"] for r in kept] == [recent]


async def test_stopped_between_recording_and_sending(rig: Rig) -> None:
    who = person()
    async with rig.notify(notify_sender_enabled=False):
        case = await rig.file(who, ["sms", "email"])
        await rig.accept_and_close(case)

        async def recorded() -> list[dict[str, Any]]:
            return await rig.rows(case)

        rows = await eventually(recorded, lambda rows: len(rows) == 9, timeout=60)
    assert all(r["status"] == "pending" for r in rows)
    assert rig.sms.texts_to(who.phone) == []
    async with rig.notify():  # the same database: the messages recorded wait there
        await rig.settled(case, 9)
    async with rig.notify():  # and once more: nothing is sent twice
        marker = await rig.file(person(), ["sms"])
        await rig.settled(marker, 3)
    assert len(rig.sms.texts_to(who.phone)) == 3
    assert len(rig.smtp.messages_to(who.email)) == 3


async def _records_of(rig: Rig, case: Filed) -> list[ConsumerRecord]:
    key = str(case.complaint_id).encode()
    return [r async for r in read_topic(rig.settings) if r.key == key]
