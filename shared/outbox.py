"""Transactional outbox: append events with the state change, relay them to Kafka.

``append`` runs inside the caller's transaction.  The relay publishes unpublished rows
in id order and marks them only after the broker acknowledged them, so a crash between
commit and publish delays an event but never loses it (at-least-once; consumers dedupe
by ``(complaint_id, version)``).  One relay per schema runs at a time (advisory lock),
which keeps per-case order even with several service instances.

A lost database connection is a pause, not an end: the relay gives up the lock's
connection, waits a growing pause and takes the lock again on a fresh one; rows the
broker acknowledged before the cut are marked then, not sent again.

The broker is told apart by its cluster id (``shared.kafka.cluster_id``).  A broker the
relay has not fed (the memory-only embedded broker came back empty after a crash) gets
every stored event again, in id order, once its topics are made: the relay asks at the
start of each turn, after a failed send and every ``idle_poll_s`` while it runs, so a
broker killed and started again under a running service is re-fed without a restart.

Each batch is signed as it is first published (``shared.signed_records``: one signature
over the Merkle root of its rows' digests, and each row's inclusion proof), by the key of
the service's own source.  The row's signature is stored before it is sent, and a row
sent again (after a crash before its mark, or to a broker that came back empty) goes out
with the signature it was first given: the same bytes, whatever batch it falls into then.
A row of another source is a bug, not data, so the relay holds it (and everything after
it, to keep the order) and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from shared.db import connection_lost
from shared.dbtypes import Conn
from shared.envelope_codec import encode
from shared.events import Envelope
from shared.faults import Backoff, is_transient
from shared.kafka import cluster_id
from shared.signed_records import Headers, NotOurs, RecordSigner, with_signature

log = structlog.get_logger()

NOTIFY_CHANNEL = "damrong_outbox"

LOCK_CHECK_TIMEOUT_S = 5.0
_PARTITIONER = DefaultPartitioner()


async def append(conn: Conn, topic: str, envelopes: Iterable[Envelope]) -> None:
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
        prepare_broker: Callable[[], Awaitable[None]] | None = None,
        broker_id: Callable[[], Awaitable[str]] | None = None,
        batch_size: int = 1000,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        # Services may share one database: the lock is per schema, not global.
        self._lock_key = f"outbox-relay:{name}"
        self._signer = signer
        self.held: int | None = None  # the id of a row not ours to sign, once reported
        # ``prepare_broker`` makes a new broker's topics before anything is sent to it;
        # ``broker_id`` names the broker (its cluster id; tests name brokers of their own).
        self._prepare_broker = prepare_broker
        self._broker_id = broker_id or (lambda: cluster_id(producer.client))
        self.broker: str | None = None  # the broker fed, once known
        self._batch = batch_size
        self._idle = idle_poll_s
        self._wake = asyncio.Event()
        self.published = 0
        self._acked: list[int] = []  # ids the broker acknowledged, not yet marked
        self.caught_up = asyncio.Event()
        # Another instance of the service holds the lock and publishes; this one waits to
        # take over.  A standby is healthy: its HTTP writes reach the outbox all the same.
        self.standing_by = False
        # Transient faults (lost connections) retried since start, and the latest one.
        self.faults = 0
        self.last_fault: str | None = None

    async def run(self) -> None:
        """Publish until cancelled; raise only what is neither transient nor the broker's.

        A lost or broken connection (``shared.faults.is_transient``), the lock's or a
        batch's, ends the turn: the lock's connection is given up (which releases the lock
        on the server, so another instance may take over meanwhile), and after a growing
        pause the lock is taken again on a fresh connection before any row is read.  Rows
        are marked only once the broker acknowledged them; those acknowledged before a cut
        are marked on the next turn rather than sent again, and the rest go out again in
        id order, so per-case order is kept.
        """
        self.caught_up.clear()  # a restarted relay is ready again once it has drained
        backoff = Backoff(first=0.1, cap=5.0)
        while True:
            try:
                await self._turn(backoff)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.faults += 1
                self.last_fault = f"{type(exc).__name__}: {exc}"
                delay = backoff.next()
                log.warning(
                    "outbox.connection_lost",
                    relay=self._lock_key,
                    error=repr(exc),
                    faults=self.faults,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)

    async def _turn(self, backoff: Backoff) -> None:
        """Take the lock on one connection, then publish while that connection lives."""
        async with self._pool.acquire() as lock_conn:
            # Only one relay per schema: ordering per case depends on a single publisher.
            while not await lock_conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", self._lock_key
            ):
                self.standing_by = True
                await asyncio.sleep(self._idle)
            self.standing_by = False
            # The server ends the session, and with it the lock: wake the loop to notice.
            lock_conn.add_termination_listener(self._on_lock_lost)
            await lock_conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            try:
                fed = False  # the broker answering is known to have every row coming
                checked = -math.inf
                while True:
                    if connection_lost(lock_conn):
                        raise asyncpg.ConnectionDoesNotExistError(
                            "the connection holding the relay's lock was closed"
                        )
                    if time.monotonic() - checked >= self._idle:
                        # A half-open socket (behind a NAT or a pooler) looks open until it
                        # is written to: ask, so the lock is never assumed for long.
                        await lock_conn.execute("SELECT 1", timeout=LOCK_CHECK_TIMEOUT_S)
                        # And which broker answers: one started again in between is one
                        # the relay has not fed.
                        fed = await self._feed_this_broker(lock_conn)
                        checked = time.monotonic()
                    if not fed:  # no broker answers: nothing can go out yet
                        await asyncio.sleep(self._idle)
                        continue
                    # Clear before reading: a NOTIFY during the batch must wake the next wait.
                    self._wake.clear()
                    try:
                        sent = await self._publish_batch()
                    except KafkaError as exc:
                        # Broker away: keep the rows, try again; nothing is marked unacked.
                        # It may come back another (empty) broker: ask before sending again.
                        log.warning("outbox.publish_failed", error=str(exc))
                        await asyncio.sleep(self._idle)
                        checked = -math.inf
                        continue
                    backoff.reset()  # the lock and a batch went through: the cut is over
                    if sent:
                        continue
                    self.caught_up.set()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle)
            finally:
                await _give_up_lock(lock_conn, self._lock_key, self._on_notify, self._on_lock_lost)

    def ready(self) -> bool:
        """Publishing with the backlog drained once, or standing by for the instance that is."""
        return self.caught_up.is_set() or self.standing_by

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    def _on_lock_lost(self, *_args: object) -> None:
        self._wake.set()

    async def _feed_this_broker(self, conn: Conn) -> bool:
        """Make sure the broker now answering has every stored event coming to it; False
        when no broker answers (the caller tries again later).

        ``relay_state`` holds the id of the broker last fed.  Another id is a broker that
        has not seen the outbox: its topics are made, then every row is marked unpublished
        in the same transaction that records the new id, so a crash in between re-feeds
        again rather than not at all.  No row yet is a relay that never recorded one (a
        new database, or one fed before brokers were told apart): the broker of the time
        is taken to be this one, rather than sending a decade again.
        """
        try:
            broker = await self._broker_id()
        except (KafkaError, TimeoutError) as exc:
            log.warning("outbox.broker_unknown", error=repr(exc))
            return False
        if broker == self.broker:
            return True
        stored = await conn.fetchval("SELECT epoch FROM relay_state WHERE topic = '*'")
        new = stored is not None and stored != broker
        if new and self._prepare_broker is not None:
            try:
                await self._prepare_broker()
            except KafkaError as exc:
                log.warning("outbox.broker_unprepared", error=repr(exc))
                return False
        async with conn.transaction():
            n = 0
            if new:
                n = await conn.fetchval(
                    "WITH r AS (UPDATE outbox SET published_at = NULL "
                    "WHERE published_at IS NOT NULL RETURNING 1) SELECT count(*) FROM r"
                )
            await conn.execute(
                "INSERT INTO relay_state (topic, epoch) VALUES ('*', $1) "
                "ON CONFLICT (topic) DO UPDATE SET epoch = EXCLUDED.epoch",
                broker,
            )
        if stored != broker:
            log.info("outbox.refeed" if n else "outbox.broker", broker=broker, events=n)
        if self.broker is not None:
            # Acknowledged by the broker that went away: marking them would skip this one.
            self._acked = []
        self.broker = broker
        return True

    async def _publish_batch(self) -> int:
        async with self._pool.acquire() as conn:
            if self._acked:
                # Acknowledged before a cut kept them from being marked: mark them now
                # rather than send them a second time.
                await self._mark(conn)
            rows = await conn.fetch(
                "SELECT id, topic, key, headers, value, signature FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self._batch,
            )
            headers = [[(k, v.encode()) for k, v in r["headers"]] for r in rows]
            partitions = await self._partitions(rows)
            rows, signatures = await self._signatures(conn, rows, headers, partitions)
            if not rows:
                return 0
            futures = []
            # headers and partitions may run on past a held row: zip stops with the rows
            # that go out.  Each goes to the partition the producer's own partitioner
            # picks (computed once here: it is a pure-Python hash, 7 µs a record).
            for r, hdrs, signature, partition in zip(
                rows, headers, signatures, partitions, strict=False
            ):
                futures.append(
                    await self._producer.send(
                        r["topic"],
                        r["value"],
                        key=r["key"],
                        headers=with_signature(hdrs, signature),
                        partition=partition,
                    )
                )
            # Wait for every ack before marking: an unacked row is sent again later.
            await asyncio.gather(*futures)
            self._acked = [r["id"] for r in rows]
            self.published += len(rows)
            await self._mark(conn)
            log.debug("outbox.published", count=len(rows), last_id=rows[-1]["id"])
            return len(rows)

    async def _signatures(
        self,
        conn: Conn,
        rows: list[asyncpg.Record],
        headers: list[Headers],
        partitions: list[int | None],
    ) -> tuple[list[asyncpg.Record], list[bytes]]:
        """The rows that may go out (up to the first not ours to sign) and the signature of
        each: the stored one, else a new batch signature over those without, stored
        before anything is sent."""
        new: list[tuple[int, str]] = []  # (position in rows, digest) of rows to sign
        for i, r in enumerate(rows):
            if r["signature"] is not None:
                continue
            try:
                digest = self._signer.digest(headers[i], r["value"])
            except NotOurs as exc:
                self._hold(r["id"], str(exc))
                rows = rows[:i]
                new = [(at, d) for at, d in new if at < i]
                break
            new.append((i, digest))
        signatures: list[bytes] = [r["signature"] for r in rows]
        if new:
            # Leaves grouped by the partition each record goes to: a reader of a partition
            # then meets a batch's records as neighbouring leaves, whose proofs share all
            # but their lowest levels (what makes checking one cost about two hashes).
            # Only speed depends on it: any order verifies the same.
            new.sort(key=lambda item: (rows[item[0]]["topic"], partitions[item[0]] or 0, item[0]))
            signed = self._signer.sign_digests([digest for _, digest in new])
            for (at, _), signature in zip(new, signed, strict=True):
                signatures[at] = signature
            await conn.execute(
                "UPDATE outbox o SET signature = s.signature "
                "FROM unnest($1::bigint[], $2::bytea[]) AS s(id, signature) WHERE o.id = s.id",
                [rows[at]["id"] for at, _ in new],
                signed,
            )
        return rows, signatures

    async def _partitions(self, rows: list[asyncpg.Record]) -> list[int | None]:
        """The partition the producer's default partitioner puts each row's record in
        (None for a row without a key: the producer then picks one at random)."""
        parts: dict[str, list[int]] = {}
        for topic in {r["topic"] for r in rows}:
            parts[topic] = sorted(await self._producer.partitions_for(topic))
        return [
            _PARTITIONER(r["key"], found, found)
            if r["key"] and (found := parts[r["topic"]])
            else None
            for r in rows
        ]

    async def _mark(self, conn: Conn) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", self._acked
        )
        self._acked = []

    def _hold(self, row_id: int, reason: str) -> None:
        if self.held != row_id:  # once per row, not once per poll
            log.error("outbox.not_signed", row_id=row_id, source=self._signer.source, reason=reason)
            self.held = row_id


async def _give_up_lock(
    conn: Conn, key: str, on_notify: Callable[..., None], on_lost: Callable[..., None]
) -> None:
    """Release the lock and stop listening.  A connection that cannot is terminated, which
    ends its session and so its lock: it never goes back to the pool holding the lock, and
    the failure that ended the turn is the one reported."""
    if connection_lost(conn):
        return
    try:
        conn.remove_termination_listener(on_lost)
        await asyncio.wait_for(conn.remove_listener(NOTIFY_CHANNEL, on_notify), 5)
        await asyncio.wait_for(conn.execute("SELECT pg_advisory_unlock(hashtext($1))", key), 5)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.terminate()
        if not isinstance(exc, Exception):
            raise  # cancelled while stopping: the connection is gone, stop all the same
