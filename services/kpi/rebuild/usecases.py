"""Rebuild every kpi projection from the beginning of the topic, then switch over.

``rebuild`` reads the events topic with its own consumer (partitions assigned by hand,
no group, so the live service's group never rebalances), checks each record's signature
(``shared.signed_records``: a record the live consumer dead-lettered as undecodable or
forged is skipped and counted ``undecodable`` here), decodes it and applies
it as the live consumer does (``shared.batches``: its ``handle_batch``, else ``handle`` per
event, a PoisonEvent counted ``refused``) into fresh tables in a new schema
``kpi_rebuild_<n>``.  Records are routed to a few applier connections by complaint id, so
one case's events stay in order on one connection while the others work in parallel.
A transient fault (``shared.faults``) rolls a batch (or the switch) back and retries it on
a fresh connection; any other error fails the rebuild, nothing switched: no event is ever
skipped for a fault.
That is the careful path (``fast=False``); the default fast path collects the records up
to the high-water marks instead and loads them in bulk (``rebuild_bulk``: COPY, the same
pure fold), leaving only the records after those marks to ``handle_batch``.  Checking and
decoding records is most of its work and all of it is CPU, so a large topic is read by
several processes at once (``processes``), each taking whole partitions (a case's events
all share one, so each case is folded by one process) and loading its own share into the
fresh tables; this process then builds the indexes and reads on from where each stopped.

Once the positions reached the high-water marks seen at the start, and then the ones
seen at that moment, it switches over in one transaction:

1. ``LOCK TABLE`` the live tables ``IN EXCLUSIVE MODE``: readers (the API) go on, the
   live consumer's next write waits.  ``events`` comes first because both consumer paths
   write it first, so neither side can hold one table while waiting for another.
2. Read the live offsets; anything the live consumer applied beyond our positions is
   read from the topic and applied to the new tables too, so they hold at least all the
   live ones hold; the live offsets are copied as they are (never backwards, never a
   skip: re-applying what we hold beyond them is a no-op, by ``(complaint_id, version)``).
3. ``ALTER SCHEMA kpi RENAME TO kpi_old_<n>`` and ``kpi_rebuild_<n> RENAME TO kpi``.

Why renaming is safe for the live service (checked in tests/integration/kpi/
test_rebuild.py): its pool keeps ``search_path=kpi`` and asyncpg's prepared statements,
but renaming a schema invalidates every cached plan in PostgreSQL, which re-resolves the
names on the next execution, so statements then read the new tables; and a write that
was waiting for our lock re-resolves after getting it and lands in the new tables too.
Readers never wait (a table swap by TRUNCATE + INSERT SELECT would block them for the
whole copy).  The old schema is dropped afterwards unless ``keep_old``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from services.kpi.consumer import handle, handle_batch
from services.kpi.rebuild.bulk import Bulk
from shared.batches import apply_events, retry_on_fresh_connection
from shared.config import Settings
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.envelope_codec import DecodeError, from_record
from shared.events import Envelope
from shared.signed_records import RecordVerifier, verifier_from_settings

log = structlog.get_logger()

LIVE = "kpi"
# The tables the live consumer writes, in the order both of its paths first touch them.
LOCKED = ("events", "cases", "case_intervals", "consumer_offsets")
Progress = Callable[[int, int | None], None]  # (records read, records to read if known)
# Processes are worth their start (about a second each, importing the code) from about
# this many records on; the cap keeps a large machine from starving its database.
PARALLEL_MIN_RECORDS = 100_000
MAX_PROCESSES = 8


@dataclass(frozen=True, slots=True)
class Rebuilt:
    events: int  # records applied (or found already applied)
    undecodable: int  # skipped, undecodable or forged: the live consumer dead-lettered them
    refused: int  # PoisonEvent: dead-lettered live too
    seconds: float
    old_schema: str | None  # kept when asked to, else already dropped

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class _Applier:
    """Applies batches of envelopes, a batch per transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[list[Envelope] | None] = asyncio.Queue(maxsize=2)
        self.refused = 0
        self.retries = 0  # transient faults retried
        self.task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.run())
        return self.task

    async def put(self, envs: list[Envelope] | None) -> None:
        """Queue ``envs`` (None: the end); raise what stopped the applier if it did (its
        full queue would otherwise wait forever)."""
        assert self.task is not None
        put = asyncio.ensure_future(self.queue.put(envs))
        await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            self.task.result()  # raises what stopped it
            raise RuntimeError("the applier stopped before the end")

    async def run(self) -> None:
        while (envs := await self.queue.get()) is not None:
            self.refused += await retry_on_fresh_connection(
                self.pool,
                lambda conn: apply(conn, envs),
                retried=self._retried,
                what="kpi rebuild batch",
                events=len(envs),
            )

    def _retried(self, _fault: Exception) -> None:
        self.retries += 1


async def apply(conn: Conn, envs: list[Envelope]) -> int:
    """Apply ``envs`` in one transaction (``conn`` may already be in one); return how many
    were refused as PoisonEvent.  ``handle_batch`` first, else ``handle`` per event with a
    savepoint each, as the live consumer does; anything else raises."""
    return len(await apply_events(conn, envs, handle, handle_batch))


class _Reader:
    """The topic from its beginning, decoded, routed to appliers by complaint id."""

    def __init__(
        self,
        settings: Settings,
        verifier: RecordVerifier,
        appliers: list[_Applier],
        batch: int,
        bulk: Bulk | None = None,
        partitions: list[int] | None = None,
    ) -> None:
        self.settings = settings
        self.only = partitions  # the partitions to read (None: all of the topic's)
        self.verifier = verifier
        self.bulk = bulk  # while set, records are collected there instead
        self.appliers = appliers
        self.batch = batch
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=16 << 20,
            fetch_max_bytes=64 << 20,
        )
        self.tps: list[TopicPartition] = []
        self.read = 0
        self.undecodable = 0
        self._pending: list[list[Envelope]] = [[] for _ in appliers]

    async def start(self) -> None:
        await self.consumer.start()
        topic = self.settings.events_topic
        parts = self.consumer.partitions_for_topic(topic)
        if not parts:  # metadata not fetched yet for this topic
            await self.consumer._client.force_metadata_update()
            parts = self.consumer.partitions_for_topic(topic) or set()
        if self.only is not None:
            parts = set(parts) & set(self.only)
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(self.tps)
        await self.consumer.seek_to_beginning(*self.tps)

    async def positions(self) -> dict[int, int]:
        return {tp.partition: await self.consumer.position(tp) for tp in self.tps}

    def highwater(self) -> dict[int, int] | None:
        """The high-water marks of the last fetch responses (None before every partition
        answered one).  The embedded broker's ``end_offsets`` can lag after a batched
        produce; the fetch response's mark does not."""
        marks = {tp.partition: self.consumer.highwater(tp) for tp in self.tps}
        if any(v is None for v in marks.values()):
            return None
        return marks  # type: ignore[return-value]

    async def fetch(self, timeout_ms: int = 200) -> int:
        """One fetch: decode and route what came; return how many records."""
        got = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.batch)
        n = 0
        for records in got.values():
            n += len(records)
            self._route(records)
        self.read += n
        return n

    def _route(self, records: list[ConsumerRecord]) -> None:
        if self.bulk is not None:
            for rec in records:
                self.bulk.add(rec.headers, rec.value)
            return
        k = len(self.appliers)
        for rec in records:
            try:
                self.verifier.check(rec.headers, rec.value)
                env = from_record(rec.headers, rec.value)
            except DecodeError:
                self.undecodable += 1
                continue
            self._pending[env.complaint_id.int % k].append(env)

    async def flush(self, *, all_: bool = False) -> None:
        if self.bulk is not None:
            await self.bulk.pump()
        for i, envs in enumerate(self._pending):
            if envs and (all_ or len(envs) >= self.batch):
                self._pending[i] = []
                await self.appliers[i].put(envs)

    def pending(self) -> list[Envelope]:
        """Everything routed but not handed to an applier (for the switch, which may be
        retried: it stays here)."""
        return [e for envs in self._pending for e in envs]

    async def read_until(
        self, targets: dict[int, int], progress: Progress | None, total: int | None
    ) -> None:
        while any(pos < targets.get(p, 0) for p, pos in (await self.positions()).items()):
            await self.fetch()
            await self.flush()
            if progress is not None:
                progress(self.read, total)


async def rebuild(
    settings: Settings,
    *,
    appliers: int = 3,
    batch: int = 10_000,
    keep_old: bool = False,
    progress: Progress | None = None,
    fast: bool = True,
    processes: int | None = None,
) -> Rebuilt:
    """Rebuild schema ``kpi`` from the topic and switch over (see the module docstring).

    ``fast`` (the default) collects everything up to the marks and loads it in bulk
    (``rebuild_bulk``); only what follows, up to the switch, goes through ``handle_batch``.
    Without it every record goes through ``handle_batch`` on the appliers.  ``processes``
    read and load the fast path's share side by side (default: ``default_processes``).
    """
    started = time.perf_counter()
    verifier = verifier_from_settings(settings)  # no keys: refuse before creating anything
    n = time.time_ns() // 1000
    fresh, old = f"{LIVE}_rebuild_{n}", f"{LIVE}_old_{n}"
    pool = await create_pool(settings.database_url, fresh, max_size=appliers + 1)
    switched = False
    bulk = Bulk(verifier) if fast else None
    try:
        await migrate(pool, fresh, _migrations())
        if bulk is not None:
            await bulk.open(settings.database_url, fresh)
        workers = [_Applier(pool) for _ in range(appliers)]
        tasks = [w.start() for w in workers]
        reader = _Reader(settings, verifier, workers, batch, bulk)
        await reader.start()
        try:
            if processes is None:
                processes = default_processes(await _records(reader), len(reader.tps))
            if bulk is not None and processes > 1:
                reader.bulk = None  # each process loads its own share; this one the tail
                await _load_side_by_side(settings, fresh, reader, bulk, processes, batch, progress)
            else:
                # Until the marks seen at the start, then until those seen then.
                while (marks := reader.highwater()) is None:
                    await reader.fetch()
                await reader.read_until(marks, progress, sum(marks.values()))
                later = reader.highwater() or marks
                await reader.read_until(later, progress, sum(later.values()))
            if bulk is not None:
                await bulk.load()  # (side by side: no rows here, the indexes built)
                reader.bulk = None  # the tail goes through handle_batch
            await reader.flush(all_=True)
            for w in workers:
                await w.put(None)
            await asyncio.gather(*tasks)
            tail_refused = await retry_on_fresh_connection(
                pool,
                lambda conn: _switch(conn, reader, fresh, old),
                what="kpi rebuild switch",
            )
            switched = True
        finally:
            for t in tasks:
                t.cancel()
            with contextlib.suppress(Exception):
                await reader.consumer.stop()
        refused = sum(w.refused for w in workers) + tail_refused + (bulk.refused if bulk else 0)
        undecodable = reader.undecodable + (bulk.undecodable if bulk else 0)
    finally:
        if bulk is not None:
            await bulk.close()
        await pool.close()
        if not switched:
            await _drop(settings, fresh)
    if not keep_old:
        await _drop(settings, old)
    seconds = time.perf_counter() - started
    events = reader.read - undecodable - refused
    log.info(
        "kpi.rebuilt",
        events=events,
        undecodable=undecodable,
        refused=refused,
        seconds=round(seconds, 3),
        fast=fast,
    )
    return Rebuilt(events, undecodable, refused, seconds, old if keep_old else None)


def default_processes(records: int, partitions: int) -> int:
    """Processes for a fast rebuild of ``records`` records in ``partitions`` partitions:
    one per core (at most ``MAX_PROCESSES``, never more than partitions) for a large
    topic, else none but this one."""
    if records < PARALLEL_MIN_RECORDS:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES, partitions))


async def _records(reader: _Reader) -> int:
    """About how many records the topic holds (its end offsets: the embedded broker's may
    lag a little behind a batched produce, which is fine for choosing how to read it)."""
    ends = await reader.consumer.end_offsets(reader.tps)
    return sum(ends.values())


@dataclass(frozen=True, slots=True)
class _Share:
    """What one process read and loaded of its partitions."""

    positions: dict[int, int]  # the next offset of each of its partitions
    read: int
    undecodable: int
    refused: int


# In a side-by-side process: where it reports its progress (records read, to read).
_counts: Any = None


def _set_counts(counts: Any) -> None:
    global _counts  # one per worker process, set once at its start
    _counts = counts


async def _load_side_by_side(
    settings: Settings,
    schema: str,
    reader: _Reader,
    bulk: Bulk,
    processes: int,
    batch: int,
    progress: Progress | None,
) -> None:
    """Load ``schema`` from ``processes`` processes, partitions dealt out in turn; leave
    ``reader`` positioned where they stopped and its count, and ``bulk``'s skipped
    records, including theirs."""
    mine = [tp.partition for tp in reader.tps]
    deals = [deal for i in range(processes) if (deal := mine[i::processes])]
    processes = len(deals)
    context = multiprocessing.get_context("spawn")
    counts = context.Array("q", 2 * processes, lock=False)  # read, to read; per process
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=_set_counts, initargs=(counts,)
    )
    futures = [
        loop.run_in_executor(pool, _load_share, settings, schema, deal, batch, slot)
        for slot, deal in enumerate(deals)
    ]
    try:
        waiting = set(futures)
        while waiting:
            _done, waiting = await asyncio.wait(waiting, timeout=0.5)
            if progress is not None:
                total = sum(counts[2 * i + 1] for i in range(processes))
                progress(sum(counts[2 * i] for i in range(processes)), total or None)
            if any(f.done() and not f.cancelled() and f.exception() for f in futures):
                break  # one failed: the rebuild fails, the others are stopped below
        shares = [f.result() for f in futures]  # raises what stopped a process
    finally:
        if not all(f.done() for f in futures):
            # Stopped or failed midway: the others' loads are for a schema about to be
            # dropped; end them now rather than wait minutes (the pool has no other way).
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
    positions = {p: n for share in shares for p, n in share.positions.items()}
    for tp in reader.tps:
        reader.consumer.seek(tp, positions[tp.partition])
    reader.read += sum(share.read for share in shares)
    # What they skipped counts as this process's bulk load's would have.
    bulk.undecodable += sum(share.undecodable for share in shares)
    bulk.refused += sum(share.refused for share in shares)
    log.info("kpi.rebuild_loaded", processes=processes, read=reader.read)


def _load_share(
    settings: Settings, schema: str, partitions: list[int], batch: int, slot: int
) -> _Share:
    """In a process of its own: read ``partitions`` to their marks and load them."""
    return asyncio.run(_load_share_async(settings, schema, partitions, batch, slot))


async def _load_share_async(
    settings: Settings, schema: str, partitions: list[int], batch: int, slot: int
) -> _Share:
    verifier = verifier_from_settings(settings)
    bulk = Bulk(verifier)
    await bulk.open(settings.database_url, schema, indexes=False)

    def report(read: int, total: int | None) -> None:
        if _counts is not None:
            _counts[2 * slot], _counts[2 * slot + 1] = read, total or 0

    reader = _Reader(settings, verifier, [], batch, bulk, partitions=partitions)
    try:
        await reader.start()
        # As one process does: until the marks seen at the start, then those seen then.
        while (marks := reader.highwater()) is None:
            await reader.fetch()
        await reader.read_until(marks, report, sum(marks.values()))
        later = reader.highwater() or marks
        await reader.read_until(later, report, sum(later.values()))
        report(reader.read, reader.read)  # read all (even if none was reported yet)
        await bulk.load()
        return _Share(await reader.positions(), reader.read, bulk.undecodable, bulk.refused)
    finally:
        with contextlib.suppress(Exception):
            await reader.consumer.stop()
        await bulk.close()


async def _switch(conn: Conn, reader: _Reader, fresh: str, old: str) -> int:
    """Catch up with the live consumer under its lock and swap the schemas, atomically;
    return how many of the events applied meanwhile were refused."""
    refused = 0
    async with conn.transaction():
        live = await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", LIVE)
        if live:
            await conn.execute(
                "LOCK TABLE " + ", ".join(f"{LIVE}.{t}" for t in LOCKED) + " IN EXCLUSIVE MODE"
            )
            rows = await conn.fetch(
                f"SELECT partition, max(next_offset) AS next FROM {LIVE}.consumer_offsets "
                "WHERE topic = $1 GROUP BY partition",
                reader.settings.events_topic,
            )
            await reader.read_until({r["partition"]: r["next"] for r in rows}, None, None)
            envs = reader.pending()
            if envs:
                refused = await apply(conn, envs)
            for table in ("consumer_offsets", "relay_state"):
                await conn.execute(f"INSERT INTO {table} SELECT * FROM {LIVE}.{table}")
            await conn.execute(f'ALTER SCHEMA {LIVE} RENAME TO "{old}"')
        await conn.execute(f'ALTER SCHEMA "{fresh}" RENAME TO {LIVE}')
    return refused


async def _drop(settings: Settings, schema: str) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _migrations() -> Path:
    # kpi's own migrations (services.kpi.main.MIGRATIONS, which this module cannot import:
    # main builds the app, a layer above the use cases).
    return Path(__file__).parents[1] / "migrations"


# The tables the live consumer updates in place.  An update that changes an indexed
# column (a case's rows leave "known now" as later events arrive) adds index entries and
# leaves the old ones to vacuum, and a B-tree never merges the half-empty pages that
# leaves: after 2,000,000 cases fed event by event, the open segments' index took 783 MB
# for what 335 MB holds rebuilt, and national answers read through it took up to 6 times as
# long (README, "Benchmarks").  ``events`` is only inserted into.
REINDEXED = ("case_intervals", "cases")

_INDEXES = """
SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes, i.indisvalid AS valid
  FROM pg_index AS i
  JOIN pg_class AS c ON c.oid = i.indexrelid
  JOIN pg_class AS t ON t.oid = i.indrelid
 WHERE t.relnamespace = to_regnamespace($1) AND t.relname = ANY($2::text[])
 ORDER BY t.relname, c.relname"""


@dataclass(frozen=True, slots=True)
class Reindexed:
    index: str
    before: int  # bytes
    after: int


async def reindex(
    settings: Settings,
    tables: tuple[str, ...] = REINDEXED,
    done: Callable[[Reindexed], None] | None = None,
) -> list[Reindexed]:
    """Rebuild every index of kpi's ``tables``, one at a time and CONCURRENTLY: the live
    service reads and writes on meanwhile.  ``done`` is told of each as it is rebuilt.

    A REINDEX CONCURRENTLY that fails (a lost connection, a cancel) leaves its new,
    invalid copy behind under the name ``<index>_ccnew``: any such copy is dropped first,
    so a failed run is mended by running again."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        out: list[Reindexed] = []
        for row in await conn.fetch(_INDEXES, LIVE, list(tables)):
            name = f'"{LIVE}"."{row["name"]}"'
            if not row["valid"] and "_ccnew" in row["name"]:
                log.info("kpi.reindex_leftover_dropped", index=row["name"])
                await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                continue
            await conn.execute(f"REINDEX INDEX CONCURRENTLY {name}")
            after = await conn.fetchval("SELECT pg_relation_size($1::regclass)", name)
            out.append(Reindexed(row["name"], row["bytes"], after))
            log.info("kpi.reindexed", index=row["name"], before=row["bytes"], after=after)
            if done is not None:
                done(out[-1])
        return out
    finally:
        await conn.close()
