"""Consume the event topic into a PostgreSQL projection, exactly once in effect.

Per partition batch, one database transaction applies the events and stores the next
offset; on (re)assignment the consumer seeks to the stored offsets, so Kafka's own
committed offsets are only informational.  Errors split two ways (as in arroyo):

* a record that cannot be decoded, that is not signed by the key of the source it claims
  (``shared.signed_records``), or that the handler rejects with ``PoisonEvent``, goes to
  the dead-letter topic with the error in headers, and consumption moves on;
* anything else (database down, ...) rolls the batch back and retries it after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.config import Settings
from shared.envelope_codec import DecodeError, from_link
from shared.events import Envelope
from shared.signed_records import verifier_from_settings

log = structlog.get_logger()


class PoisonEvent(Exception):
    """The handler refuses this event for good (it must not have written anything)."""


class _Unexpected(Exception):
    pass


Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
# Applies many events at once; must have exactly the effect of ``Handler`` on each in turn.
BatchHandler = Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "EventConsumer") -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._owner.assigned.clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._owner._seek_stored(assigned)
        self._owner.assigned.set()
        self._owner.joined.set()


class EventConsumer:
    """Runs ``handler`` for every event of ``settings.events_topic`` in group ``group_id``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        settings: Settings,
        group_id: str,
        handler: Handler,
        *,
        batch_handler: BatchHandler | None = None,
        max_records: int = 2000,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._settings = settings
        self._verifier = verifier_from_settings(settings)
        self._group = group_id
        self._handler = handler
        self._batch_handler = batch_handler
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        # ``assigned``: holds partitions right now (cleared during a rebalance);
        # ``joined``: has joined its group once, which is what readiness means.
        self.assigned = asyncio.Event()
        self.joined = asyncio.Event()
        self.applied = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        s = self._settings
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=self._group,
            enable_auto_commit=False,
            # Past the log end (an emptied broker) or no position: read from the start;
            # the handlers skip what they already applied.
            auto_offset_reset="earliest",
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            max_partition_fetch_bytes=4 << 20,
        )
        await self._consumer.start()
        self._consumer.subscribe([s.events_topic], listener=_Rebalance(self))

    async def stop(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def _seek_stored(self, partitions: list[TopicPartition]) -> None:
        assert self._consumer is not None
        rows = await self._pool.fetch(
            "SELECT partition, next_offset FROM consumer_offsets "
            "WHERE group_id = $1 AND topic = $2 AND epoch = $3",
            self._group, self._settings.events_topic, self._settings.damrong_broker_epoch,
        )
        stored = {r["partition"]: r["next_offset"] for r in rows}
        for tp in partitions:
            if tp.partition in stored:
                self._consumer.seek(tp, stored[tp.partition])
            else:
                await self._consumer.seek_to_beginning(tp)

    async def run(self) -> None:
        """Consume until cancelled."""
        if self._consumer is None:
            await self.start()
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            for tp, records in batches.items():
                await self._process_with_retry(tp, records)

    async def _process_with_retry(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        # Decode once: retries and the careful path reuse the result.
        decoded: list[tuple[ConsumerRecord, Envelope]] = []
        undecodable: list[tuple[ConsumerRecord, str]] = []
        for rec in records:
            try:
                link = self._verifier.check(rec.headers, rec.value)  # before any trust
                decoded.append((rec, from_link(link)))
            except DecodeError as exc:
                undecodable.append((rec, str(exc)))
        delay = 0.2
        while True:
            try:
                await self._process(tp, records, decoded, undecodable)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("consumer.batch_retry", group=self._group, partition=tp.partition,
                            error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _process(self, tp: TopicPartition, records: list[ConsumerRecord],
                       decoded: list[tuple[ConsumerRecord, Envelope]],
                       undecodable: list[tuple[ConsumerRecord, str]]) -> None:
        try:
            await self._process_once(tp, records, decoded, undecodable, careful=False)
        except _Unexpected:
            # Some event broke the handler in a way it did not foresee.  Redo the batch
            # with a savepoint per event so only the culprits go to the dead-letter topic.
            await self._process_once(tp, records, decoded, undecodable, careful=True)

    async def _process_once(
        self, tp: TopicPartition, records: list[ConsumerRecord],
        decoded: list[tuple[ConsumerRecord, Envelope]],
        undecodable: list[tuple[ConsumerRecord, str]], *, careful: bool,
    ) -> None:
        poison = list(undecodable)
        async with self._pool.acquire() as conn, conn.transaction():
            if self._batch_handler is not None and not careful:
                # Fast path: the whole batch in a few statements.  Any refusal sends the
                # batch down the careful per-event path, which isolates the culprits.
                try:
                    await self._batch_handler(conn, [env for _rec, env in decoded])
                except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                    raise
                except Exception as exc:
                    raise _Unexpected() from exc
                decoded = []
            for rec, env in decoded:
                try:
                    if careful:
                        async with conn.transaction():
                            await self._handler(conn, env)
                    else:
                        await self._handler(conn, env)
                except PoisonEvent as exc:
                    poison.append((rec, str(exc)))
                except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                    raise
                except Exception as exc:
                    if not careful:
                        raise _Unexpected() from exc
                    log.exception("consumer.handler_failed", group=self._group)
                    poison.append((rec, f"{type(exc).__name__}: {exc}"))
            # Dead letters go out before the offset commits: a crash in between resends
            # them (at-least-once), never drops them.
            for rec, error in poison:
                await self._dead_letter(rec, error)
            await conn.execute(
                "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, next_offset) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, topic, partition) "
                "DO UPDATE SET epoch = EXCLUDED.epoch, next_offset = EXCLUDED.next_offset",
                self._group, tp.topic, tp.partition, self._settings.damrong_broker_epoch,
                records[-1].offset + 1,
            )
        self.applied += len(records) - len(poison)
        self.dead_lettered += len(poison)

    async def _dead_letter(self, rec: ConsumerRecord, error: str) -> None:
        headers = list(rec.headers or []) + [
            ("dlq_error", error[:1000].encode()),
            ("dlq_group", self._group.encode()),
            ("dlq_origin", f"{rec.topic}/{rec.partition}/{rec.offset}".encode()),
        ]
        await self._producer.send_and_wait(
            self._settings.dlq_topic, rec.value, key=rec.key, headers=headers
        )
        log.warning("consumer.dead_lettered", group=self._group, partition=rec.partition,
                    offset=rec.offset, error=error[:200])
