"""What a service runs besides HTTP: its pool, producer, outbox relay and consumer.

Built in the FastAPI lifespan (nothing at import time) and torn down in reverse.
Readiness: the database answers (a round trip per probe), the producer reached the
broker, the relay drained the backlog it found (or stands by for the instance that
publishes), and the consumer (if any) has joined its group.

Background tasks are supervised: a transient fault is retried inside the relay and the
consumer themselves, and a task that dies anyway is logged (``runtime.task_died``) and
started again after a capped, growing pause, each restart counted.  While a task waits
for its restart, and until the restarted task works again, ``/healthz`` says 503; its
body names every task with its state and restarts.

A publishing service names its ``source``: its relay signs that source's events with
EVENT_SIGNING_KEY.  Without the keys it needs (``check_keys``) a service does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from shared.config import Settings
from shared.consumer import AroundBatch, BatchHandler, EventConsumer, Handler
from shared.db import create_pool, migrate, reachable, retry_transient
from shared.faults import Backoff
from shared.http import Readiness
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from shared.signed_records import RecordSigner, signer_from_settings, verifier_from_settings

log = structlog.get_logger()

# A task that ran this long before it died starts its back-off afresh.
STABLE_RUN_S = 60.0


@dataclass
class TaskState:
    """One supervised task, as ``/healthz`` shows it."""

    name: str
    restarts: int = 0
    down: bool = False  # died, waiting for its restart
    # The kind of the last death only: /healthz is open to anyone, the log has the rest.
    last_error: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "state": "down" if self.down else "running",
            "restarts": self.restarts,
            "last_error": self.last_error,
        }


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
        around_batch: AroundBatch | None = None,
        relay: bool = True,
        source: str | None = None,
        restart_backoff: tuple[float, float] = (0.5, 30.0),
        server_settings: Mapping[str, str] | None = None,
    ) -> None:
        if relay and source is None:
            raise ValueError("a service with an outbox relay publishes as a source")
        self.settings = settings
        self.schema = schema
        self._migrations = migrations
        self._group = consumer_group
        self._handler = handler
        self._batch_handler = batch_handler
        self._around_batch = around_batch  # the consumer's (``shared.consumer.AroundBatch``)
        self._want_relay = relay
        self._source = source
        self._restart_backoff = restart_backoff  # first pause and cap, in seconds
        self._server_settings = server_settings  # the pool's session settings
        self.readiness = Readiness()
        self.readiness.details = self.describe_tasks
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.tasks: dict[str, TaskState] = {}
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
        # A database that is failing over as the service starts is waited for a while.
        startup = Backoff(first=0.5, cap=5.0)
        self.pool = await retry_transient(
            lambda: create_pool(
                s.database_url,
                self.schema,
                max_size=s.db_pool_max,
                server_settings=self._server_settings,
            ),
            what="connect",
            attempts=12,
            backoff=startup,
        )
        pool = self.pool
        await retry_transient(
            lambda: migrate(pool, self.schema, self._migrations),
            what="migrate",
            attempts=12,
            backoff=startup,
        )
        self.readiness.add("database", lambda: reachable(pool))
        await ensure_topics(s)
        self.producer = make_producer(s)
        await self.producer.start()
        self.readiness.add("broker", lambda: self.producer is not None)
        if self._want_relay:
            assert signer is not None
            relay = self.relay = OutboxRelay(
                self.pool,
                self.producer,
                name=self.schema,
                signer=signer,
                prepare_broker=lambda: ensure_topics(s),
            )
            state = self.supervise("relay", lambda _attempt: relay.run())
            self.readiness.add("outbox relay", lambda: not state.down and relay.ready())
        if self._group and self._handler:
            self.consumer = self._new_consumer()
            await self.consumer.start()
            state = self.supervise("consumer", self._consume)
            # Latched: a later rebalance is routine and must not flap the health check.
            self.readiness.add(
                "consumer",
                lambda: (
                    not state.down and self.consumer is not None and self.consumer.joined.is_set()
                ),
            )

    def _new_consumer(self) -> EventConsumer:
        assert self.pool is not None and self.producer is not None
        assert self._group is not None and self._handler is not None
        return EventConsumer(
            self.pool,
            self.producer,
            self.settings,
            self._group,
            self._handler,
            batch_handler=self._batch_handler,
            around_batch=self._around_batch,
        )

    async def _consume(self, attempt: int) -> None:
        if attempt:
            # The dead consumer's fetch positions may lie past the batch that failed: a
            # fresh member of the group starts from the offsets stored with the projection.
            if self.consumer is not None:
                await self.consumer.stop()
            self.consumer = self._new_consumer()
            await self.consumer.start()
        assert self.consumer is not None
        await self.consumer.run()

    def supervise(self, name: str, run: Callable[[int], Awaitable[None]]) -> TaskState:
        """Run ``run(attempt)`` (0, then 1, 2, ... after each death) as task ``name`` until
        the runtime stops; its state is in ``tasks`` and in the ``/healthz`` body."""
        state = self.tasks[name] = TaskState(name)
        task = asyncio.create_task(self._keep_running(state, run), name=name)
        self._tasks.append(task)
        return state

    async def _keep_running(self, state: TaskState, run: Callable[[int], Awaitable[None]]) -> None:
        backoff = Backoff(*self._restart_backoff)
        attempt = 0
        while True:
            began = time.monotonic()
            died: Exception | None = None
            try:
                await run(attempt)
            except Exception as exc:  # noqa: BLE001 - whatever killed it, it starts again
                died = exc
            # It runs until cancelled: a return is a death too.
            error = "returned" if died is None else f"{type(died).__name__}: {died}"
            if time.monotonic() - began >= STABLE_RUN_S:
                backoff.reset()
            delay = backoff.next()
            # A dead relay or consumer must not hide behind a healthy HTTP port.
            state.down = True
            state.last_error = "returned" if died is None else type(died).__name__
            log.error(
                "runtime.task_died",
                task=state.name,
                error=error[:500],
                restarts=state.restarts,
                restart_in_s=delay,
                exc_info=died,
            )
            await asyncio.sleep(delay)
            attempt += 1
            state.restarts, state.down = state.restarts + 1, False
            log.warning("runtime.task_restarted", task=state.name, restarts=state.restarts)

    def describe_tasks(self) -> dict[str, Any]:
        """Every supervised task's state, restarts and last error (no personal data)."""
        return {name: state.describe() for name, state in self.tasks.items()}

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
