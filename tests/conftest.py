"""Session-wide real infrastructure: PostgreSQL and a Kafka-protocol broker.

By default both are the embedded ones, started once per test session on free ports.
With ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` set, those servers are used instead;
with ``DAMRONG_TEST_BACKEND=containers``, Apache Kafka and PostgreSQL containers (skipped
without Docker).
Every test gets fresh databases and topics through the factories below.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from shared.config import Settings
from tests.auth import TEST_SECRET
from tests.infra import backend, fresh_database, isolation, start_infra
from tests.pii import SETTINGS as PII_SETTINGS
from tests.signing import SETTINGS as SIGNING_SETTINGS


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    with start_infra() as urls:
        yield urls


@pytest.fixture
async def fresh_db(infra: dict[str, str]) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    async with fresh_database(infra["database_url"]) as url:
        yield url


@pytest.fixture
def make_settings(infra: dict[str, str], fresh_db: str) -> Callable[..., Settings]:
    """Settings on the test's own database and its own topics (and consumer groups and
    idempotent producers on Apache Kafka: ``tests.infra.isolation``)."""
    suffix = uuid.uuid4().hex[:8]

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": fresh_db,
            "kafka_bootstrap_servers": infra["kafka_bootstrap"],
            **isolation(suffix),
            "topic_partitions": 4,
            "auth_jwt_secret": TEST_SECRET,
            **PII_SETTINGS,
            **SIGNING_SETTINGS,
        }
        values.update(overrides)
        return Settings(**values)

    return build


def pytest_configure(config: pytest.Config) -> None:
    backend()  # a misspelt DAMRONG_TEST_BACKEND stops the run before any test
    # Parallel workers (pytest-xdist: gw0, gw1, ...) each start their own servers and
    # platforms: ports are split between them (damrong.embedded._proc.free_port), and the
    # processes they launch inherit the split.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        count = os.environ["PYTEST_XDIST_WORKER_COUNT"]
        os.environ["DAMRONG_PORT_STRIPE"] = f"{worker.removeprefix('gw')}/{count}"


def pytest_report_header() -> str:
    name = backend()
    if name == "embedded" and os.environ.get("DATABASE_URL"):
        name = "external"
    return f"damrong test backend: {name}"
