"""The outbox relay signs what it publishes with its own source's key, a batch at a time:
a consumer's verifier accepts each record alone, a re-feed publishes the same bytes even
when the rows fall into another batch, and a row of another source is held (with
everything after it) instead of going out under the wrong key."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord
from asyncpg import Pool

from shared.config import Settings
from shared.db import create_pool, migrate
from shared.events import CaseAccepted, Envelope
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay, append
from shared.signed_records import BatchSignature, signature_of, verifier_from_settings
from shared.signing import SIGNATURE_HEADER
from tests.signing import signer
from tests.waiting import eventually

NOW = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)


def _event(note: str, source: str = "/test") -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source=source,
        occurred_at=NOW,
        recorded_at=NOW,
        data=CaseAccepted(actor="t", note=note),
    )


def _bytes(records: list[ConsumerRecord]) -> list[tuple[Any, ...]]:
    """What a re-feed must publish again exactly: each record's key, headers and value."""
    return [(r.key, r.headers, r.value) for r in records]


@dataclass
class _Rig:
    """A schema with an outbox, a producer, a relay run on demand, and a reader of the
    topic that keeps every record it has read."""

    settings: Settings
    pool: Pool
    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer
    name: str
    records: list[ConsumerRecord] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def read(self) -> list[ConsumerRecord]:
        for batch in (await self.consumer.getmany(timeout_ms=300)).values():
            self.records.extend(batch)
        return self.records

    async def append(self, *events: Envelope) -> None:
        async with self.pool.acquire() as conn:
            await append(conn, self.settings.events_topic, events)

    async def relay(
        self,
        broker: str | Callable[[], str] | None = None,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> OutboxRelay:
        """A new relay (the running one stopped first), publishing; ``broker`` names the
        broker it feeds, or says it when asked (by default the real one's cluster id)."""
        await self.stop_relay()

        async def named() -> str:
            assert broker is not None
            return broker if isinstance(broker, str) else broker()

        relay = OutboxRelay(
            self.pool,
            self.producer,
            name=self.name,
            signer=signer("/test"),
            prepare_broker=prepare,
            broker_id=None if broker is None else named,
            idle_poll_s=0.05,
        )
        self.task = asyncio.create_task(relay.run())
        return relay

    async def stop_relay(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None


@contextlib.asynccontextmanager
async def _rig(settings: Settings, name: str, migrations: Path) -> AsyncIterator[_Rig]:
    pool = await create_pool(settings.database_url, name)
    await migrate(pool, name, migrations)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    consumer = AIOKafkaConsumer(
        settings.events_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    rig = _Rig(settings, pool, producer, consumer, name)
    try:
        yield rig
    finally:
        await rig.stop_relay()
        await consumer.stop()
        await producer.stop()
        await pool.close()


async def test_relay_signs_refeeds_identically_and_holds_foreign_rows(
    make_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = make_settings(topic_partitions=1)
    async with _rig(settings, "signing", tmp_path_factory.mktemp("mig")) as rig:
        records, pool = rig.records, rig.pool
        await rig.relay(broker="one")
        await rig.append(_event("first"), _event("second"))
        await eventually(rig.read, lambda got: len(got) == 2, timeout=20)
        for rec in records:
            # Each record alone, by a reader that has seen no other.
            assert verifier_from_settings(settings).check(rec.headers, rec.value).source == "/test"
            assert [k for k, _v in rec.headers].count(SIGNATURE_HEADER) == 1
        first = [signature_of(r.headers) or b"" for r in records]
        assert all(s.startswith(b"v2:") for s in first)
        assert {BatchSignature.parse(s).size for s in first} == {2}  # one batch, one signature
        stored = await pool.fetch("SELECT signature FROM outbox ORDER BY id")
        assert [r["signature"] for r in stored] == first

        # A memory-only broker came back empty: a new broker gets everything again,
        # byte for byte (a stored signature header is replaced, never doubled), though the
        # two rows now go out in one batch with a third, which gets a signature of its own.
        await rig.stop_relay()
        await rig.append(_event("third"))
        relay = await rig.relay(broker="two")
        await eventually(rig.read, lambda got: len(got) == 5, timeout=20)
        assert _bytes(records[2:4]) == _bytes(records[:2])
        third = BatchSignature.parse(signature_of(records[4].headers) or b"")
        assert third.size == 1
        assert verifier_from_settings(settings).check(records[4].headers, records[4].value)

        # Another source's row is not this relay's to sign: it and what follows wait.
        await rig.append(_event("theirs", "/damrong/intake"))
        await rig.append(_event("after"))
        theirs = await pool.fetchval("SELECT min(id) FROM outbox WHERE published_at IS NULL")
        await eventually(lambda: asyncio.sleep(0, relay.held), lambda held: held == theirs)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 2
        assert len(await rig.read()) == 5
        assert relay.published == 3


async def test_a_batch_s_leaves_are_grouped_by_partition(
    make_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A partition's reader meets its share of a batch as neighbouring leaves.
    settings = make_settings(topic_partitions=4)
    async with _rig(settings, "leaves", tmp_path_factory.mktemp("mig")) as rig:
        await rig.append(*(_event(f"e{i}") for i in range(40)))  # before the relay: one batch
        await rig.relay()
        await eventually(rig.read, lambda got: len(got) == 40, timeout=20)
        places: dict[int, list[int]] = {}
        for rec in rig.records:
            batch = BatchSignature.parse(signature_of(rec.headers) or b"")
            assert batch.size == 40
            places.setdefault(rec.partition, []).append(batch.index)
            # Where the producer's own partitioner puts the record's key (the relay
            # names the partition itself): a case's events stay in one partition.
            assert rec.partition == DefaultPartitioner()(rec.key, [0, 1, 2, 3], [0, 1, 2, 3])
        assert len(places) > 1
        for indexes in places.values():  # in offset order: consecutive leaves, ascending
            assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))


async def test_a_broker_started_again_under_a_running_relay_is_re_fed(
    make_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The relay keeps running while its broker is replaced by another (as when the
    # embedded broker is killed and started again, empty): it notices by itself, makes
    # the new broker's topics, then publishes every stored row again, byte for byte.
    settings = make_settings(topic_partitions=1)
    async with _rig(settings, "newbroker", tmp_path_factory.mktemp("mig")) as rig:
        answering = ["first"]
        prepared: list[str] = []

        async def prepare() -> None:
            prepared.append(answering[0])

        relay = await rig.relay(broker=lambda: answering[0], prepare=prepare)
        await rig.append(_event("one"), _event("two"))
        await eventually(rig.read, lambda got: len(got) == 2, timeout=20)
        assert relay.broker == "first" and prepared == []  # a new database: nothing to re-feed
        answering[0] = "second"
        await eventually(rig.read, lambda got: len(got) == 4, timeout=20)
        assert _bytes(rig.records[2:]) == _bytes(rig.records[:2])
        assert prepared == ["second"] and relay.broker == "second"
        assert await rig.pool.fetchval("SELECT epoch FROM relay_state") == "second"
        await rig.append(_event("three"))  # and goes on with the new rows
        await eventually(rig.read, lambda got: len(got) == 5, timeout=20)
