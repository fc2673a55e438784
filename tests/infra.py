"""Start (or point at) the test infrastructure: the embedded servers, or external ones.

``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``, when set, name servers to use instead.
``DAMRONG_TEST_BACKEND=containers`` (``make test BACKEND=containers``) runs Apache Kafka
and PostgreSQL in Docker instead (tests/containers.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from damrong.embedded._proc import free_port

BACKENDS = ("embedded", "containers")


def backend(env: Mapping[str, str] | None = None) -> str:
    """The test backend chosen by ``DAMRONG_TEST_BACKEND`` (default: embedded)."""
    chosen = (os.environ if env is None else env).get("DAMRONG_TEST_BACKEND") or "embedded"
    if chosen not in BACKENDS:
        raise pytest.UsageError(
            f"DAMRONG_TEST_BACKEND={chosen!r}: expected one of {', '.join(BACKENDS)}"
        )
    return chosen


def embedded_only(why: str) -> pytest.MarkDecorator:
    """Skip a test under the containers backend: it is about the embedded servers."""
    return pytest.mark.skipif(backend() == "containers", reason=f"embedded servers only ({why})")


def isolation(suffix: str, backend_name: str | None = None) -> dict[str, Any]:
    """Settings that keep one test's (or platform's) traffic to itself on a shared broker:
    topics and consumer groups of its own (apps of several tests consuming different topics
    in one group would keep it rebalancing, on any broker) and, on Apache Kafka
    (containers), idempotent producers as in production (the embedded broker lacks them)."""
    values: dict[str, Any] = {
        "events_topic": f"complaints.events.{suffix}",
        "dlq_topic": f"complaints.events.dlq.{suffix}",
        "consumer_group_prefix": f"damrong-{suffix}",
    }
    if (backend_name or backend()) == "containers":
        values["kafka_enable_idempotence"] = True
    return values


def as_env(values: dict[str, Any]) -> dict[str, str]:
    """Settings as the environment variables a service process reads."""
    return {
        name.upper(): str(v).lower() if isinstance(v, bool) else str(v)
        for name, v in values.items()
    }


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on ``server_url``'s server; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """A PostgreSQL server for the duration: ``DATABASE_URL``'s, or an embedded one."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    from damrong.embedded.postgres import EmbeddedPostgres

    with (
        tempfile.TemporaryDirectory(prefix="damrong-pg-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg", free_port(), log_file=Path(tmp) / "pg.log") as pg,
    ):
        yield pg.url


@contextlib.contextmanager
def kafka_bootstrap() -> Iterator[str]:
    """A Kafka-protocol broker for the duration: ``KAFKA_BOOTSTRAP_SERVERS``, or embedded."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    from damrong.embedded.broker import EmbeddedBroker

    with (
        tempfile.TemporaryDirectory(prefix="damrong-kafka-") as tmp,
        EmbeddedBroker(free_port(), log_file=Path(tmp) / "broker.log") as broker,
    ):
        yield broker.bootstrap


@contextlib.contextmanager
def start_infra() -> Iterator[dict[str, str]]:
    if backend() == "containers":
        from tests.containers import container_infra

        with container_infra() as urls:
            yield urls
        return
    with database_url() as db, kafka_bootstrap() as kafka:
        yield {"database_url": db, "kafka_bootstrap": kafka}
