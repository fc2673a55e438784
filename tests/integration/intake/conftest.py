"""One running intake service per test module, on the module's own database and topics.

Tests use fresh idempotency keys and channel references, so they do not see each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.intake.main import create_app
from shared.config import Settings
from tests.service_app import running_app


@dataclass
class IntakeService:
    client: httpx.AsyncClient
    settings: Settings
    db: asyncpg.Connection  # direct access to the intake schema, for assertions

    async def records(self) -> list[Any]:
        """Every record on the events topic so far (manual assignment: no group join)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            parts = [
                TopicPartition(self.settings.events_topic, p)
                for p in range(self.settings.topic_partitions)
            ]
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
    async with running_app(create_app, infra, db_pool_max=25) as running:
        db = await asyncpg.connect(
            running.settings.database_url, server_settings={"search_path": "intake"}
        )
        try:
            yield IntakeService(running.client, running.settings, db)
        finally:
            await db.close()
