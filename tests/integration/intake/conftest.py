"""One running intake service per test module, on the module's own database and topics.

Tests use fresh idempotency keys and channel references, so they do not see each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.intake.main import create_app
from shared.config import Settings
from tests.waiting import eventually

@dataclass
class IntakeService:
    client: httpx.AsyncClient
    settings: Settings
    db: asyncpg.Connection  # direct access to the intake schema, for assertions

    async def records(self) -> list[Any]:
        """Every record on the events topic so far (manual assignment: no group join)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            parts = [TopicPartition(self.settings.events_topic, p)
                     for p in range(self.settings.topic_partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            out: list[Any] = []
            batch = await consumer.getmany(timeout_ms=1000)
            while batch:
                for msgs in batch.values():
                    out.extend(msgs)
                batch = await consumer.getmany(timeout_ms=300)
            return out
        finally:
            await consumer.stop()


@pytest.fixture(scope="module")
async def intake(infra: dict[str, str]) -> AsyncIterator[IntakeService]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infra["database_url"])
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    suffix = uuid.uuid4().hex[:8]
    url = f"{infra['database_url'].rsplit('/', 1)[0]}/{name}"
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=infra["kafka_bootstrap"],
        events_topic=f"complaints.events.{suffix}",
        dlq_topic=f"complaints.events.dlq.{suffix}",
        topic_partitions=4,
        db_pool_max=25,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                async def ready() -> bool:
                    return (await client.get("/healthz")).status_code == 200
                await eventually(ready, timeout=30)
                db = await asyncpg.connect(url, server_settings={"search_path": "intake"})
                try:
                    yield IntakeService(client, settings, db)
                finally:
                    await db.close()
    finally:
        admin = await asyncpg.connect(infra["database_url"])
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
