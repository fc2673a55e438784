"""One running status service for the whole package (a consumer-group join costs seconds).

Every test uses fresh complaint ids (and the worklist tests fresh province and district
codes), so tests sharing the service do not see each other.
The database and topics are the module's own, made the way tests/conftest.py makes them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.status.main import create_app
from shared.config import Settings
from shared.envelope_codec import to_record
from shared.events import Envelope
from shared.kafka import make_producer
from shared.runtime import Runtime
from tests.waiting import eventually

@dataclass
class StatusService:
    client: httpx.AsyncClient
    settings: Settings
    runtime: Runtime
    producer: AIOKafkaProducer
    app: FastAPI

    async def publish(self, env: Envelope) -> None:
        key, headers, value = to_record(env)
        await self.producer.send_and_wait(self.settings.events_topic, value, key=key,
                                          headers=headers)

    async def publish_raw(self, key: bytes, value: bytes,
                          headers: list[tuple[str, bytes]] | None = None) -> None:
        await self.producer.send_and_wait(self.settings.events_topic, value, key=key,
                                          headers=headers or [])

    async def wait_for_case(self, complaint_id: uuid.UUID) -> dict[str, Any]:
        async def fetch() -> dict[str, Any] | None:
            r = await self.client.get(f"/v1/complaints/{complaint_id}")
            return r.json() if r.status_code == 200 else None
        return await eventually(fetch)


@pytest.fixture(scope="package")
async def status_service(infra: dict[str, str]) -> AsyncIterator[StatusService]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infra["database_url"])
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=f"{infra['database_url'].rsplit('/', 1)[0]}/{name}",
        kafka_bootstrap_servers=infra["kafka_bootstrap"],
        events_topic=f"complaints.events.{suffix}",
        dlq_topic=f"complaints.events.dlq.{suffix}",
        topic_partitions=4,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                async def ready() -> bool:
                    return (await client.get("/healthz")).status_code == 200
                await eventually(ready, timeout=30)
                producer = make_producer(settings)
                await producer.start()
                try:
                    yield StatusService(client, settings, app.state.runtime, producer, app)
                finally:
                    await producer.stop()
    finally:
        admin = await asyncpg.connect(infra["database_url"])
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
