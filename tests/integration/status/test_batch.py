"""The consumer's batch handler against PostgreSQL: exactly ``handle`` on each event in turn.

Each test applies the same events to two copies of the status schema in one database:
``ref`` one by one with ``handle`` (the reference), ``bat`` with ``handle_batch``, and
then compares every row of ``events`` and ``cases`` and the ``outbox`` rows in id order.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.status import consumer
from services.status.consumer import handle, handle_batch
from services.status.domain import evolve
from services.status.main import MIGRATIONS, create_app
from services.status.store import append_event
from shared.batches import PoisonEvent, RefuseBatch
from shared.codes import CategoryCode, ChannelCode
from shared.config import Settings
from shared.db import create_pool, migrate
from shared.events import BackfilledOutcome, CaseAccepted, ComplaintFiled, Envelope
from tests.unit.status.factories import T0, filed

pytestmark = pytest.mark.integration

TOPIC = "complaints.events.batch"
RECORDED = T0 + dt.timedelta(days=400)  # the recording time of backfilled outcome events


def clock() -> dt.datetime:
    return RECORDED


@pytest.fixture
async def dbs(fresh_db: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """(reference, batched): two migrated status schemas in one fresh database."""
    pools = []
    try:
        for schema in ("ref", "bat"):
            pool = await create_pool(fresh_db, schema, max_size=2)
            pools.append(pool)
            await migrate(pool, schema, MIGRATIONS)
        yield pools[0], pools[1]
    finally:
        for pool in pools:
            await pool.close()


def filing(
    complaint_id: uuid.UUID | None = None,
    *,
    event_id: uuid.UUID | None = None,
    version: int = 1,
    n: int = 0,
) -> Envelope:
    """A ComplaintFiled whose fields vary with ``n`` (nulls, enums, non-ASCII text)."""
    env = filed(complaint_id, version=version, event_id=event_id, at=T0 + dt.timedelta(minutes=n))
    data = env.data
    assert isinstance(data, ComplaintFiled)
    channels, categories = list(ChannelCode), list(CategoryCode)
    data = data.model_copy(
        update={
            "tracking_no": f"{data.tracking_no}-ทดสอบ" if n % 3 == 0 else data.tracking_no,
            "channel": channels[n % len(channels)],
            "category": categories[n % len(categories)],
            "subdistrict_code": None if n % 2 else "100101",
            "anonymous": n % 4 == 0,
            "backfilled": n % 5 == 0,
        }
    )
    return env.model_copy(
        update={
            "data": data,
            "correlation_id": None if n % 2 else f"corr-{n}",
        }
    )


def accepted(complaint_id: uuid.UUID, *, event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        complaint_id=complaint_id,
        version=2,
        source="/damrong/status",
        occurred_at=T0 + dt.timedelta(hours=1),
        recorded_at=T0 + dt.timedelta(hours=1),
        data=CaseAccepted(actor="officer-1"),
    )


async def apply_one_by_one(pool: asyncpg.Pool, envs: list[Envelope]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for env in envs:
            await handle(conn, env, topic=TOPIC, clock=clock)


async def apply_batch(pool: asyncpg.Pool, envs: list[Envelope]) -> list[str]:
    """Apply ``envs`` with ``handle_batch``; return the SQL statements it ran."""
    queries: list[str] = []
    async with pool.acquire() as conn:

        def record(q: Any) -> None:
            queries.append(q.query)

        conn.add_query_logger(record)
        try:
            async with conn.transaction():
                await handle_batch(conn, envs, topic=TOPIC, clock=clock)
        finally:
            conn.remove_query_logger(record)
    return [q for q in queries if q not in ("BEGIN;", "COMMIT;", "ROLLBACK;")]


async def both(ref: asyncpg.Pool, bat: asyncpg.Pool, envs: list[Envelope]) -> list[str]:
    await apply_one_by_one(ref, envs)
    return await apply_batch(bat, envs)


async def rows(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    events = await pool.fetch(
        "SELECT *, data::text AS data_text FROM events ORDER BY complaint_id, version"
    )
    cases = await pool.fetch("SELECT * FROM cases ORDER BY complaint_id")
    # In publish order; ids themselves differ between the schemas' sequences.
    queued = await pool.fetch("SELECT topic, key, headers::text, value FROM outbox ORDER BY id")
    return {
        "events": [dict(r) for r in events],
        "cases": [dict(r) for r in cases],
        "outbox": [dict(r) for r in queued],
    }


async def assert_same(ref: asyncpg.Pool, bat: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    expected, got = await rows(ref), await rows(bat)
    assert got["events"] == expected["events"]
    assert got["cases"] == expected["cases"]
    assert got["outbox"] == expected["outbox"]
    return got


async def store_transition(
    pools: tuple[asyncpg.Pool, ...], env1: Envelope, event_id: uuid.UUID
) -> None:
    env2 = accepted(env1.complaint_id, event_id=event_id)
    state = evolve(evolve(None, env1), env2)
    for pool in pools:
        async with pool.acquire() as conn, conn.transaction():
            await append_event(conn, env2, state, TOPIC)


async def test_batch_matches_handle_one_by_one(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    stored = [filing(n=n) for n in range(6)]
    await both(ref, bat, stored)
    moved_on = stored[0]  # a case that is past version 1 by now
    transition_id = uuid.uuid4()
    await store_transition((ref, bat), moved_on, transition_id)

    new = [filing(n=n) for n in range(10, 30)]
    envs = [
        *new[:10],
        new[0],
        new[3],  # exact duplicates inside the batch
        stored[1],
        stored[2],
        moved_on,  # redelivered, already stored
        accepted(new[1].complaint_id),  # a case.* event: skipped
        *new[10:],
        new[19],
        stored[1],
    ]
    statements = await both(ref, bat, envs)
    assert len(statements) == 1
    got = await assert_same(ref, bat)
    assert len(got["cases"]) == 26 and len(got["events"]) == 27
    moved = next(c for c in got["cases"] if c["complaint_id"] == moved_on.complaint_id)
    assert (moved["status"], moved["version"]) == ("accepted", 2)
    # Applying the same batch again changes nothing.
    assert len(await both(ref, bat, envs)) == 1
    assert await assert_same(ref, bat) == got


async def test_competing_filings_match_handle(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    """Different filings claiming one case id or one event id: the first storable one wins."""
    ref, bat = dbs
    stored = [filing(n=n) for n in range(4)]
    await both(ref, bat, stored)
    transition_id = uuid.uuid4()
    await store_transition((ref, bat), stored[0], transition_id)

    x, y, z, w = (uuid.uuid4() for _ in range(4))
    e1, e2, e3 = (uuid.uuid4() for _ in range(3))
    envs = [
        filing(n=1),
        filing(x, n=2),
        filing(x, n=3),  # new case claimed twice
        filing(stored[1].complaint_id, n=4),  # stored case, new event id
        filing(stored[2].complaint_id, event_id=e1, n=5),  # fails (case stored), so
        filing(y, event_id=e1, n=6),  # e1 is free for y,
        filing(y, event_id=e2, n=7),  # and y is taken here
        filing(z, event_id=stored[3].event_id, n=8),  # event id already stored
        filing(z, event_id=transition_id, n=9),  # ... by a transition
        filing(z, n=10),  # z finally filed
        filing(w, event_id=e3, n=11),
        filing(uuid.uuid4(), event_id=e3, n=12),
        stored[3],
    ]
    statements = await both(ref, bat, envs)
    assert len(statements) == 2
    got = await assert_same(ref, bat)
    by_case = {c["complaint_id"]: c for c in got["cases"]}
    assert by_case[x]["tracking_no"] == envs[1].data.tracking_no  # type: ignore[union-attr]
    assert by_case[y]["tracking_no"] == envs[5].data.tracking_no  # type: ignore[union-attr]
    assert by_case[z]["tracking_no"] == envs[9].data.tracking_no  # type: ignore[union-attr]
    assert w in by_case and len(by_case) == 4 + 5


async def test_random_batches_match_handle(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    """Batches drawn from small pools of ids, so that every kind of collision occurs."""
    ref, bat = dbs
    rng = random.Random(20251103)
    case_ids = [uuid.uuid4() for _ in range(25)]
    event_ids = [uuid.uuid4() for _ in range(25)]
    pool: list[Envelope] = []
    for round_no in range(12):
        envs: list[Envelope] = []
        for n in range(rng.randint(1, 60)):
            roll = rng.random()
            if pool and roll < 0.2:
                envs.append(rng.choice(pool))  # redelivery
            elif roll < 0.25:
                envs.append(accepted(rng.choice(case_ids)))  # skipped
            else:
                cid = rng.choice(case_ids) if rng.random() < 0.7 else uuid.uuid4()
                eid = rng.choice(event_ids) if rng.random() < 0.3 else None
                env = filing(cid, event_id=eid, n=round_no * 100 + n)
                pool.append(env)
                envs.append(env)
        await both(ref, bat, envs)
        await assert_same(ref, bat)


async def test_full_batch_is_one_statement(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    first = [filing(n=n) for n in range(1000)]
    await both(ref, bat, first[:300])
    envs = first + first[100:1000:3] + [filing(n=n) for n in range(1000, 1700)]
    assert len(envs) == 2000
    assert len(await both(ref, bat, envs)) == 1
    got = await assert_same(ref, bat)
    assert len(got["cases"]) == len(got["events"]) == 1700


async def test_bad_filing_raises_before_writing(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    """A filing that is not version 1 refuses the whole batch: the consumer then redoes it
    event by event, where ``handle`` dead-letters just that one (see test_service)."""
    _ref, bat = dbs
    envs = [filing(n=1), filing(n=2, version=2), filing(n=3)]
    async with bat.acquire() as conn:
        with pytest.raises(PoisonEvent, match="version 1"):
            await handle_batch(
                conn, envs, topic=TOPIC
            )  # no transaction: nothing may have been written
    assert await bat.fetchval("SELECT count(*) FROM events") == 0
    assert await bat.fetchval("SELECT count(*) FROM cases") == 0


async def test_nothing_to_do(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    assert await both(ref, bat, []) == []
    assert await both(ref, bat, [accepted(uuid.uuid4())]) == []
    await assert_same(ref, bat)


def test_service_wires_the_batch_handler() -> None:
    app = create_app(Settings())
    runtime = app.state.runtime
    handler, batch_handler = runtime._handler, runtime._batch_handler
    assert (handler.func, batch_handler.func) == (consumer.handle, consumer.handle_batch)
    assert handler.keywords == batch_handler.keywords == {"topic": Settings().events_topic}


def with_outcome(env: Envelope, **outcome: Any) -> Envelope:
    data = env.data
    assert isinstance(data, ComplaintFiled)
    at = data.received_at + dt.timedelta(days=9)
    data = data.model_copy(
        update={"backfilled": True, "outcome": BackfilledOutcome(**{"at": at, **outcome})}
    )
    return env.model_copy(update={"data": data})


async def test_outcomes_in_a_batch_match_handle(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    closed = with_outcome(filing(n=1), status="closed", closure_reason="resolved")
    fwd = with_outcome(filing(n=2), status="forwarded", agency="X", due_date=dt.date(2030, 1, 1))
    refused = with_outcome(filing(n=3), status="closed")  # no closure reason
    envs = [filing(n=4), closed, fwd, refused, closed, filing(n=5), fwd]
    await both(ref, bat, envs)
    got = await assert_same(ref, bat)
    versions = {c["complaint_id"]: (c["status"], c["version"]) for c in got["cases"]}
    assert versions[closed.complaint_id] == ("closed", 2)
    assert versions[fwd.complaint_id] == ("forwarded", 4)
    assert versions[refused.complaint_id] == ("filed", 1)
    assert len(got["events"]) == 5 + 1 + 3
    assert all(e["recorded_at"] == RECORDED for e in got["events"] if e["version"] > 1)
    for pool in (ref, bat):  # the outcome events, once each, on the outbox
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 4
    # Redelivered: nothing changes, nothing more is queued.
    await both(ref, bat, envs)
    assert await assert_same(ref, bat) == got
    assert await bat.fetchval("SELECT count(*) FROM outbox") == 4


async def test_outcome_sharing_a_case_refuses_the_batch(
    dbs: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    _ref, bat = dbs
    plain = filing(n=1)
    rival = with_outcome(filing(plain.complaint_id, n=2), status="accepted")
    async with bat.acquire() as conn, conn.transaction():
        with pytest.raises(RefuseBatch):
            await handle_batch(conn, [rival, plain], topic=TOPIC, clock=clock)
