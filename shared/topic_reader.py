"""Read the events topic once, from its beginning to where it ended when reading began.

For audits and replays: a consumer of its own (no group, partitions assigned by hand, so
no live consumer group rebalances).  The end is each partition's high-water mark from the
first fetch responses: the embedded broker's ``end_offsets`` can lag after a batched
produce (ARCHITECTURE.md §8), a fetch response's mark does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.config import Settings


class TopicMissing(Exception):
    """The topic does not exist on the broker."""


async def read_topic(settings: Settings, *, batch: int = 10_000) -> AsyncIterator[ConsumerRecord]:
    """Every record of ``settings.events_topic`` up to the marks seen at the start, in
    partition order (each case's events in order, as they are keyed by case)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=16 << 20,
        fetch_max_bytes=64 << 20,
    )
    try:
        await consumer.start()  # inside: a consumer that failed to start is stopped too
        topic = settings.events_topic
        parts = consumer.partitions_for_topic(topic)
        if not parts:  # metadata not fetched yet for this topic
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise TopicMissing(
                f"topic {topic!r} does not exist on {settings.kafka_bootstrap_servers}"
            )
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        marks: dict[TopicPartition, int] = {}
        while True:
            got = await consumer.getmany(timeout_ms=200, max_records=batch)
            for tp in tps:
                if tp not in marks and (mark := consumer.highwater(tp)) is not None:
                    marks[tp] = mark
            for tp, records in got.items():
                for rec in records:
                    if rec.offset < marks.get(tp, rec.offset + 1):
                        yield rec
            if len(marks) == len(tps) and await _reached(consumer, marks):
                return
    finally:
        await consumer.stop()


async def _reached(consumer: AIOKafkaConsumer, marks: dict[TopicPartition, int]) -> bool:
    for tp, mark in marks.items():
        if await consumer.position(tp) < mark:
            return False
    return True
