"""Transactional outbox: append events with the state change, relay them to Kafka.

``append`` runs inside the caller's transaction.  The relay publishes unpublished rows
in id order and marks them only after the broker acknowledged them, so a crash between
commit and publish delays an event but never loses it (at-least-once; consumers dedupe
by ``(complaint_id, version)``).  One relay per schema runs at a time (advisory lock),
which keeps per-case order even with several service instances.

Each record is signed as it is published (``shared.signed_records``), by the key of the
service's own source: a row of another source is a bug, not data, so the relay holds it
(and everything after it, to keep the order) and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.envelope_codec import encode
from shared.events import Envelope
from shared.signed_records import NotOurs, RecordSigner

log = structlog.get_logger()

NOTIFY_CHANNEL = "damrong_outbox"


async def append(conn: asyncpg.Connection, topic: str, envelopes: Iterable[Envelope]) -> None:
    """Write outbox rows for ``envelopes`` in the caller's transaction and wake the relay."""
    rows = []
    for env in envelopes:
        rec = encode(env)
        rows.append((topic, rec.key, rec.headers, rec.value))
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO outbox (topic, key, headers, value) VALUES ($1, $2, $3, $4)", rows
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")


class OutboxRelay:
    """Publishes a schema's outbox to Kafka; run ``run()`` as a task, cancel to stop."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        name: str,
        signer: RecordSigner,
        epoch: str = "",
        batch_size: int = 1000,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        # Services may share one database: the lock is per schema, not global.
        self._lock_key = f"outbox-relay:{name}"
        self._signer = signer
        self.held: int | None = None  # the id of a row not ours to sign, once reported
        self._epoch = epoch
        self._batch = batch_size
        self._idle = idle_poll_s
        self._wake = asyncio.Event()
        self.published = 0
        self.caught_up = asyncio.Event()
        # Another instance of the service holds the lock and publishes; this one waits to
        # take over.  A standby is healthy: its HTTP writes reach the outbox all the same.
        self.standing_by = False

    async def run(self) -> None:
        async with self._pool.acquire() as lock_conn:
            # Only one relay per schema: ordering per case depends on a single publisher.
            while not await lock_conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", self._lock_key
            ):
                self.standing_by = True
                await asyncio.sleep(self._idle)
            self.standing_by = False
            await lock_conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            try:
                await self._refeed_if_new_epoch(lock_conn)
                while True:
                    # Clear before reading: a NOTIFY during the batch must wake the next wait.
                    self._wake.clear()
                    try:
                        sent = await self._publish_batch()
                    except KafkaError as exc:
                        # Broker away: keep the rows, try again; nothing is marked unacked.
                        log.warning("outbox.publish_failed", error=str(exc))
                        await asyncio.sleep(self._idle)
                        continue
                    if sent:
                        continue
                    self.caught_up.set()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle)
            finally:
                with contextlib.suppress(Exception):
                    await lock_conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
                    await lock_conn.execute(
                        "SELECT pg_advisory_unlock(hashtext($1))", self._lock_key
                    )

    def ready(self) -> bool:
        """Publishing with the backlog drained once, or standing by for the instance that is."""
        return self.caught_up.is_set() or self.standing_by

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _refeed_if_new_epoch(self, conn: asyncpg.Connection) -> None:
        """A memory-only broker came back empty: publish every stored event again."""
        if not self._epoch:
            return
        stored = await conn.fetchval("SELECT epoch FROM relay_state WHERE topic = '*'")
        if stored == self._epoch:
            return
        async with conn.transaction():
            n = await conn.fetchval(
                "WITH r AS (UPDATE outbox SET published_at = NULL "
                "WHERE published_at IS NOT NULL RETURNING 1) SELECT count(*) FROM r"
            )
            await conn.execute(
                "INSERT INTO relay_state (topic, epoch) VALUES ('*', $1) "
                "ON CONFLICT (topic) DO UPDATE SET epoch = EXCLUDED.epoch",
                self._epoch,
            )
        log.info("outbox.refeed", epoch=self._epoch, events=n)

    async def _publish_batch(self) -> int:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, key, headers, value FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self._batch,
            )
            if not rows:
                return 0
            futures = []
            for i, r in enumerate(rows):
                try:
                    headers = self._signer.sign([(k, v.encode()) for k, v in r["headers"]],
                                                r["value"])
                except NotOurs as exc:
                    self._hold(r["id"], str(exc))
                    rows = rows[:i]
                    break
                futures.append(
                    await self._producer.send(r["topic"], r["value"], key=r["key"], headers=headers)
                )
            if not rows:
                return 0
            # Wait for every ack before marking: an unacked row is sent again later.
            await asyncio.gather(*futures)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
            self.published += len(rows)
            log.debug("outbox.published", count=len(rows), last_id=rows[-1]["id"])
            return len(rows)

    def _hold(self, row_id: int, reason: str) -> None:
        if self.held != row_id:  # once per row, not once per poll
            log.error("outbox.not_signed", row_id=row_id, source=self._signer.source,
                      reason=reason)
            self.held = row_id

