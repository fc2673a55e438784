"""Consume the event topic into a PostgreSQL projection, exactly once in effect.

Per partition batch, one database transaction applies the events (``shared.batches``:
the batch handler, else event by event) and stores the next offset; on (re)assignment the
consumer seeks to the stored offsets, so Kafka's own committed offsets are only
informational.  Failures split three ways (as in arroyo):

* a record that can never apply goes to the dead-letter topic with the reason in headers,
  and consumption moves on: undecodable or schema-invalid, not signed by the key of the
  source it claims or altered (``shared.signed_records``), or refused by the handler as
  ``PoisonEvent`` (impossible in the domain);
* a transient fault (``shared.faults.is_transient``: connection lost or terminated,
  deadlock, serialization failure, lock or statement timeout, server out of resources,
  broker timeout) rolls the batch back, discards the connection (it may be mid-operation:
  it is terminated, never handed back for reuse) and retries the batch after a growing
  pause, storing nothing meanwhile; so does a batch still not done after a deadline (a
  connection that hangs rather than fails: the deadline doubles on each retry, so a batch
  that is merely slow gets through);
* anything else is a bug: the transaction rolls back and ``run`` raises it, leaving the
  stored offsets where they were, so the service reports unhealthy and the valid event is
  applied once the code is fixed, never lost to the dead-letter topic.

Offsets are stored under the id of the broker they are offsets in (its cluster id,
``shared.kafka.cluster_id``).  The consumer asks the id when it is assigned partitions and
every ``BROKER_CHECK_S`` while it runs: under another id (the memory-only embedded broker
killed and started again, empty, then re-fed by the relays) every partition is read again
from the beginning, which the handlers skip as applied, instead of from offsets that
belong to a log that is gone.

Handlers get decoded events.  A subscriber that also needs the records they were read from
(notify keeps an event's signed record, to dead-letter it later) passes ``around_batch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from shared import batches
from shared.batches import PoisonEvent, RefuseBatch
from shared.config import Settings
from shared.db import retry_transient
from shared.dbtypes import Conn
from shared.envelope_codec import DecodeError, from_link
from shared.events import Envelope
from shared.faults import Backoff, is_transient
from shared.kafka import cluster_id
from shared.signed_records import Forged, verifier_from_settings

log = structlog.get_logger()

# A batch of a few thousand events applies in well under a second; one still running after
# this long waits on something that may never answer (a half-open connection, a lock held
# by a session that is gone).  It is abandoned as a transient fault: its connection is
# terminated, which rolls it back, and it is tried again with twice the time.
BATCH_DEADLINE_S = 30.0
BATCH_DEADLINE_CAP_S = 480.0
# Positioning during a rebalance blocks the whole group's join: never wait long for it
# there; ``run`` positions what was left with retries, each attempt bounded the same way.
SEEK_DEADLINE_S = 10.0
# How often a running consumer asks which broker it reads: a broker started again empty
# is noticed within this, and the records read from it meanwhile are read again.
BROKER_CHECK_S = 1.0
# Offsets stored before brokers were told apart: taken to be the current broker's, so an
# upgrade does not read a decade again (the relay does the same with its fed broker).
UNTOLD_BROKER = ""

__all__ = [
    "AroundBatch",
    "BatchHandler",
    "EventConsumer",
    "Handler",
    "PoisonEvent",
    "Received",
    "RefuseBatch",
]

Handler = batches.Handler[Envelope]
# Applies many events at once; must have exactly the effect of ``Handler`` on each in turn.
BatchHandler = batches.BatchHandler[Envelope]
# A record as read from the topic, with the event it carries (signature checked, decoded).
Received = tuple[ConsumerRecord, Envelope]
# ``around_batch(conn, received)``: a context entered around the handlers of each batch,
# inside the batch's transaction on ``conn``, with the batch's decodable records in order
# (the undecodable ones go to the dead-letter topic unseen); it is entered afresh each
# time the batch is tried again.  What it raises is a transient fault or a bug, as for the
# handlers (``PoisonEvent`` too: it refuses no single event).
AroundBatch = Callable[[Conn, Sequence[Received]], contextlib.AbstractAsyncContextManager[object]]
# Why a record went to the dead-letter topic, in words an alert can count by (the full
# reason travels in the record's ``dlq_error`` header).
FORGED = "forged"  # not signed by its source's key, altered, or out of its chain
UNDECODABLE = "undecodable"  # not a CloudEvents record of a known event type and version
REFUSED = "refused"  # refused by the handler as impossible in the domain
# A record that can never apply, the reason in full and in words.
Poison = tuple[ConsumerRecord, str, str]


@dataclass
class PartitionFigures:
    """What the consumer did with one partition since it started (for ``/metrics``)."""

    applied: int = 0
    dead_lettered: int = 0
    next_offset: int | None = None  # stored with the last batch applied


class BatchTimeout(TimeoutError):
    """A batch ran past its deadline and was abandoned (transient: ``TimeoutError``)."""


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # A rebalance is worth an operator's line: a consumer frozen past its session
        # timeout, or one replica more or less, shows here first.
        log.info("consumer.partitions_revoked", partitions=sorted(tp.partition for tp in revoked))
        self._owner.assigned.clear()
        self._owner._unpositioned.clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # aiokafka logs and swallows a listener's exception, and would then read from
        # the beginning: a partition not positioned here is positioned by ``run``.
        log.info("consumer.partitions_assigned", partitions=sorted(tp.partition for tp in assigned))
        self._owner._unpositioned.update(assigned)
        try:
            async with asyncio.timeout(SEEK_DEADLINE_S):
                await self._owner._seek_stored(list(assigned))
        except Exception as exc:  # noqa: BLE001 - ``run`` retries it, or stops on it
            log.warning("consumer.seek_deferred", error=repr(exc))
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
        batch_deadline_s: float = BATCH_DEADLINE_S,
        around_batch: AroundBatch | None = None,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._settings = settings
        self._verifier = verifier_from_settings(settings)
        self._group = group_id
        self._handler = handler
        self._batch_handler = batch_handler
        self._max_records = max_records
        self._batch_deadline_s = batch_deadline_s
        self._around_batch = around_batch
        self._consumer: AIOKafkaConsumer | None = None
        # The broker (cluster id) the stored offsets are read from and written under;
        # known once the first partitions are positioned.
        self.broker: str | None = None
        self._broker_checked = 0.0
        # Assigned partitions not yet moved to their stored offsets (the database did
        # not answer during the rebalance): none of their records is applied until then.
        self._unpositioned: set[TopicPartition] = set()
        # ``assigned``: holds partitions right now (cleared during a rebalance);
        # ``joined``: has joined its group once, which is what readiness means.
        self.assigned = asyncio.Event()
        self.joined = asyncio.Event()
        self.applied = 0
        self.dead_lettered = 0
        self.retries = 0  # transient faults retried, since start
        self.last_fault: str | None = None  # the latest of them, for logs and probes
        self.partitions: dict[int, PartitionFigures] = {}
        self.dead_by_reason: Counter[str] = Counter()

    def lag(self) -> dict[int, tuple[int | None, int | None]]:
        """Per assigned partition: the next offset stored and the high-water mark last
        fetched (either unknown until the first batch), whose difference is the lag."""
        if self._consumer is None:
            return {}
        out: dict[int, tuple[int | None, int | None]] = {}
        for tp in self._consumer.assignment():
            figures = self.partitions.get(tp.partition)
            out[tp.partition] = (
                None if figures is None else figures.next_offset,
                self._consumer.highwater(tp),
            )
        return out

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
        """Move ``partitions`` to their stored offsets in the broker now answering (the
        beginning if none is stored for it)."""
        assert self._consumer is not None
        broker = await cluster_id(self._producer.client)
        async with batches.pooled(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT partition, next_offset FROM consumer_offsets "
                "WHERE group_id = $1 AND topic = $2 AND epoch IN ($3, $4)",
                self._group,
                self._settings.events_topic,
                broker,
                UNTOLD_BROKER,
            )
        self._note_broker(broker)
        stored = {r["partition"]: r["next_offset"] for r in rows}
        mine = self._consumer.assignment()
        for tp in partitions:
            if tp not in mine:
                continue
            figures = self.partitions.setdefault(tp.partition, PartitionFigures())
            if tp.partition in stored:
                self._consumer.seek(tp, stored[tp.partition])
                figures.next_offset = stored[tp.partition]
            else:
                await self._consumer.seek_to_beginning(tp)
                figures.next_offset = None
            self._unpositioned.discard(tp)

    def _note_broker(self, broker: str) -> None:
        if broker != self.broker:
            log.info("consumer.broker", group=self._group, broker=broker, was=self.broker)
        self.broker = broker
        self._broker_checked = time.monotonic()

    async def _check_broker(self) -> None:
        """Every ``BROKER_CHECK_S``: under another broker, position every partition again
        (from the beginning: it has none of this group's offsets)."""
        if self._consumer is None or self.broker is None:
            return  # not positioned yet: positioning asks
        if time.monotonic() - self._broker_checked < BROKER_CHECK_S:
            return
        self._broker_checked = time.monotonic()
        try:
            broker = await cluster_id(self._producer.client)
        except (KafkaError, TimeoutError) as exc:
            log.debug("consumer.broker_unknown", group=self._group, error=repr(exc))
            return  # away: the fetches fail as well; ask again next time
        if broker != self.broker:
            log.warning(
                "consumer.broker_changed", group=self._group, broker=broker, was=self.broker
            )
            self._unpositioned.update(self._consumer.assignment())

    async def _seek_unpositioned(self) -> None:
        # Bounded like a batch: a connection that hangs here would stall every partition.
        async with asyncio.timeout(SEEK_DEADLINE_S):
            await self._seek_stored(list(self._unpositioned))

    async def _position(self) -> None:
        """Seek the unpositioned partitions, retrying transient faults; raise the rest."""
        try:
            await retry_transient(
                self._seek_unpositioned,
                what="consumer seek",
                attempts=None,
                backoff=Backoff(),
                retried=self._retrying,
                group=self._group,
            )
        except Exception:
            log.exception("consumer.stopped", group=self._group)
            raise

    async def run(self) -> None:
        """Consume until cancelled; raise what is neither poison nor transient."""
        if self._consumer is None:
            await self.start()
        assert self._consumer is not None
        while True:
            await self._check_broker()
            if self._unpositioned:
                await self._position()
            batches_ = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            for tp, records in batches_.items():
                # Fetched from a position that is not ours: read again once positioned.
                if tp not in self._unpositioned:
                    await self._process_with_retry(tp, records)

    async def _process_with_retry(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._consumer is not None
        # Decode once: retries reuse the result.
        decoded: list[Received] = []
        undecodable: list[Poison] = []
        for rec in records:
            try:
                link = self._verifier.check(rec.headers, rec.value)  # before any trust
                decoded.append((rec, from_link(link)))
            except DecodeError as exc:
                undecodable.append(
                    (rec, str(exc), FORGED if isinstance(exc, Forged) else UNDECODABLE)
                )
        backoff = Backoff(first=0.2)
        deadline = self._batch_deadline_s
        while True:
            try:
                try:
                    async with asyncio.timeout(deadline):
                        await self._process(tp, records, decoded, undecodable)
                    return
                except TimeoutError as exc:
                    late = BatchTimeout(f"batch not done within {deadline:g} s")
                    deadline = min(deadline * 2, BATCH_DEADLINE_CAP_S)
                    raise late from exc
            except Exception as exc:
                first, last = records[0].offset, records[-1].offset
                if not is_transient(exc):
                    log.exception(
                        "consumer.stopped",
                        group=self._group,
                        partition=tp.partition,
                        offsets=f"{first}-{last}",
                    )
                    raise
                self._retrying(exc)
                log.warning(
                    "consumer.batch_retry",
                    group=self._group,
                    partition=tp.partition,
                    offsets=f"{first}-{last}",
                    error=repr(exc),
                )
            await asyncio.sleep(backoff.next())
            if tp not in self._consumer.assignment():
                # Moved to another member while we waited: it starts from the stored
                # offset, which this batch never passed.
                return

    def _retrying(self, exc: Exception) -> None:
        self.retries += 1
        self.last_fault = f"{type(exc).__name__}: {exc}"

    async def _process(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        decoded: list[Received],
        undecodable: list[Poison],
    ) -> None:
        async with batches.pooled(self._pool) as conn, batches.atomic(conn):
            around = self._around_batch
            async with around(conn, decoded) if around else contextlib.nullcontext():
                refused = await batches.apply_events(
                    conn, [env for _rec, env in decoded], self._handler, self._batch_handler
                )
            poison = undecodable + [(decoded[r.index][0], str(r.error), REFUSED) for r in refused]
            # Dead letters go out before the offset commits: a crash in between resends
            # them (at-least-once), never drops them.
            for rec, error, _reason in poison:
                await self._dead_letter(rec, error)
            await conn.execute(
                "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, "
                "next_offset) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (group_id, topic, partition) "
                "DO UPDATE SET epoch = EXCLUDED.epoch, next_offset = EXCLUDED.next_offset",
                self._group,
                tp.topic,
                tp.partition,
                self.broker,
                records[-1].offset + 1,
            )
        self.applied += len(records) - len(poison)
        self.dead_lettered += len(poison)
        figures = self.partitions.setdefault(tp.partition, PartitionFigures())
        figures.applied += len(records) - len(poison)
        figures.dead_lettered += len(poison)
        figures.next_offset = records[-1].offset + 1
        self.dead_by_reason.update(reason for _rec, _error, reason in poison)

    async def _dead_letter(self, rec: ConsumerRecord, error: str) -> None:
        headers = [
            *(rec.headers or []),
            ("dlq_error", error[:1000].encode()),
            ("dlq_group", self._group.encode()),
            ("dlq_origin", f"{rec.topic}/{rec.partition}/{rec.offset}".encode()),
        ]
        await self._producer.send_and_wait(
            self._settings.dlq_topic, rec.value, key=rec.key, headers=headers
        )
        log.warning(
            "consumer.dead_lettered",
            group=self._group,
            partition=rec.partition,
            offset=rec.offset,
            error=error[:200],
        )
