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

from services.intake.main import create_app
from shared.config import Settings
from shared.topic_reader import read_topic
from tests.service_app import running_app


@dataclass
class IntakeService:
    client: httpx.AsyncClient
    settings: Settings
    db: asyncpg.Connection  # direct access to the intake schema, for assertions

    async def records(self) -> list[Any]:
        """Every record on the events topic so far."""
        return [rec async for rec in read_topic(self.settings)]


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
