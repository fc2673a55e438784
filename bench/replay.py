"""Rebuild (replay) rate of the kpi projection beside the raw consume rate of the topic.

    .venv/bin/python bench/replay.py [--events 300000] [--rounds 3] [--processes N]

Starts embedded PostgreSQL and broker only (no services) on free ports, produces
``--events`` events (80 % filings, 20 % next-version transitions of earlier cases) to
the events topic (signed as the services' relays sign them: each source's records in
published batches of ``--relay-batch``, one signed Merkle root per batch), then measures
what checking a record costs as the rebuild reads the topic (partition batches, one
verifier): the whole check (decode, chain digest, signature), and the signature part,
beside the same records signed one by one (v1) in the same run.  Then per round (a)
reading the whole topic with a bare aiokafka consumer (records/s; no decoding) and (b)
``services.kpi.rebuild.rebuild`` (events/s: read, decode, project into fresh tables, switch
over; the default fast path, bulk load), read and loaded by ``--processes`` processes
(default: the rebuild's own choice, one per core) and, as the baseline, by this one alone.
Prints each round, the medians and their ratios (goals: rebuild >= 0.5x raw consume,
>= 100,000 events/s).  Last, the database's share alone, the floor under any rebuild code
on this machine: the rows the rebuild loaded, loaded again by binary COPY into a fresh copy
of kpi's schema and its keys and indexes built as the rebuild builds them (nothing read,
checked or folded; an index built by parallel workers counts its wall time, less than its
CPU), and what the goal leaves an event for the rest.  ``--careful`` also times the careful
path (every record through ``handle_batch``) in each round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from pydantic import TypeAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floor  # noqa: E402
from damrong.embedded.platform import Platform  # noqa: E402
from services.kpi.main import MIGRATIONS  # noqa: E402
from services.kpi.rebuild.bulk import TABLES, drop_indexes  # noqa: E402
from services.kpi.rebuild.usecases import default_processes, rebuild  # noqa: E402
from shared.chain import compute_hash  # noqa: E402
from shared.codes import CategoryCode, ChannelCode, ClosureReason  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.db import create_pool, migrate  # noqa: E402
from shared.envelope_codec import link_from_record, to_record  # noqa: E402
from shared.events import (  # noqa: E402
    EVENT_CLASSES,
    CaseAccepted,
    CaseClosed,
    CaseStarted,
    ComplaintFiled,
    Envelope,
    EventData,
    parse_type_name,
)
from shared.kafka import ensure_topics, make_producer  # noqa: E402
from shared.signed_records import (  # noqa: E402
    RecordSigner,
    RecordVerifier,
    signature_of,
    with_signature,
)
from shared.signing import Signer, new_private_key, public_key_of  # noqa: E402

DISTRICTS = ["1001", "1030", "5001", "5003", "4001", "4901", "8301", "9001", "3401", "2001"]
CHANNELS = list(ChannelCode)
CATEGORIES = list(CategoryCode)
LAG = dt.timedelta(minutes=30)
# A key per source, for this run only: the rebuild checks every record's signature.
KEYS = {source: new_private_key() for source in ("bench/intake", "bench/status")}
SIGNERS = {source: RecordSigner(source, key) for source, key in KEYS.items()}
PARTITIONER = DefaultPartitioner()


def _step(version: int) -> EventData:
    steps: tuple[EventData, ...] = (
        CaseAccepted(actor="officer"),
        CaseStarted(actor="officer"),
        CaseClosed(actor="officer", reason=ClosureReason.resolved),
    )
    return steps[(version - 2) % 3]


Record = tuple[bytes, list[tuple[str, bytes]], bytes]


def events(
    n: int, relay_batch: int, partitions: int, seed: int = 2569, chunk: int = 100_000
) -> Iterator[list[Record]]:
    """``n`` encoded records, ``chunk`` at a time (a few million do not fit in memory at
    once): 80 % filings, 20 % the next version of an earlier case, each source's signed in
    batches of ``relay_batch`` as its relay publishes them (leaves grouped by partition,
    as ``shared.outbox`` does)."""
    rng = random.Random(seed)
    cases: list[tuple[uuid.UUID, int, dt.datetime]] = []
    for first in range(0, n, chunk):
        yield _chunk(min(chunk, n - first), relay_batch, partitions, rng, cases)


def _chunk(
    n: int,
    relay_batch: int,
    partitions: int,
    rng: random.Random,
    cases: list[tuple[uuid.UUID, int, dt.datetime]],
) -> list[Record]:
    every = list(range(partitions))
    start = dt.datetime(2024, 10, 1, 3, tzinfo=dt.UTC)
    out = []
    for _ in range(n):
        if cases and rng.random() < 0.2:
            i = rng.randrange(len(cases))
            cid, ver, at = cases[i]
            at += dt.timedelta(days=rng.randint(1, 20))
            cases[i] = (cid, ver + 1, at)
            env = Envelope(
                event_id=uuid.uuid4(),
                complaint_id=cid,
                version=ver + 1,
                source="bench/status",
                occurred_at=at,
                recorded_at=at + LAG,
                data=_step(ver + 1),
            )
        else:
            cid = uuid.UUID(int=rng.getrandbits(128))
            at = start + dt.timedelta(minutes=rng.randint(0, 600 * 24 * 60))
            district = rng.choice(DISTRICTS)
            env = Envelope(
                event_id=uuid.uuid4(),
                complaint_id=cid,
                version=1,
                source="bench/intake",
                occurred_at=at,
                recorded_at=at + LAG,
                data=ComplaintFiled(
                    tracking_no=f"B-{cid.hex[:10]}",
                    channel=rng.choice(CHANNELS),
                    category=rng.choice(CATEGORIES),
                    province_code=district[:2],
                    district_code=district,
                    received_at=at,
                    recorded_at=at + LAG,
                    anonymous=False,
                ),
            )
            cases.append((cid, 1, at))
        out.append(to_record(env))
    for source, signer in SIGNERS.items():
        mine = [
            i
            for i, (_k, headers, _v) in enumerate(out)
            if dict(headers)["ce_source"] == source.encode()
        ]
        for first in range(0, len(mine), relay_batch):
            chunk = sorted(
                mine[first : first + relay_batch],
                key=lambda i: (PARTITIONER(out[i][0], every, every), i),
            )
            signed = signer.sign_batch([(out[i][1], out[i][2]) for i in chunk])
            for i, headers in zip(chunk, signed, strict=True):
                out[i] = (out[i][0], headers, out[i][2])
    return out


async def produce(settings: Settings, n: int, relay_batch: int) -> None:
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    try:
        sent = []
        for records in events(n, relay_batch, settings.topic_partitions):
            for key, headers, value in records:
                sent.append(
                    await producer.send(settings.events_topic, value, key=key, headers=headers)
                )
                if len(sent) >= 20_000:  # bounded in-flight: modest memory on both sides
                    await asyncio.gather(*sent)
                    sent.clear()
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def _from_beginning(settings: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer assigned every partition of the topic, at its beginning (no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(settings.events_topic) or set()
        tps = [TopicPartition(settings.events_topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        yield consumer
    finally:
        await consumer.stop()


async def raw_consume(settings: Settings, n: int) -> float:
    """Seconds to read ``n`` records from the beginning (assigned, no group, no decode)."""
    async with _from_beginning(settings) as consumer:
        t0 = time.perf_counter()
        got = 0
        while got < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            got += sum(len(r) for r in batches.values())
        return time.perf_counter() - t0


async def read_records(settings: Settings, n: int) -> list[tuple[list[tuple[str, bytes]], bytes]]:
    """The first ``n`` records as the rebuild's reader gets them (partition batches)."""
    async with _from_beginning(settings) as consumer:
        out: list[tuple[list[tuple[str, bytes]], bytes]] = []
        while len(out) < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for recs in batches.values():
                out.extend((list(r.headers), r.value or b"") for r in recs)
        return out[:n]


def check_costs(records: list[tuple[list[tuple[str, bytes]], bytes]]) -> dict[str, float]:
    """µs per record: the whole check and its signature part, batch-signed (as read) and
    signed one by one (v1, the same records), each by a fresh verifier."""
    public = {s: public_key_of(k) for s, k in KEYS.items()}
    v1 = []
    for headers, value in records:
        source = dict(headers)["ce_source"].decode()
        digest = SIGNERS[source].digest(headers, value)
        v1.append((with_signature(headers, Signer(KEYS[source]).sign(digest)), value))

    def per_record(seconds: float) -> float:
        return seconds / len(records) * 1e6

    links = [(link_from_record(h, v), signature_of(h)) for h, v in records]
    v1_links = [(link_from_record(h, v), signature_of(h)) for h, v in v1]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    for link, _sig in links:
        compute_hash(link)
    digest_only = per_record(time.perf_counter() - t0)
    for name, recs, decoded in (("v2", records, links), ("v1", v1, v1_links)):
        verifier = RecordVerifier(public)
        t0 = time.perf_counter()
        for headers, value in recs:
            verifier.check(headers, value)
        out[name] = per_record(time.perf_counter() - t0)
        verifier = RecordVerifier(public)
        t0 = time.perf_counter()
        for link, sig in decoded:
            verifier.check_link(link, sig)
        out[f"{name} signature"] = per_record(time.perf_counter() - t0) - digest_only
    # The least any reader of a record does besides its check: parse the payload and
    # validate it by its kind's model.
    adapters = {kind: TypeAdapter(cls) for kind, cls in EVENT_CLASSES.items()}
    kinds = [parse_type_name(dict(h)["ce_type"].decode())[0] for h, _ in records]
    t0 = time.perf_counter()
    for kind, (_, value) in zip(kinds, records, strict=True):
        adapters[kind].validate_python({**orjson.loads(value), "kind": kind})
    out["payload"] = per_record(time.perf_counter() - t0)
    return out


async def database_share(
    settings: Settings, events: int, raw: float, cost: dict[str, float]
) -> None:
    """The rows the last rebuild left in kpi, loaded again into a fresh copy of its schema
    as ``Bulk`` loads them (keys and indexes dropped, binary COPY, then built), one step
    after the other on one connection, so each second is one core's; and what the goal
    leaves an event for everything else."""
    schema = "kpi_floor"
    pool = await create_pool(settings.database_url, schema, max_size=1)
    try:
        await migrate(pool, schema, MIGRATIONS)
    finally:
        await pool.close()
    conn = await asyncpg.connect(settings.database_url)
    try:
        dumps = await floor.dump(conn, TABLES, "kpi")
        await conn.execute(f"SET search_path = {schema}")  # drop_indexes names tables bare
        again = await drop_indexes(conn, schema)
        copied = await floor.copy_again(conn, dumps, schema)
        seconds = {f"COPY {table}": s for table, s in copied.items()}
        for table in TABLES:
            t0 = time.perf_counter()
            await conn.execute(";\n".join(again[table]))
            seconds[f"indexes of {table}"] = time.perf_counter() - t0
        for table in TABLES:
            live = await conn.fetchval(f"SELECT count(*) FROM kpi.{table}")
            assert await conn.fetchval(f"SELECT count(*) FROM {schema}.{table}") == live
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()
    total = sum(seconds.values())
    cores = os.cpu_count() or 1
    goal = max(100_000, 0.5 * raw)
    budget = cores / goal * 1e6  # CPU µs an event on every core at the goal's rate
    consume_us, db_us = 1e6 / raw, total / events * 1e6
    print(
        f"the database's share alone ({events:,} events loaded again, one core): "
        f"{total:.2f} s, {events / total:,.0f} ev/s; "
        + ", ".join(f"{step} {s:.2f} s" for step, s in seconds.items())
    )
    print(
        f"at the goal ({goal:,.0f} ev/s) the {cores} cores have {budget:.1f} µs of CPU an event "
        f"in all; reading the topic takes {consume_us:.1f} (raw consume, the broker's share not "
        f"counted) and the database's share {db_us:.1f}, leaving "
        f"{budget - consume_us - db_us:.1f} µs an event for checking, decoding, validating, "
        f"folding and encoding (a record's check alone takes {cost['v2']:.1f}, parsing and "
        f"validating its payload {cost['payload']:.1f})"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="damrong-replay-") as tmp:
        platform = Platform.for_tests(Path(tmp), services=False)
        await platform.start_infra()
        try:
            settings = Settings(
                database_url=platform.database_url,
                kafka_bootstrap_servers=platform.kafka_bootstrap,
                topic_partitions=args.partitions,
                event_public_keys={s: public_key_of(k) for s, k in KEYS.items()},
            )
            t0 = time.perf_counter()
            await produce(settings, args.events, args.relay_batch)
            print(f"produced {args.events} events in {time.perf_counter() - t0:.1f} s")
            sample = min(args.events, args.check_sample)
            rounds = [check_costs(await read_records(settings, sample)) for _ in range(3)]
            cost = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            print(
                f"checking a record ({sample:,} as read, median of 3): batch-signed (v2) "
                f"{cost['v2']:.1f} µs, of which the signature {cost['v2 signature']:.1f} µs; "
                f"signed one by one (v1) {cost['v1']:.1f} µs, of which the signature "
                f"{cost['v1 signature']:.1f} µs; the signature "
                f"{cost['v1 signature'] / cost['v2 signature']:.1f}x cheaper (goal: <= 5 µs)"
            )
            processes = args.processes or default_processes(args.events, args.partitions)
            raws, rebuilds, alones, carefuls = [], [], [], []
            for i in range(args.rounds):
                raw = args.events / await raw_consume(settings, args.events)
                done = await rebuild(
                    settings, appliers=args.appliers, batch=args.batch, processes=processes
                )
                assert done.events == args.events, done
                raws.append(raw)
                rebuilds.append(done.rate)
                line = (
                    f"round {i + 1}: raw consume {raw:10,.0f} rec/s   rebuild in {processes} "
                    f"processes {done.rate:8,.0f} ev/s ({done.seconds:.1f} s)   ratio "
                    f"{done.rate / raw:.2f}"
                )
                if args.alone:
                    alone = await rebuild(
                        settings, appliers=args.appliers, batch=args.batch, processes=1
                    )
                    assert alone.events == args.events, alone
                    alones.append(alone.rate)
                    line += f"   in 1 process {alone.rate:8,.0f} ev/s ({alone.seconds:.1f} s)"
                if args.careful:
                    slow = await rebuild(
                        settings, appliers=args.appliers, batch=args.batch, fast=False
                    )
                    assert slow.events == args.events, slow
                    carefuls.append(slow.rate)
                    line += f"   careful path {slow.rate:8,.0f} ev/s ({slow.seconds:.1f} s)"
                print(line)
            raw, reb = statistics.median(raws), statistics.median(rebuilds)
            line = (
                f"median:  raw consume {raw:10,.0f} rec/s   rebuild in {processes} processes "
                f"{reb:8,.0f} ev/s   ratio {reb / raw:.2f}"
            )
            if alones:
                one = statistics.median(alones)
                line += f"   in 1 process {one:8,.0f} ev/s ({reb / one:.2f}x faster in {processes})"
            if carefuls:
                line += f"   careful path {statistics.median(carefuls):8,.0f} ev/s"
            print(line + "  (goals: ratio >= 0.50 and >= 100,000 ev/s)")
            await database_share(settings, args.events, raw, cost)
            me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
            kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
            print(f"peak RSS: this process {me:.1f} GB, the largest rebuild process {kids:.1f} GB")
        finally:
            await platform.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--appliers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument(
        "--processes", type=int, default=0, help="rebuild processes (0: the rebuild's choice)"
    )
    parser.add_argument(
        "--alone",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the rebuild in one process each round (the baseline)",
    )
    parser.add_argument(
        "--relay-batch", type=int, default=1000, help="records per signed batch (the relay's)"
    )
    parser.add_argument(
        "--check-sample", type=int, default=100_000, help="records timed for the check cost"
    )
    parser.add_argument(
        "--careful",
        action="store_true",
        help="also time the careful path (handle_batch) each round",
    )
    asyncio.run(main(parser.parse_args()))
