"""``handle_batch`` on a real PostgreSQL: exactly the effect of ``handle`` on each event
in turn, checked table against table with a per-event reference projection beside it."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import asyncpg
import pytest

from services.kpi.consumer import handle, handle_batch
from services.kpi.deps import load_sla
from services.kpi.domain import cases as domain
from services.kpi.domain.asof import Scope
from services.kpi.reports import usecases as reports
from shared.batches import PoisonEvent, RefuseBatch
from shared.envelope_codec import from_record, to_record
from shared.events import ComplaintFiled, Envelope
from tests.unit.kpi import scenario


async def _tables(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], ...]:
    events = await pool.fetch("SELECT * FROM events ORDER BY complaint_id, version")
    cases = await pool.fetch("SELECT * FROM cases ORDER BY complaint_id")
    history = await pool.fetch(
        "SELECT * FROM case_intervals ORDER BY complaint_id, recorded_from, valid_from"
    )
    return [dict(r) for r in events], [dict(r) for r in cases], [dict(r) for r in history]


async def _summaries(pool: asyncpg.Pool) -> dict[tuple[int, str | None, str | None], Any]:
    out = {}
    for fy, prov, dist in scenario.EXPECTED:
        out[fy, prov, dist] = (await reports.summary(pool, Scope(fy, prov, dist), load_sla())).doc
    return out


def _as_consumed(env: Envelope, rng: random.Random) -> Envelope:
    """``env`` as the consumer gets it (decoded from a record), times maybe in +07:00."""
    if rng.random() < 0.5:
        bkk = domain.BANGKOK
        data = env.data
        if isinstance(data, ComplaintFiled):
            data = data.model_copy(update={"received_at": data.received_at.astimezone(bkk)})
        env = env.model_copy(
            update={
                "occurred_at": env.occurred_at.astimezone(bkk),
                "recorded_at": env.recorded_at.astimezone(bkk),
                "data": data,
            }
        )
    _key, headers, value = to_record(env)
    return from_record(headers, value)


def _arrivals(rng: random.Random, consumed: bool) -> list[Envelope]:
    """Every scenario event, some of them several times (re-published), shuffled."""
    envs = [e for es in scenario.build().values() for e in es]
    again = [
        e.model_copy(update={"event_id": uuid.uuid4()})
        for e in rng.choices(envs, k=rng.randint(0, 2 * len(envs)))
    ]
    order = envs + again
    rng.shuffle(order)
    return [_as_consumed(e, rng) for e in order] if consumed else order


async def test_batches_have_exactly_the_effect_of_events_one_by_one(
    pool: asyncpg.Pool, ref_pool: asyncpg.Pool
) -> None:
    rng = random.Random(2569)
    for trial in range(40):
        order = _arrivals(rng, consumed=trial % 2 == 1)
        largest = rng.choice([2, 5, 12, len(order)])
        i = 0
        while i < len(order):
            batch = order[i : i + rng.randint(1, largest)]
            i += len(batch)
            async with ref_pool.acquire() as conn, conn.transaction():
                for env in batch:
                    await handle(conn, env)
            async with pool.acquire() as conn, conn.transaction():
                await handle_batch(conn, batch)
            assert await _tables(pool) == await _tables(ref_pool), (trial, i)
        assert await _summaries(pool) == await _summaries(ref_pool) == scenario.EXPECTED
        # A replay of everything (the broker re-fed from the start) changes nothing.
        before = await _tables(pool)
        async with pool.acquire() as conn, conn.transaction():
            await handle_batch(conn, order)
        assert await _tables(pool) == before
        await pool.execute("TRUNCATE events, cases, case_intervals")
        await ref_pool.execute("TRUNCATE events, cases, case_intervals")


async def test_a_batch_with_an_impossible_event_raises_and_writes_nothing(
    pool: asyncpg.Pool,
) -> None:
    a = scenario.build()["A"]
    bad = a[1].model_copy(update={"version": 1})  # a transition claiming to be the filing
    async with pool.acquire() as conn:
        with pytest.raises(PoisonEvent):
            await handle_batch(conn, [a[0], bad, a[2]])
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_timestamps_json_cannot_carry_exactly_are_left_to_handle(
    pool: asyncpg.Pool, ref_pool: asyncpg.Pool
) -> None:
    a = scenario.build()["A"]
    lmt = dt.timezone(dt.timedelta(hours=6, minutes=42, seconds=4))  # Bangkok before 1920
    odd = a[1].model_copy(update={"occurred_at": a[1].occurred_at.astimezone(lmt)})
    naive = a[2].model_copy(update={"recorded_at": a[2].recorded_at.replace(tzinfo=None)})
    async with pool.acquire() as conn:
        for env in (odd, naive):
            with pytest.raises(RefuseBatch, match="per-event path"):
                await handle_batch(conn, [a[0], env])
    assert await pool.fetchval("SELECT count(*) FROM events") == 0
    # The per-event path (the consumer's fallback) stores them as they are.
    async with pool.acquire() as conn, conn.transaction():
        for env in (a[0], odd, naive):
            await handle(conn, env)
    assert await pool.fetchval("SELECT occurred_at FROM events WHERE version = 2") == (
        a[1].occurred_at
    )


async def test_an_empty_batch_does_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await handle_batch(conn, [])
    assert await _tables(pool) == ([], [], [])


def test_the_service_consumes_through_handle_batch() -> None:
    from services.kpi.main import create_app
    from shared.config import Settings

    runtime = create_app(Settings()).state.runtime
    assert runtime._handler is handle and runtime._batch_handler is handle_batch
