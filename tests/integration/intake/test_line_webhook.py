"""The LINE webhook on a running intake, with a local fake of LINE's Messaging API.

Signatures (nothing stored without a good one), hostile bodies (never a 500), a whole
conversation to a filed complaint, redeliveries filing once, and a channel left
unconfigured (503, intake still up)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from pydantic import SecretStr

from services.intake.line.api import WEBHOOK_MAX_BYTES
from services.intake.line.config import LineSettings
from services.intake.main import create_app
from shared.config import Settings
from tests.auth import TEST_SECRET
from tests.fakes.line_api import (
    FakeLineApi,
    delivery,
    new_user_id,
    signature,
    text_event,
)
from tests.infra import fresh_database, isolation
from tests.integration.intake.conftest import IntakeService
from tests.pii import SETTINGS as PII_SETTINGS
from tests.signing import publisher_settings
from tests.waiting import eventually

TOKEN = "line-token-" + uuid.uuid4().hex
SECRET = uuid.uuid4().hex
WEBHOOK = "/channels/line/webhook"
STORY = "ถนนหน้าบ้านเป็นหลุมลึก น้ำท่วมขังมาสามเดือนแล้ว\nรถจักรยานยนต์ล้มไปแล้วสองคัน"


@dataclass
class Line:
    intake: IntakeService
    api: FakeLineApi
    app: Any

    async def post(self, body: bytes, secret: str = SECRET, **headers: str) -> httpx.Response:
        return await self.intake.client.post(
            WEBHOOK,
            content=body,
            headers={"x-line-signature": signature(secret, body), **headers},
        )

    async def say(self, user: str, text: str, **kwargs: Any) -> dict[str, Any]:
        """Send one text message; return its event once its reply reached LINE."""
        event = text_event(user, text, **kwargs)
        await self.send(event)
        return event

    async def send(self, event: dict[str, Any]) -> list[str]:
        """Deliver ``event``; the texts LINE was asked to send back for it."""
        assert (await self.post(delivery(event))).status_code == 200

        def answered() -> list[str]:
            return [
                t
                for c in self.api.calls
                if c.status == 200 and _answers(c.json, event)
                for t in c.texts()
            ]

        async def probe() -> list[str]:
            return answered()

        return await eventually(probe, timeout=20)


def _answers(body: Any, event: dict[str, Any]) -> bool:
    return isinstance(body, dict) and body.get("replyToken") == event["replyToken"]


def line_settings(api: FakeLineApi, **overrides: Any) -> LineSettings:
    return LineSettings(
        line_channel_secret=SecretStr(SECRET),
        line_channel_access_token=SecretStr(api.access_token),
        line_api_base_url=api.base_url,
        line_poll_s=0.5,
        **overrides,
    )


@contextlib.asynccontextmanager
async def intake_with_line(
    infra: dict[str, str], database_url: str, suffix: str, line: LineSettings | None
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Settings]]:
    """Intake on ``database_url`` (kept: a second run sees what the first stored)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": infra["kafka_bootstrap"],
        **isolation(suffix),  # topics and consumer groups of its own
        "topic_partitions": 4,
        "auth_jwt_secret": TEST_SECRET,
        **PII_SETTINGS,
        **publisher_settings("intake"),
    }
    settings = Settings(**values)
    app = create_app(settings)
    app.state.line_settings = line or LineSettings(
        line_channel_secret=None, line_channel_access_token=None
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def health() -> int:
                return (await client.get("/healthz")).status_code

            await eventually(health, lambda code: code == 200, timeout=30)
            yield app, client, settings


@contextlib.asynccontextmanager
async def running_line(infra: dict[str, str], api: FakeLineApi) -> AsyncIterator[Line]:
    """Intake with its LINE channel talking to ``api``, on a database of its own."""
    async with (
        fresh_database(infra["database_url"]) as url,
        intake_with_line(infra, url, uuid.uuid4().hex[:8], line_settings(api)) as (
            app,
            client,
            settings,
        ),
    ):
        db = await asyncpg.connect(url, server_settings={"search_path": "intake"})
        try:
            yield Line(IntakeService(client, settings, db), api, app)
        finally:
            await db.close()


@pytest.fixture(scope="module")
async def line(infra: dict[str, str]) -> AsyncIterator[Line]:
    with FakeLineApi(access_token=TOKEN) as api:
        async with running_line(infra, api) as running:
            yield running


async def _stored(line: Line) -> int:
    return int(await line.intake.db.fetchval("SELECT count(*) FROM line_events"))


# -- signatures ------------------------------------------------------------------------------


async def test_bad_signatures_are_refused_and_store_nothing(line: Line) -> None:
    user = new_user_id()
    body = delivery(text_event(user, "สวัสดีครับ"))
    before = await _stored(line)
    altered = body.replace("สวัสดี".encode(), "ลาก่อน".encode())
    cases = [
        ("altered body", altered, {"x-line-signature": signature(SECRET, body)}),
        ("missing", body, {}),
        ("wrong secret", body, {"x-line-signature": signature("not-the-secret", body)}),
        ("not base64", body, {"x-line-signature": "%%%"}),
        ("empty", body, {"x-line-signature": ""}),
    ]
    for name, content, headers in cases:
        answer = await line.intake.client.post(WEBHOOK, content=content, headers=headers)
        assert answer.status_code == 400, name
        assert answer.headers["content-type"] == "application/problem+json", name
        assert answer.json()["field"] == "x-line-signature", name
    assert await _stored(line) == before
    assert not any(c.json and c.json.get("to") == user for c in line.api.calls)


async def test_a_signed_delivery_is_answered_at_once_and_stored(line: Line) -> None:
    user = new_user_id()
    event = text_event(user, "สวัสดีครับ")
    started = time.monotonic()
    answer = await line.post(delivery(event))
    assert answer.status_code == 200
    assert time.monotonic() - started < 1.0
    row = await line.intake.db.fetchrow(
        "SELECT sealed, user_hash FROM line_events WHERE webhook_event_id = $1",
        event["webhookEventId"],
    )
    assert row is not None
    # Nothing personal in clear: neither the userId nor what was said.
    assert user.encode() not in row["sealed"] and "สวัสดี".encode() not in row["sealed"]
    assert user.encode() not in row["user_hash"]


# -- hostile bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00garbage",  # not UTF-8: LINE never sends it
        b'{"events": [}',
        b"[" * 5000 + b"]" * 5000,
        b'{"events": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{"events": "no list"}',
        b"[]",
        b'{"destination": "x"}',
        orjson.dumps({"events": [{"type": "x"}] * 101}),
        b'{"events": [' + b'{"a": ' * 1500 + b"1" + b"}" * 1500 + b"]}",
        b"{" + b" " * (1024 * 1024) + b"}",
        b'{"events": [], "pad": "' + b"x" * WEBHOOK_MAX_BYTES + b'"}',
    ],
    ids=[
        "not-json",
        "not-utf8",
        "broken-json",
        "deep-array",
        "deep-events",
        "events-not-list",
        "array",
        "no-events",
        "too-many-events",
        "deep-event",
        "one-megabyte",
        "over-the-limit",
    ],
)
async def test_hostile_signed_bodies_are_refused_never_500(line: Line, body: bytes) -> None:
    before = await _stored(line)
    answer = await line.intake.client.post(
        WEBHOOK,
        content=body,
        headers={"x-line-signature": base64.b64encode(b"x" * 32).decode()},
    )
    assert answer.status_code in (400, 413)
    signed = await line.post(body)
    assert signed.status_code == (413 if len(body) > WEBHOOK_MAX_BYTES else 400), signed.text
    assert signed.headers["content-type"] == "application/problem+json"
    assert await _stored(line) == before


async def test_unknown_events_and_odd_messages_are_stored_and_skipped(line: Line) -> None:
    user = new_user_id()
    odd = [
        {"type": "beacon", "webhookEventId": "b-" + uuid.uuid4().hex, "source": {"type": "user"}},
        {"type": "message", "webhookEventId": "m-" + uuid.uuid4().hex, "message": {"a": [1] * 3}},
        {**text_event(user, "x"), "message": {"type": "text", "id": "1", "text": {"deep": [[]]}}},
        {**text_event(user, "x"), "source": {"type": "group", "groupId": "C1"}},
        text_event(user, "x") | {"type": "brand-new-kind"},
        text_event(user, "x") | {"extra": orjson.loads(b"[" * 250 + b"]" * 250)},
        {"webhookEventId": "too-deep", "x": orjson.loads(b"[" * 600 + b"]" * 600)},
        "not an event",
        17,
    ]
    body = json.dumps({"destination": "U0", "events": odd}).encode()  # orjson stops at 254
    assert (await line.post(body)).status_code == 200
    ids = [e["webhookEventId"] for e in odd if isinstance(e, dict)]
    assert "too-deep" in ids  # left out: deeper than can be stored

    async def worked() -> list[Any]:
        return list(
            await line.intake.db.fetch(
                "SELECT processed_at, error FROM line_events WHERE webhook_event_id = ANY($1)",
                ids,
            )
        )

    rows = await eventually(worked, lambda rs: len(rs) == 6 and all(r[0] for r in rs))
    assert {r["error"] for r in rows} <= {"ignored", None}
    assert (await line.intake.client.get("/healthz")).status_code == 200
