"""Kafka clients built from settings, and explicit topic creation.

Topics are created at start-up with their partition count before anything produces:
an auto-created topic gets the broker's default partition count and keys would move.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.config import Settings

log = structlog.get_logger()


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=5,
        max_batch_size=1 << 20,
        request_timeout_ms=30000,
    )


async def ensure_topics(settings: Settings, *, attempts: int = 60) -> None:
    """Create the events and dead-letter topics if missing (retrying until the broker is up)."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(name, settings.topic_partitions, settings.topic_replication)
                for name in (settings.events_topic, settings.dlq_topic)
                if name not in existing
            ]
            if wanted:
                try:
                    await admin.create_topics(wanted)
                    log.info("kafka.topics_created", topics=[t.name for t in wanted])
                except TopicAlreadyExistsError:
                    pass  # another service created it first
            return
        except KafkaError as exc:
            if attempt == attempts - 1:
                raise
            log.warning("kafka.not_ready", error=str(exc))
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
