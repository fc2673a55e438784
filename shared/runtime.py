"""What a service runs besides HTTP: its pool, producer, outbox relay and consumer.

Built in the FastAPI lifespan (nothing at import time) and torn down in reverse.
Readiness: the database answered and was migrated, the producer reached the broker,
the relay drained the backlog it found, and the consumer (if any) has partitions.

A publishing service names its ``source``: its relay signs that source's events with
EVENT_SIGNING_KEY.  Without the keys it needs (``check_keys``) a service does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from shared.config import Settings
from shared.consumer import BatchHandler, EventConsumer, Handler
from shared.db import create_pool, migrate
from shared.http import Readiness
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from shared.signed_records import RecordSigner, signer_from_settings, verifier_from_settings

log = structlog.get_logger()


class Runtime:
    def __init__(
        self,
        settings: Settings,
        schema: str,
        migrations: Path,
        *,
        consumer_group: str | None = None,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        relay: bool = True,
        source: str | None = None,
    ) -> None:
        if relay and source is None:
            raise ValueError("a service with an outbox relay publishes as a source")
        self.settings = settings
        self.schema = schema
        self._migrations = migrations
        self._group = consumer_group
        self._handler = handler
        self._batch_handler = batch_handler
        self._want_relay = relay
        self._source = source
        self.readiness = Readiness()
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def check_keys(self) -> RecordSigner | None:
        """The relay's signer (None without a relay); SigningNotConfigured if this service
        lacks a key it needs: to sign what it publishes, or to check what it consumes."""
        if self._group and self._handler:
            verifier_from_settings(self.settings)
        if not self._want_relay:
            return None
        assert self._source is not None
        return signer_from_settings(self.settings, self._source)

    async def start(self) -> None:
        s = self.settings
        signer = self.check_keys()  # before anything opens: nothing to tear down
        self.pool = await create_pool(s.database_url, self.schema, max_size=s.db_pool_max)
        await migrate(self.pool, self.schema, self._migrations)
        self.readiness.add("database", lambda: self.pool is not None)
        await ensure_topics(s)
        self.producer = make_producer(s)
        await self.producer.start()
        self.readiness.add("broker", lambda: self.producer is not None)
        if self._want_relay:
            assert signer is not None
            self.relay = OutboxRelay(self.pool, self.producer, name=self.schema, signer=signer,
                                     epoch=s.damrong_broker_epoch)
            self._spawn(self.relay.run(), "relay")
            relay = self.relay
            self.readiness.add("outbox relay", relay.ready)
        if self._group and self._handler:
            self.consumer = EventConsumer(
                self.pool, self.producer, s, self._group, self._handler,
                batch_handler=self._batch_handler,
            )
            await self.consumer.start()
            self._spawn(self.consumer.run(), "consumer")
            consumer = self.consumer
            # Latched: a later rebalance is routine and must not flap the health check.
            self.readiness.add("consumer", consumer.joined.is_set)

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]

        def _done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                # A dead relay or consumer must not hide behind a healthy HTTP port.
                log.error("runtime.task_died", task=name, error=repr(t.exception()))
                self.readiness.add(f"{name} (died)", lambda: False)

        task.add_done_callback(_done)
        self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        if self.pool is not None:
            await self.pool.close()
