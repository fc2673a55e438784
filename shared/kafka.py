"""Kafka clients built from settings, explicit topic creation, and the broker's identity.

Topics are created at start-up with their partition count before anything produces:
an auto-created topic gets the broker's default partition count and keys would move.

The cluster id tells brokers apart.  Apache Kafka keeps its id with its logs, so it
changes only with a new cluster; the embedded broker keeps everything in memory and is
started with a new id every time, so a new id there means an empty broker.  The relay
re-feeds a broker whose id it has not fed, and a consumer re-reads from the beginning one
whose id its stored offsets do not belong to (ARCHITECTURE.md §8).
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, NodeNotReadyError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

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


# Asked often (a consumer asks every second): an answer slower than this is a broker away.
CLUSTER_ID_TIMEOUT_S = 5.0


async def cluster_id(client: AIOKafkaClient) -> str:
    """The id of the cluster ``client`` is connected to; a ``KafkaError`` (or
    ``TimeoutError``) when no broker answers.

    A metadata request naming no topic, and allowing no topic to be created: asking must
    never create a topic with the broker's default partition count.
    """
    node = client.get_random_node()
    if node is None:
        raise NodeNotReadyError("no broker known to ask for the cluster id")
    async with asyncio.timeout(CLUSTER_ID_TIMEOUT_S):
        response = await client.send(node, MetadataRequest([], False))
    found = getattr(response, "cluster_id", None)
    if not found:  # a broker too old for metadata v2 has no id to tell it apart by
        raise KafkaError(f"the broker gave no cluster id ({type(response).__name__})")
    return str(found)


async def ensure_topics(settings: Settings, *, attempts: int = 60) -> None:
    """Create the events and dead-letter topics if missing (retrying until the broker is up).

    A topic that exists with another partition count was created by the broker itself,
    named by a client before this ran (the embedded broker makes 4): it still works,
    since a case's events all go to one partition whatever the count, but it is said.
    """
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            await _say_if_partitions_differ(admin, settings, existing)
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


async def _say_if_partitions_differ(
    admin: AIOKafkaAdminClient, settings: Settings, existing: set[str]
) -> None:
    mine = [name for name in (settings.events_topic, settings.dlq_topic) if name in existing]
    if not mine:
        return
    for described in await admin.describe_topics(mine):
        count = len(described.get("partitions") or ())
        if count and count != settings.topic_partitions:
            log.warning(
                "kafka.topic_partitions_differ",
                topic=described.get("topic"),
                partitions=count,
                configured=settings.topic_partitions,
            )
