"""CPU per event of the status consumer's handlers: ``handle`` per event vs ``handle_batch``.

    timeout 600 .venv/bin/python -m tests.integration.status.bench_batch [--batches N]
        [--closed SHARE]

``--closed`` gives that share of the filings a backfilled closed outcome (a backfill import
has ~0.7), which adds an event and an outbox row per such filing.

Starts an embedded PostgreSQL (or uses DATABASE_URL), makes two status schemas and applies
the same kind of 2000-filing batches to each, each batch in one transaction as the consumer
does (decoding excluded: both paths get decoded envelopes).  Interleaves the two modes and
reports medians of: client CPU (this process), server CPU (the connection's backend, from
/proc/<pid>/schedstat, so the server must be local) and wall time, per event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import asyncpg

from services.status.consumer import handle, handle_batch
from services.status.main import MIGRATIONS
from shared import logs
from shared.batches import pooled
from shared.codes import ClosureReason
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.events import BackfilledOutcome, ComplaintFiled, Envelope
from tests.infra import database_url
from tests.unit.status.factories import filed

BATCH = 2000


def _server_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


TOPIC = "complaints.events.bench"  # outbox rows only for backfilled outcomes

Apply = Callable[[Conn, list[Envelope]], Awaitable[None]]


async def one_by_one(conn: Conn, envs: list[Envelope]) -> None:
    for env in envs:
        await handle(conn, env, topic=TOPIC)


async def measure(conn: Conn, apply: Apply, envs: list[Envelope]) -> tuple[float, float, float]:
    """(client CPU, server CPU, wall) in µs per event for one batch in one transaction."""
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    s0, c0, w0 = _server_ns(pid), time.process_time_ns(), time.perf_counter_ns()
    async with conn.transaction():
        await apply(conn, envs)
    c1, w1, s1 = time.process_time_ns(), time.perf_counter_ns(), _server_ns(pid)
    n = len(envs) * 1000
    return (c1 - c0) / n, (s1 - s0) / n, (w1 - w0) / n


def filing(closed: bool) -> Envelope:
    env = filed()
    if not closed:
        return env
    data = env.data
    assert isinstance(data, ComplaintFiled)
    outcome = BackfilledOutcome(
        status="closed",
        at=data.received_at + dt.timedelta(days=9),
        closure_reason=ClosureReason.resolved,
    )
    return env.model_copy(
        update={"data": data.model_copy(update={"backfilled": True, "outcome": outcome})}
    )


async def main(batches: int, closed: float) -> None:
    logs.configure("status", "info")  # as in production: debug lines are filtered out
    with database_url() as url:
        admin = await asyncpg.connect(url)
        name = f"bench_{uuid.uuid4().hex[:8]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = f"{url.rsplit('/', 1)[0]}/{name}"
        pools = {}
        try:
            for schema in ("per_event", "batched"):
                pools[schema] = await create_pool(dsn, schema, max_size=1)
                await migrate(pools[schema], schema, MIGRATIONS)
            modes: dict[str, tuple[str, Apply]] = {
                "handle (per event)": ("per_event", one_by_one),
                "handle_batch": ("batched", partial(handle_batch, topic=TOPIC)),
            }
            results: dict[str, dict[str, list[tuple[float, float, float]]]] = {
                m: {"new": [], "redelivered": []} for m in modes
            }
            for i in range(batches + 1):  # batch 0 warms up (prepared statements, caches)
                envs = [filing(n < BATCH * closed) for n in range(BATCH)]
                for mode, (schema, apply) in modes.items():
                    async with pooled(pools[schema]) as conn:
                        new = await measure(conn, apply, envs)
                        again = await measure(conn, apply, envs)  # all already stored
                    if i:
                        results[mode]["new"].append(new)
                        results[mode]["redelivered"].append(again)
            print(
                f"{batches} batches of {BATCH} filings ({closed:.0%} with a closed outcome), "
                "medians in µs per filing"
            )
            print(
                f"{'mode':20} {'batch':12} {'client CPU':>11} {'server CPU':>11} "
                f"{'total CPU':>10} {'wall':>8}"
            )
            for mode, by_kind in results.items():
                for kind, samples in by_kind.items():
                    cl, sv, wl = (statistics.median(x[k] for x in samples) for k in range(3))
                    print(f"{mode:20} {kind:12} {cl:11.1f} {sv:11.1f} {cl + sv:10.1f} {wl:8.1f}")
        finally:
            for pool in pools.values():
                await pool.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--closed", type=float, default=0.0)
    import uvloop

    args = parser.parse_args()
    uvloop.run(main(args.batches, args.closed))
