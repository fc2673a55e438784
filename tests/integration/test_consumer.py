"""The shared consumer on the real broker and database: batches, fallback, dead letters,
and records not signed by their source's key refused before any handler sees them.
Faults that pass (and bugs) are in test_consumer_faults."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from shared.chain import GENESIS, seal
from shared.config import Settings
from shared.consumer import EventConsumer, PoisonEvent
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.envelope_codec import to_record
from shared.events import Envelope
from shared.kafka import ensure_topics, make_producer
from shared.signed_records import RecordSigner
from shared.signing import new_private_key
from tests.events import accepted as _event
from tests.signing import signed_record
from tests.waiting import eventually


def _forged() -> list[tuple[tuple[bytes, list[tuple[str, bytes]], bytes], str]]:
    """Records that would apply if they were trusted, each with the reason it is not."""
    unsigned = to_record(_event("ok-unsigned"))
    k, h, v = to_record(_event("ok-stranger"))
    stranger = (k, RecordSigner("/test", new_private_key()).sign(h, v), v)
    k, h, v = signed_record(seal(_event("ok-sealed"), GENESIS))
    altered = (k, h, v.replace(b"ok-sealed", b"ok-altered"))
    k, h, v = to_record(_event("ok-nobody", source="/nobody"))
    nobody = (k, RecordSigner("/nobody", new_private_key()).sign(h, v), v)
    return [
        (unsigned, "bad signature: unsigned"),
        (stranger, "bad signature: not signed by /test's key over this content"),
        (altered, "content does not match its hash"),
        (nobody, "bad signature: no public key for source '/nobody'"),
    ]


async def test_batch_refusal_falls_back_per_event_and_dead_letters_only_culprits(
    make_settings: Callable[..., Settings],
    tmp_path_factory: object,
) -> None:
    settings = make_settings(topic_partitions=1)
    pool = await create_pool(settings.database_url, "ctest")
    migrations = tmp_path_factory.mktemp("mig")  # type: ignore[attr-defined]
    (migrations / "001.sql").write_text("CREATE TABLE seen (note text PRIMARY KEY);")
    await migrate(pool, "ctest", migrations)
    await ensure_topics(settings)
    batches: list[int] = []

    async def handle(conn: Conn, env: Envelope) -> None:
        note = env.data.note or ""  # type: ignore[union-attr]
        if note.startswith("bad"):
            raise PoisonEvent("refused")
        await conn.execute("INSERT INTO seen VALUES ($1) ON CONFLICT DO NOTHING", note)

    async def handle_batch(conn: Conn, envs: list[Envelope]) -> None:
        batches.append(len(envs))
        for env in envs:
            await handle(conn, env)

    producer = make_producer(settings)
    await producer.start()
    consumer = EventConsumer(
        pool, producer, settings, f"g-{uuid.uuid4().hex[:6]}", handle, batch_handler=handle_batch
    )
    task = asyncio.create_task(consumer.run())
    try:
        notes = ["ok-1", "bad-2", "ok-3", "ok-4", "ok-5"]
        forged = _forged()
        records = [signed_record(_event(note)) for note in notes] + [r for r, _ in forged]
        for key, headers, value in records:
            await producer.send_and_wait(settings.events_topic, value, key=key, headers=headers)
        await producer.send_and_wait(settings.events_topic, b"not an event", key=b"x")

        await eventually(lambda: _noop(consumer.dead_lettered), lambda n: n == 2 + len(forged))
        assert await pool.fetchval("SELECT count(*) FROM seen") == 4
        assert sorted(await pool.fetchval("SELECT array_agg(note) FROM seen")) == [
            "ok-1",
            "ok-3",
            "ok-4",
            "ok-5",
        ]
        assert batches, "the batch path was tried first"
        stored = await pool.fetchval("SELECT next_offset FROM consumer_offsets")
        assert stored == len(records) + 1
        errors = await _dead_letters(settings, 2 + len(forged))
        assert len(errors) == 2 + len(forged)
        for _record, reason in forged:
            assert reason in errors
        assert errors.count("refused") == 1  # bad-2, alone
        assert "not a CloudEvents 1.0 record (specversion None)" in errors  # b"not an event"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await pool.close()


async def _noop(value: int) -> int:
    return value


async def _dead_letters(settings: Settings, n: int) -> list[str]:
    c = AIOKafkaConsumer(
        settings.dlq_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await c.start()
    try:
        out: list[str] = []
        while len(out) < n:
            for records in (await c.getmany(timeout_ms=1000)).values():
                out += [dict(r.headers)["dlq_error"].decode() for r in records]
        return out
    finally:
        await c.stop()
