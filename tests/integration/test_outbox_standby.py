"""Two instances of one service: one relay publishes, the other stands by, healthy, and
takes over when the first stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer

from shared.config import Settings
from shared.db import create_pool, migrate
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay, append
from tests.events import accepted as _event
from tests.signing import signer
from tests.waiting import eventually


async def test_standby_relay_is_ready_and_takes_over(
    make_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = make_settings(topic_partitions=1)
    pool = await create_pool(settings.database_url, "standby")
    empty = tmp_path_factory.mktemp("mig")
    await migrate(pool, "standby", empty)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    first = OutboxRelay(pool, producer, name="standby", signer=signer("/test"), idle_poll_s=0.05)
    second = OutboxRelay(pool, producer, name="standby", signer=signer("/test"), idle_poll_s=0.05)
    one = asyncio.create_task(first.run())
    await eventually(lambda: asyncio.sleep(0, first.caught_up.is_set()), timeout=20)
    two = asyncio.create_task(second.run())
    consumer = AIOKafkaConsumer(
        settings.events_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        # The second waits for the lock, and says it is ready all the same.
        await eventually(lambda: asyncio.sleep(0, second.ready()), timeout=20)
        assert second.standing_by and not second.caught_up.is_set()
        async with pool.acquire() as conn:
            await append(conn, settings.events_topic, [_event("by-first")])
        await eventually(lambda: asyncio.sleep(0, first.published), lambda n: n == 1)

        one.cancel()  # the first instance goes away: its lock is released
        await asyncio.gather(one, return_exceptions=True)
        await eventually(lambda: asyncio.sleep(0, second.caught_up.is_set()), timeout=20)
        assert not second.standing_by
        async with pool.acquire() as conn:
            await append(conn, settings.events_topic, [_event("by-second")])
        await eventually(lambda: asyncio.sleep(0, second.published), lambda n: n == 1)

        notes: list[str] = []

        async def both() -> list[str]:
            batch = await consumer.getmany(timeout_ms=500)
            notes.extend(r.value.decode() for records in batch.values() for r in records)
            return notes

        seen = await eventually(both, lambda got: len(got) >= 2, timeout=20)
        assert ["by-first" in seen[0], "by-second" in seen[1]] == [True, True]
    finally:
        two.cancel()
        await asyncio.gather(two, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await pool.close()
