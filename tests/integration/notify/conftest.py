"""notify in-process against a real intake (served over TCP, as notify calls it), the real
database and broker, and local fakes of the providers (SMS gateway, SMTP server, LINE).

Intake and notify share the test's database (each in its own schema) and topics; status
is stood in for by publishing its events, signed with its (test) key, onto the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from damrong.embedded import free_port
from services.intake.main import create_app as create_intake
from services.notify.config import NotifySettings
from services.notify.main import create_app as create_notify
from shared.auth.principal import Role
from shared.codes import ClosureReason
from shared.config import Settings
from shared.events import STATUS_SOURCE, CaseAccepted, CaseClosed, Envelope, EventData
from shared.kafka import ensure_topics, make_producer
from tests.auth import admin_headers, token
from tests.cli import Ran, damrong
from tests.fakes.line_api import FakeLineApi
from tests.fakes.sms_provider import FakeSmsProvider
from tests.fakes.smtp_sink import SmtpSink
from tests.signing import publisher_settings, signed_record
from tests.waiting import eventually

FEEDBACK_SECRET = "feedback-secret-" + "f" * 32
NOTIFIER_TOKEN = token(Role.notifier, "notify-service")


def fresh_phone() -> str:
    """A Thai mobile number no other test uses (E.164, as intake normalises it)."""
    return f"+6681{random.randrange(10**7):07d}"


def line_id() -> str:
    return "U" + uuid.uuid4().hex


@dataclass
class Person:
    phone: str
    email: str
    line_user_id: str

    def complainant(self, notify: list[str]) -> dict[str, Any]:
        return {
            "anonymous": False,
            "name": "ทดสอบ แจ้งเตือน",
            "phone": self.phone,
            "email": self.email,
            "line_user_id": self.line_user_id,
            "notify": notify,
        }


def person() -> Person:
    return Person(fresh_phone(), f"p{uuid.uuid4().hex[:10]}@example.org", line_id())


@dataclass
class Filed:
    complaint_id: uuid.UUID
    tracking_no: str


@dataclass
class Rig:
    settings: Settings
    intake: httpx.AsyncClient
    intake_url: str
    db: asyncpg.Connection  # the notify schema
    producer: AIOKafkaProducer
    sms: FakeSmsProvider
    smtp: SmtpSink
    line: FakeLineApi

    def notify_settings(self, **overrides: Any) -> NotifySettings:
        values: dict[str, Any] = {
            "intake_url": self.intake_url,
            "notify_service_token": NOTIFIER_TOKEN,
            "notify_retry_first_s": 0.05,
            "notify_retry_cap_s": 0.2,
            "notify_poll_s": 0.05,
            "notify_max_attempts": 3,
            "notify_sms_url": self.sms.url,
            "notify_smtp_host": self.smtp.host,
            "notify_smtp_port": self.smtp.port,
            "line_api_base_url": self.line.base_url,
            "line_channel_access_token": self.line.access_token,
            "feedback_link_secret": FEEDBACK_SECRET,
            "console_public_url": "http://console.test",
        }
        return NotifySettings(**{**values, **overrides})

    @contextlib.asynccontextmanager
    async def notify(self, **overrides: Any) -> AsyncIterator[Any]:
        """A notify app, started (healthy) until the block ends."""
        app = create_notify(self.settings, self.notify_settings(**overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:

                async def health() -> int:
                    return (await client.get("/healthz")).status_code

                await eventually(health, lambda code: code == 200, timeout=60)
                yield app

    async def file(self, who: Person, notify: list[str], *, anonymous: bool = False) -> Filed:
        complainant = {"anonymous": True} if anonymous else who.complainant(notify)
        answer = await self.intake.post(
            "/v1/complaints",
            json={
                "channel": "web",
                "district_code": "1001",
                "category": "land",
                "subject": "ทางเท้าชำรุด",
                "description": "ทางเท้าหน้าตลาดชำรุด",
                "complainant": complainant,
                "channel_ref": uuid.uuid4().hex,
            },
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        # Intake's relay publishes the filing a moment after the answer: wait for it, so
        # that the case's later events, which the tests publish as status would, never
        # overtake it (status, reading the filing first, never lets that happen).
        await eventually(
            lambda: self.db.fetchval(
                "SELECT count(*) FROM intake.outbox WHERE published_at IS NULL"
            ),
            lambda unpublished: unpublished == 0,
            timeout=60,
        )
        return Filed(uuid.UUID(body["complaint_id"]), body["tracking_no"])

    async def publish(self, case: Filed, version: int, data: EventData) -> Envelope:
        """A status event of ``case``, signed by status' (test) key, onto the topic."""
        now = dt.datetime.now(dt.UTC)
        env = Envelope(
            event_id=uuid.uuid4(),
            complaint_id=case.complaint_id,
            version=version,
            source=STATUS_SOURCE,
            occurred_at=now,
            recorded_at=now,
            data=data,
        )
        key, headers, value = signed_record(env)
        await self.producer.send_and_wait(
            self.settings.events_topic, value, key=key, headers=headers
        )
        return env

    async def accept_and_close(self, case: Filed) -> None:
        await self.publish(case, 2, CaseAccepted(actor="officer-1"))
        await self.publish(case, 3, CaseClosed(actor="officer-1", reason=ClosureReason.resolved))

    async def rows(self, case: Filed) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in await self.db.fetch(
                "SELECT version, channel, template, status, attempts, error_class, "
                "dlq_published FROM notifications WHERE complaint_id = $1 "
                "ORDER BY version, channel",
                case.complaint_id,
            )
        ]

    async def settled(self, case: Filed, count: int) -> list[dict[str, Any]]:
        """The case's rows once there are ``count`` and none is pending."""

        async def probe() -> list[dict[str, Any]]:
            return await self.rows(case)

        return await eventually(
            probe,
            lambda rows: len(rows) == count and all(r["status"] != "pending" for r in rows),
            timeout=60,
        )

    async def cli(self, *args: str) -> Ran:
        s = self.settings
        return await damrong(
            "dlq",
            *args,
            env={
                "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
                "EVENTS_TOPIC": s.events_topic,
                "DLQ_TOPIC": s.dlq_topic,
                "EVENT_PUBLIC_KEYS": json.dumps(s.event_public_keys),
            },
        )


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` (already started) over HTTP on a free local port, for as long as the block."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def rig(make_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    suffix = uuid.uuid4().hex[:8]
    common = {"consumer_group_prefix": f"nt-{suffix}", "topic_partitions": 2}
    intake_settings = make_settings(**common, **publisher_settings("intake"))
    settings = make_settings(**common)
    await ensure_topics(settings)
    intake_app = create_intake(intake_settings)
    with FakeSmsProvider() as sms, SmtpSink() as smtp, FakeLineApi() as line:
        async with intake_app.router.lifespan_context(intake_app), served(intake_app) as url:
            transport = httpx.ASGITransport(app=intake_app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://i", headers=admin_headers()
            ) as intake:
                producer = make_producer(settings)
                await producer.start()
                db = await asyncpg.connect(
                    settings.database_url, server_settings={"search_path": "notify"}
                )
                try:
                    yield Rig(settings, intake, url, db, producer, sms, smtp, line)
                finally:
                    await db.close()
                    await producer.stop()
