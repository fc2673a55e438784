"""The guided conversation on LINE, end to end on a running intake: from a new friend to
a filed complaint (row, event on the topic, tracking number replied), redeliveries filing
once, cancelling, a shared location, and a reply token that expired (pushed instead)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from services.intake.line.domain import texts
from services.intake.line.domain.secrets import user_hash
from services.intake.line.usecases import CONSENT_ACCEPTED
from services.intake.pii.domain.envelope import open_identity, unwrap_key
from shared.codes import CATEGORY_LABELS, CategoryCode
from tests.fakes.line_api import (
    PUSH,
    FakeLineApi,
    delivery,
    follow_event,
    location_event,
    new_user_id,
    text_event,
    unfollow_event,
)
from tests.integration.intake.test_line_webhook import STORY, TOKEN, Line, running_line
from tests.pii import KEYS
from tests.waiting import eventually

UTILITIES = CATEGORY_LABELS[CategoryCode.public_utilities][0]


@pytest.fixture(scope="module")
async def line(infra: dict[str, str]) -> AsyncIterator[Line]:
    with FakeLineApi(access_token=TOKEN) as api:
        async with running_line(infra, api) as running:
            yield running


async def _to_confirmation(line: Line, user: str, name: str = texts.ANONYMOUS) -> None:
    greeting = await line.send(follow_event(user))
    assert greeting == [texts.GREETING]
    [ask_category] = await line.send(text_event(user, STORY))
    assert ask_category == texts.ASK_CATEGORY
    [ask_district] = await line.send(text_event(user, UTILITIES))
    assert ask_district == texts.ASK_DISTRICT
    [ask_name] = await line.send(text_event(user, "สันทราย"))
    assert ask_name == texts.ASK_NAME
    summary, ask = await line.send(text_event(user, name))
    assert "อำเภอสันทราย จังหวัดเชียงใหม่" in summary and UTILITIES in summary
    assert f"ผู้ร้อง: {name}" in summary and ask == texts.ASK_CONFIRM


async def _complaints(line: Line, ref: str) -> list[Any]:
    return list(
        await line.intake.db.fetch(
            "SELECT * FROM complaints WHERE channel = 'line' AND channel_ref = $1", ref
        )
    )


async def test_a_whole_conversation_files_a_complaint_and_replies_its_number(line: Line) -> None:
    user = new_user_id()
    await _to_confirmation(line, user, name="สมศรี มีสุข")
    confirm = text_event(user, texts.CONFIRM)
    [answer] = await line.send(confirm)

    [row] = await _complaints(line, confirm["message"]["id"])
    assert row["tracking_no"] in answer and answer == texts.filed(row["tracking_no"])
    assert (row["district_code"], row["province_code"]) == ("5014", "50")
    assert row["category"] == "public_utilities" and row["description"] == STORY
    assert row["subject"] == STORY.splitlines()[0] and row["anonymous"] is False
    # The name, and with it the consent to be told on LINE, only in the sealed identity.
    key = await line.intake.db.fetchrow(
        "SELECT key_id, wrapped_key FROM complainants WHERE complainant_ref = $1",
        row["complainant_ref"],
    )
    assert key is not None
    data_key = unwrap_key(KEYS, row["complainant_ref"], key["key_id"], key["wrapped_key"])
    identity = open_identity(data_key, row["complaint_id"], row["complainant_ref"], row["identity"])
    assert identity["name"] == "สมศรี มีสุข"
    if CONSENT_ACCEPTED:
        assert identity["line_user_id"] == user and identity["notify"] == "line"

    async def published() -> list[Any]:
        return [
            m for m in await line.intake.records() if m.key == str(row["complaint_id"]).encode()
        ]

    (msg,) = await eventually(published)
    event = ce_kafka.from_binary(
        ce_kafka.KafkaMessage(dict(msg.headers), msg.key, msg.value), JSONFormat()
    )
    raw_data = event.get_data()
    assert raw_data is not None
    data = orjson.loads(raw_data) if isinstance(raw_data, (bytes, str)) else dict(raw_data)
    assert data["channel"] == "line" and data["tracking_no"] == row["tracking_no"]
    assert event.get_attributes()["type"] == "th.go.dopa.damrong.complaint.filed.v1"
    # The LINE userId is nowhere in clear: not on the topic, not in intake's tables.
    assert user.encode() not in msg.value + b"".join(v for _k, v in msg.headers)
    for table in ("complaints", "line_events", "line_conversations", "line_replies"):
        dump = await line.intake.db.fetchval(f"SELECT string_agg(t::text, '') FROM {table} t")
        assert user not in (dump or ""), table
    # The quick replies fit LINE's limits.
    asked = [c.json for c in line.api.replies() if "quickReply" in c.json["messages"][-1]]
    for body in asked:
        items = body["messages"][-1]["quickReply"]["items"]
        assert 1 <= len(items) <= texts.QUICK_MAX
        assert all(len(i["action"]["label"]) <= texts.LABEL_MAX for i in items)


async def test_redeliveries_of_the_confirmation_file_once(line: Line) -> None:
    user = new_user_id()
    await _to_confirmation(line, user)
    confirm = text_event(user, texts.CONFIRM)
    [answer] = await line.send(confirm)
    again = {**confirm, "deliveryContext": {"isRedelivery": True}}
    for _ in range(3):
        assert (await line.post(delivery(again))).status_code == 200
    # Even as a new event (not what LINE does), the same message files nothing new.
    other = {**confirm, "webhookEventId": confirm["webhookEventId"] + "x", "replyToken": "r2"}
    greeting = await line.send(other)
    assert greeting == [texts.GREETING]
    rows = await _complaints(line, confirm["message"]["id"])
    assert len(rows) == 1 and rows[0]["tracking_no"] in answer
    numbers = [t for t in line.api.sent_texts() if rows[0]["tracking_no"] in t]
    assert numbers == [answer]


async def test_cancel_at_any_step_starts_over(line: Line) -> None:
    user = new_user_id()
    await line.send(text_event(user, "สวัสดีครับ"))
    await line.send(text_event(user, STORY))
    assert await line.send(text_event(user, texts.CANCEL)) == [texts.CANCELLED]
    # Back to the start: a category name is now just a first message.
    assert await line.send(text_event(user, UTILITIES)) == [texts.GREETING]
    await _to_confirmation(line, user)
    assert await line.send(text_event(user, f" {texts.CANCEL} ")) == [texts.CANCELLED]
    step = await line.intake.db.fetchval(
        "SELECT step FROM line_conversations WHERE user_hash = $1", user_hash(KEYS, user)
    )
    assert step == "idle"


async def test_a_shared_location_places_the_district_or_asks_its_name(line: Line) -> None:
    user = new_user_id()
    await line.send(text_event(user, "สวัสดีครับ"))
    await line.send(text_event(user, STORY))
    await line.send(text_event(user, UTILITIES))
    far = location_event(user, "Somewhere in the sea", 5.0, 95.0)
    assert await line.send(far) == [texts.LOCATION_UNPLACED]
    assert await line.send(text_event(user, "ไม่มีอำเภอนี้แน่นอน")) == [texts.DISTRICT_UNKNOWN]
    address = "123 ถนนเจริญกรุง แขวงสี่พระยา เขตบางรัก กรุงเทพมหานคร 10500"
    assert await line.send(location_event(user, address, 13.73, 100.52)) == [texts.ASK_NAME]
    summary, _ = await line.send(text_event(user, texts.ANONYMOUS))
    assert "เขตบางรัก กรุงเทพมหานคร" in summary
    confirm = text_event(user, texts.CONFIRM)
    await line.send(confirm)
    [row] = await _complaints(line, confirm["message"]["id"])
    assert row["district_code"] == "1004" and row["anonymous"] is True


async def test_an_expired_reply_token_is_answered_by_push(line: Line) -> None:
    user = new_user_id()
    event = text_event(user, "สวัสดีครับ")
    line.api.expire_reply_token(event["replyToken"])
    assert (await line.post(delivery(event))).status_code == 200

    async def pushed() -> list[Any]:
        return [c for c in line.api.pushes() if c.json["to"] == user]

    [push] = await eventually(pushed)
    assert push.path == PUSH and push.texts() == [texts.GREETING]
    assert push.headers["x-line-retry-key"]
    assert push.headers["authorization"] == f"Bearer {line.api.access_token}"


async def test_a_reply_line_refuses_for_a_while_is_sent_again(line: Line) -> None:
    user = new_user_id()
    line.api.fail_next(503, times=2)  # LINE unavailable for two calls
    event = text_event(user, "สวัสดีครับ")
    assert await line.send(event) == [texts.GREETING]
    statuses = [c.status for c in line.api.calls if _for(c.json, event)]
    assert statuses[-1] == 200 and 503 in statuses

    async def reply() -> Any:
        return await line.intake.db.fetchrow(
            "SELECT sent_by, attempts FROM line_replies WHERE webhook_event_id = $1",
            event["webhookEventId"],
        )

    # LINE has the reply once the fake answered 200; the worker marks it sent just after.
    sent = await eventually(reply, lambda row: row is not None and row["sent_by"] is not None)
    assert sent["sent_by"] == "reply" and sent["attempts"] >= 2


def _for(body: Any, event: dict[str, Any]) -> bool:
    return isinstance(body, dict) and body.get("replyToken") == event["replyToken"]


async def test_a_user_who_blocks_the_account_is_forgotten(line: Line) -> None:
    user = new_user_id()
    await line.send(text_event(user, "สวัสดีครับ"))
    who = user_hash(KEYS, user)
    query = "SELECT count(*) FROM line_conversations WHERE user_hash = $1"
    assert await line.intake.db.fetchval(query, who) == 1
    gone = unfollow_event(user)
    assert (await line.post(delivery(gone))).status_code == 200

    async def conversations() -> int:
        return int(await line.intake.db.fetchval(query, who))

    await eventually(conversations, lambda n: n == 0)


async def test_an_old_unfinished_conversation_starts_over(line: Line) -> None:
    user = new_user_id()
    await line.send(text_event(user, "สวัสดีครับ"))
    await line.send(text_event(user, STORY))  # now at the category
    await line.intake.db.execute(
        "UPDATE line_conversations SET updated_at = updated_at - interval '2 days'"
        " WHERE user_hash = $1",
        user_hash(KEYS, user),
    )
    assert await line.send(text_event(user, UTILITIES)) == [texts.GREETING]


async def test_worked_events_past_their_retention_are_deleted(line: Line) -> None:
    user = new_user_id()
    old, recent = text_event(user, "สวัสดีครับ"), text_event(user, STORY)
    await line.send(old)
    await line.send(recent)
    await line.intake.db.execute(
        "UPDATE line_events SET processed_at = now() - interval '40 days'"
        " WHERE webhook_event_id = $1",
        old["webhookEventId"],
    )
    now = dt.datetime.now(dt.UTC)
    keep = dt.timedelta(days=30)
    assert await line.app.state.line.store.purge(now - keep, now - keep) >= 1
    ids = [old["webhookEventId"], recent["webhookEventId"]]
    left = await line.intake.db.fetch(
        "SELECT webhook_event_id FROM line_events WHERE webhook_event_id = ANY($1)", ids
    )
    replies = await line.intake.db.fetch(
        "SELECT webhook_event_id FROM line_replies WHERE webhook_event_id = ANY($1)", ids
    )
    assert [r[0] for r in left] == [recent["webhookEventId"]]
    assert [r[0] for r in replies] == [recent["webhookEventId"]]
