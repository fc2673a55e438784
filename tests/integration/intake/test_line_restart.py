"""The LINE channel across stops: a delivery answered 200 and not yet worked when intake
stops is worked after the restart, and files exactly once; an unconfigured channel
answers 503 while intake runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from services.intake.line import usecases
from services.intake.line.domain import conversation as talk
from services.intake.line.domain import texts
from tests.fakes.line_api import FakeLineApi, delivery, new_user_id, signature, text_event
from tests.infra import fresh_database
from tests.integration.intake.conftest import IntakeService
from tests.integration.intake.test_line_webhook import (
    SECRET,
    STORY,
    TOKEN,
    WEBHOOK,
    Line,
    intake_with_line,
    line_settings,
)
from tests.pii import KEYS
from tests.waiting import eventually


@contextlib.asynccontextmanager
async def started(
    infra: dict[str, str], url: str, suffix: str, api: FakeLineApi, **overrides: Any
) -> AsyncIterator[Line]:
    settings = line_settings(api, **overrides)
    async with intake_with_line(infra, url, suffix, settings) as (app, client, s):
        db = await asyncpg.connect(url, server_settings={"search_path": "intake"})
        try:
            yield Line(IntakeService(client, s, db), api, app)
        finally:
            await db.close()


async def _filed(db: asyncpg.Connection, ref: str) -> list[str]:
    rows = await db.fetch(
        "SELECT tracking_no FROM complaints WHERE channel = 'line' AND channel_ref = $1", ref
    )
    return [r[0] for r in rows]


async def _converse_to_confirmation(line: Line, user: str) -> None:
    for said in ("สวัสดีครับ", STORY, "การพนัน"):
        await line.send(text_event(user, said))
    assert await line.send(text_event(user, "ปากเกร็ด")) == [texts.ASK_NAME]
    *_, ask = await line.send(text_event(user, "สมปอง รักดี"))
    assert ask == texts.ASK_CONFIRM


def _two(texts_sent: list[str]) -> bool:
    return len(texts_sent) == 2


async def test_a_delivery_stored_before_a_stop_is_filed_once_after_it(
    infra: dict[str, str],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    with FakeLineApi(access_token=TOKEN) as api:
        async with fresh_database(infra["database_url"]) as url:
            user, quick = new_user_id(), new_user_id()
            async with started(infra, url, suffix, api) as line:
                await _converse_to_confirmation(line, user)
                await _converse_to_confirmation(line, quick)
            confirm = text_event(user, texts.CONFIRM)
            # An instance that stops right after its 200: nothing worked yet.
            async with started(infra, url, suffix, api, line_worker_enabled=False) as line:
                assert (await line.post(delivery(confirm))).status_code == 200
                pending = await line.intake.db.fetchval(
                    "SELECT processed_at IS NULL FROM line_events WHERE webhook_event_id = $1",
                    confirm["webhookEventId"],
                )
                assert pending is True
                assert await _filed(line.intake.db, confirm["message"]["id"]) == []
            # An instance stopped as soon as it answered, its worker possibly mid-work.
            quick_confirm = text_event(quick, texts.CONFIRM)
            async with started(infra, url, suffix, api) as line:
                assert (await line.post(delivery(quick_confirm))).status_code == 200
            async with started(infra, url, suffix, api) as line:
                db = line.intake.db
                [number] = await eventually(lambda: _filed(db, confirm["message"]["id"]))
                [other] = await eventually(lambda: _filed(db, quick_confirm["message"]["id"]))

                async def told() -> list[str]:
                    return [t for t in api.sent_texts() if number in t or other in t]

                sent = await eventually(told, _two)
                assert sorted(sent) == sorted([texts.filed(number), texts.filed(other)])
                # LINE redelivers the confirmation (it saw no answer in time): no new filing.
                again = {**confirm, "deliveryContext": {"isRedelivery": True}}
                assert (await line.post(delivery(again))).status_code == 200
                assert (await line.post(delivery(quick_confirm))).status_code == 200
                waiting = await db.fetchval(
                    "SELECT count(*) FROM line_events WHERE processed_at IS NULL"
                )
                assert waiting == 0
                assert await _filed(db, confirm["message"]["id"]) == [number]
                assert await _filed(db, quick_confirm["message"]["id"]) == [other]
                assert len([t for t in api.sent_texts() if number in t or other in t]) == 2


async def test_an_unconfigured_channel_answers_503_and_intake_runs(
    infra: dict[str, str],
) -> None:
    async with (
        fresh_database(infra["database_url"]) as url,
        intake_with_line(infra, url, uuid.uuid4().hex[:8], None) as (app, client, _),
    ):
        body = delivery(text_event(new_user_id(), "สวัสดีครับ"))
        answer = await client.post(
            WEBHOOK, content=body, headers={"x-line-signature": signature(SECRET, body)}
        )
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert "LINE_CHANNEL_SECRET" in answer.json()["detail"]
        assert app.state.line is None
        assert (await client.get("/healthz")).status_code == 200
        db = await asyncpg.connect(url, server_settings={"search_path": "intake"})
        try:
            assert await db.fetchval("SELECT count(*) FROM line_events") == 0
        finally:
            await db.close()


async def test_replies_are_leased_to_one_sender_at_a_time(infra: dict[str, str]) -> None:
    """Two instances' workers never send the same reply twice: each takes replies on a
    lease; a reply whose sender died is taken again once its lease ran out."""
    with FakeLineApi(access_token=TOKEN) as api:
        async with (
            fresh_database(infra["database_url"]) as url,
            started(infra, url, uuid.uuid4().hex[:8], api, line_worker_enabled=False) as line,
        ):
            user = new_user_id()
            event = text_event(user, "สวัสดีครับ")
            assert (await line.post(delivery(event))).status_code == 200
            channel = line.app.state.line
            filer = usecases.Filer(line.app.state.store, line.intake.settings, KEYS)
            now = dt.datetime.now(dt.UTC)
            assert await usecases.work_next(channel.store, filer, now, 3) is True
            assert await usecases.work_next(channel.store, filer, now, 3) is False
            first = await channel.store.take_replies(10, now, usecases.REPLY_LEASE)
            second = await channel.store.take_replies(10, now, usecases.REPLY_LEASE)
            assert [r.webhook_event_id for r in first] == [event["webhookEventId"]]
            assert second == []
            later = now + usecases.REPLY_LEASE + dt.timedelta(seconds=1)
            again = await channel.store.take_replies(10, later, usecases.REPLY_LEASE)
            assert [r.webhook_event_id for r in again] == [event["webhookEventId"]]
            # Sent once by whoever holds it; then nobody takes it again.
            sent = await usecases.deliver(channel.store, channel.messenger, KEYS, later, 3)
            assert sent == 0  # still leased (taken at ``later``)
            after = later + usecases.REPLY_LEASE + dt.timedelta(seconds=1)
            assert await usecases.deliver(channel.store, channel.messenger, KEYS, after, 3) == 1
            assert await usecases.deliver(channel.store, channel.messenger, KEYS, after, 3) == 0
            assert [c.texts() for c in api.replies()] == [[texts.GREETING]]


async def test_an_event_that_keeps_failing_is_retried_then_given_up(
    infra: dict[str, str],
) -> None:
    """One bad event does not hold its user's queue for ever."""
    with FakeLineApi(access_token=TOKEN) as api:
        async with (
            fresh_database(infra["database_url"]) as url,
            started(infra, url, uuid.uuid4().hex[:8], api, line_worker_enabled=False) as line,
        ):
            user = new_user_id()
            channel = line.app.state.line
            filer = usecases.Filer(line.app.state.store, line.intake.settings, KEYS)
            first = text_event(user, "สวัสดีครับ")
            assert (await line.post(delivery(first))).status_code == 200
            now = dt.datetime.now(dt.UTC)
            assert await usecases.work_next(channel.store, filer, now, 2)
            # A conversation this code cannot read (as if written by a newer version).
            await line.intake.db.execute("UPDATE line_conversations SET step = 'later-step'")
            bad, after = text_event(user, STORY), text_event(user, "ยกเลิก")
            assert (await line.post(delivery(bad, after))).status_code == 200
            assert await usecases.work_next(channel.store, filer, now, 2)
            row = await line.intake.db.fetchrow(
                "SELECT attempts, error, processed_at, not_before FROM line_events"
                " WHERE webhook_event_id = $1",
                bad["webhookEventId"],
            )
            assert row is not None and row["attempts"] == 1 and row["error"] == "ValueError"
            assert row["processed_at"] is None and row["not_before"] > now
            # Until its pause is over nothing of this user moves (their order is kept).
            assert await usecases.work_next(channel.store, filer, now, 2) is False
            later = row["not_before"] + dt.timedelta(seconds=1)
            assert await usecases.work_next(channel.store, filer, later, 2)  # given up
            given_up = await line.intake.db.fetchrow(
                "SELECT attempts, processed_at FROM line_events WHERE webhook_event_id = $1",
                bad["webhookEventId"],
            )
            assert given_up is not None and given_up["attempts"] == 2
            assert given_up["processed_at"] is not None
            # The next message is worked (and starts the conversation over).
            await line.intake.db.execute("UPDATE line_conversations SET step = 'idle'")
            assert await usecases.work_next(channel.store, filer, later, 2)
            worked = await line.intake.db.fetchval(
                "SELECT processed_at IS NOT NULL FROM line_events WHERE webhook_event_id = $1",
                after["webhookEventId"],
            )
            assert worked is True


async def test_a_filing_retried_across_the_clock_window_answers_the_first_number(
    infra: dict[str, str],
) -> None:
    """A retry after a crash may see the message's time differently (just ahead of our
    clock, then behind it): the complaint filed from that message stands, and its number
    is the answer."""
    with FakeLineApi(access_token=TOKEN) as api:
        async with (
            fresh_database(infra["database_url"]) as url,
            started(infra, url, uuid.uuid4().hex[:8], api, line_worker_enabled=False) as line,
        ):
            filer = usecases.Filer(line.app.state.store, line.intake.settings, KEYS)
            draft = talk.Draft("ไฟดับ", STORY, "public_utilities", "1004", (), None)
            filing = talk.Filing(draft, "m-" + uuid.uuid4().hex)
            now = dt.datetime.now(dt.UTC)
            ahead = int((now + dt.timedelta(seconds=5)).timestamp() * 1000)
            user = new_user_id()
            first = await usecases._file(filer, filing, ahead, user, now)
            later = now + dt.timedelta(seconds=10)
            second = await usecases._file(filer, filing, ahead, user, later)
            assert first is not None and second == first
            rows = await line.intake.db.fetch(
                "SELECT received_at FROM complaints WHERE channel_ref = $1", filing.channel_ref
            )
            assert len(rows) == 1
