"""Session-wide real infrastructure: PostgreSQL and a Kafka-protocol broker.

By default both are the embedded ones, started once per test session on free ports.
With ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` set, those servers are used instead.
Every test gets fresh databases and topics through the factories below.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from shared.config import Settings
from tests.infra import start_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    with start_infra() as urls:
        yield urls


@pytest.fixture
async def fresh_db(infra: dict[str, str]) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infra["database_url"])
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = infra["database_url"].rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(infra["database_url"])
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def make_settings(infra: dict[str, str], fresh_db: str) -> Callable[..., Settings]:
    """Settings on the test's own database and its own topics."""
    suffix = uuid.uuid4().hex[:8]

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": fresh_db,
            "kafka_bootstrap_servers": infra["kafka_bootstrap"],
            "events_topic": f"complaints.events.{suffix}",
            "dlq_topic": f"complaints.events.dlq.{suffix}",
            "topic_partitions": 4,
        }
        values.update(overrides)
        return Settings(**values)

    return build


def pytest_report_header() -> str:
    backend = "external" if os.environ.get("DATABASE_URL") else "embedded"
    return f"damrong test backend: {backend}"
