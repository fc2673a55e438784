"""Throughput of the kpi handler: ``handle`` per event vs ``handle_batch``, on a real DB.

Not a test (pytest does not collect it).  Run::

    timeout 900 .venv/bin/python -m tests.integration.kpi.bench_batch [--batches 20]

Starts an embedded PostgreSQL (or uses ``DATABASE_URL``), then for each mode applies the
same 2000-event batches (80 % fresh filings, 20 % next-version transitions of cases filed
in earlier batches) on its own fresh database, one transaction per batch as the consumer
does.  Reports events/s (wall) and CPU µs per event of this Python process and of the
PostgreSQL backend serving it (read from /proc, so only for a local server).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from services.kpi import consumer
from services.kpi.main import MIGRATIONS
from shared.batches import pooled
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.events import Envelope
from tests.infra import database_url
from tests.unit.kpi import scenario

CHANNELS = ["walk_in", "hotline_1567", "web", "line", "letter"]
CATEGORIES = ["land", "informal_debt", "drugs", "other"]
DISTRICTS = ["1001", "1002", "5001", "5002", "3001"]
STEPS = ["accepted", "started", "forwarded", "started", "closed", "reopened", "closed"]


def workload(batches: int, size: int, seed: int = 2569) -> list[list[Envelope]]:
    """``batches`` lists of ``size`` envelopes: filings and in-order transitions."""
    rng = random.Random(seed)
    open_cases: list[tuple[uuid.UUID, int]] = []  # (id, last version) of earlier batches
    out = []
    for _ in range(batches):
        batch: list[Envelope] = []
        touched: list[tuple[uuid.UUID, int]] = []
        n_steps = size // 5 if open_cases else 0
        picks = rng.sample(range(len(open_cases)), min(n_steps, len(open_cases)))
        for i in picks:
            cid, ver = open_cases[i]
            if ver - 1 >= len(STEPS):
                continue
            day = 1 + ver
            batch.append(scenario.step(cid, ver + 1, STEPS[ver - 1], f"2025-12-{day:02d}T03:00"))
            open_cases[i] = (cid, ver + 1)
        while len(batch) < size:
            cid = uuid.UUID(int=rng.getrandbits(128))
            batch.append(
                scenario.filed(
                    cid,
                    f"2025-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T03:00",
                    rng.choice(DISTRICTS),
                    rng.choice(CHANNELS),
                    rng.choice(CATEGORIES),
                )
            )
            touched.append((cid, 1))
        rng.shuffle(batch)
        open_cases.extend(touched)
        out.append(batch)
    return out


def _cpu(pid: int) -> float:
    """utime + stime of a local process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _by_event(conn: Conn, envs: list[Envelope]) -> None:
    for env in envs:
        await consumer.handle(conn, env)


MODES: dict[str, Callable[[Conn, list[Envelope]], Awaitable[None]]] = {
    "handle": _by_event,
}
if hasattr(consumer, "handle_batch"):
    MODES["handle_batch"] = consumer.handle_batch


async def _fresh_db(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


async def run(url: str, batches: list[list[Envelope]], modes: list[str]) -> None:
    total = sum(len(b) for b in batches)
    print(f"{len(batches)} batches x {len(batches[0])} events = {total}")
    for mode in modes:
        fn = MODES[mode]
        pool = await create_pool(await _fresh_db(url), "kpi", max_size=1)
        await migrate(pool, "kpi", MIGRATIONS)
        async with pooled(pool) as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            # Warm up (plans, caches) on a batch that is not part of the measurement.
            async with conn.transaction():
                await fn(conn, workload(1, 200, seed=1)[0])
            c0, s0, w0 = time.process_time(), _cpu(backend), time.perf_counter()
            for batch in batches:
                async with conn.transaction():
                    await fn(conn, batch)
            c1, s1, w1 = time.process_time(), _cpu(backend), time.perf_counter()
            stored = await conn.fetchval("SELECT count(*) FROM events")
            applied = await conn.fetchval("SELECT sum(applied_version) FROM cases")
        await pool.close()
        print(
            f"{mode:13s} {total / (w1 - w0):9.0f} ev/s  "
            f"client {1e6 * (c1 - c0) / total:6.1f} µs/ev  "
            f"server {1e6 * (s1 - s0) / total:6.1f} µs/ev  "
            f"wall {1e6 * (w1 - w0) / total:6.1f} µs/ev  "
            f"(events {stored}, applied {applied})"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--mode", action="append", choices=sorted(MODES))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    batches = workload(args.batches, args.size)
    gc.freeze()  # the pre-built workload is not the handler's garbage to scan
    loop_factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = asyncio.new_event_loop
    with database_url() as url:
        for _ in range(args.repeat):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(run(url, batches, args.mode or sorted(MODES)))


if __name__ == "__main__":
    main()
