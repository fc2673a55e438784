"""One running status service for the whole package (a consumer-group join costs seconds).

Every test uses fresh complaint ids (and the worklist tests fresh province and district
codes), so tests sharing the service do not see each other.
The database and topics are the module's own, made the way tests/conftest.py makes them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.status.main import create_app
from shared.config import Settings
from shared.events import Envelope
from shared.kafka import make_producer
from shared.runtime import Runtime
from tests.service_app import running_app
from tests.signing import signed_record
from tests.waiting import eventually


@dataclass
class StatusService:
    client: httpx.AsyncClient
    settings: Settings
    runtime: Runtime
    producer: AIOKafkaProducer
    app: FastAPI

    async def publish(self, env: Envelope) -> None:
        """``env`` on the topic, signed by its source's key as a relay would."""
        key, headers, value = signed_record(env)
        await self.producer.send_and_wait(
            self.settings.events_topic, value, key=key, headers=headers
        )

    async def publish_raw(
        self, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        await self.producer.send_and_wait(
            self.settings.events_topic, value, key=key, headers=headers or []
        )

    async def wait_for_case(self, complaint_id: uuid.UUID) -> dict[str, Any]:
        async def fetch() -> dict[str, Any] | None:
            r = await self.client.get(f"/v1/complaints/{complaint_id}")
            return r.json() if r.status_code == 200 else None

        case = await eventually(fetch)
        assert case is not None  # eventually answers a truthy value only
        return case


@pytest.fixture(scope="package")
async def status_service(infra: dict[str, str]) -> AsyncIterator[StatusService]:
    async with running_app(create_app, infra) as running:
        producer = make_producer(running.settings)
        await producer.start()
        try:
            yield StatusService(
                running.client, running.settings, running.app.state.runtime, producer, running.app
            )
        finally:
            await producer.stop()
