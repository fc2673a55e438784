"""The batch handler on backfilled filings with outcomes: exactly ``handle`` one by one,
events, cases and outbox rows (same payloads, same publish order), in one statement.

Same two-schema set-up as test_batch (``ref`` by ``handle``, ``bat`` by ``handle_batch``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from services.status import consumer
from services.status.consumer import handle_batch
from shared.batches import RefuseBatch
from shared.events import Envelope
from shared.outbox import NOTIFY_CHANNEL
from tests.integration.status.test_batch import (  # noqa: F401  (dbs is a fixture)
    TOPIC,
    accepted,
    apply_batch,
    apply_one_by_one,
    assert_same,
    both,
    clock,
    dbs,
    filing,
    store_transition,
    with_outcome,
)

pytestmark = pytest.mark.integration

OUTCOMES: list[dict[str, object]] = [
    {"status": "closed", "closure_reason": "resolved", "reason": "แก้ไขแล้ว"},
    {"status": "closed", "closure_reason": "mediated"},
    {"status": "forwarded", "agency": "สำนักงานที่ดิน", "due_date": dt.date(2030, 1, 1)},
    {"status": "in_progress"},
    {"status": "accepted"},
    {"status": "rejected"},
    {"status": "rejected", "reason": "ซ้ำ"},
    {"status": "closed"},  # refused: no closure reason, opened at "filed"
]
VERSIONS = {"closed": 2, "forwarded": 4, "in_progress": 3, "accepted": 2, "rejected": 2}


def backfilled(
    n: int, complaint_id: uuid.UUID | None = None, *, event_id: uuid.UUID | None = None
) -> Envelope:
    """A filing (varied by ``n``) with the outcome OUTCOMES[n % len(OUTCOMES)]."""
    return with_outcome(filing(complaint_id, event_id=event_id, n=n), **OUTCOMES[n % len(OUTCOMES)])


def queued_versions(outbox: list[dict[str, object]]) -> dict[bytes, list[int]]:
    """ce_version of each queued record, per key, in publish order."""
    out: dict[bytes, list[int]] = {}
    for row in outbox:
        headers = dict(orjson.loads(row["headers"]))  # type: ignore[arg-type]
        out.setdefault(row["key"], []).append(int(headers["ce_version"]))  # type: ignore[arg-type]
    return out


async def test_mixed_batch_matches_handle(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    stored = [backfilled(n) for n in range(3)] + [filing(n=3)]
    await both(ref, bat, stored)
    moved_on = stored[3]
    await store_transition((ref, bat), moved_on, uuid.uuid4())
    taken_event = stored[1].event_id

    new = [backfilled(n) for n in range(10, 26)]  # every outcome twice
    plain = [filing(n=n) for n in range(30, 34)]
    envs = [
        plain[0],
        *new[:8],
        new[0],
        new[2],  # exact duplicates
        stored[0],
        stored[2],
        moved_on,  # redelivered, already stored
        backfilled(40, stored[1].complaint_id),  # stored case, another event id
        backfilled(42, event_id=taken_event),  # event id already stored
        accepted(new[1].complaint_id),  # a case.* event: skipped
        *plain[1:],
        *new[8:],
        new[15],
    ]
    refused_before = sum(consumer.OUTCOMES_REFUSED.values())
    await apply_one_by_one(ref, envs)
    refused_ref = sum(consumer.OUTCOMES_REFUSED.values()) - refused_before
    statements = await apply_batch(bat, envs)
    refused_bat = sum(consumer.OUTCOMES_REFUSED.values()) - refused_before - refused_ref
    assert len(statements) == 1
    assert refused_ref == refused_bat == 2  # new[7], new[15]: counted once each
    got = await assert_same(ref, bat)

    by_case = {c["complaint_id"]: c for c in got["cases"]}
    assert len(by_case) == 4 + 16 + 4
    for n, env in enumerate(new, start=10):
        status = OUTCOMES[n % len(OUTCOMES)]["status"]
        refused = "closure_reason" not in OUTCOMES[n % len(OUTCOMES)] and status == "closed"
        want = ("filed", 1) if refused else (status, VERSIONS[str(status)])
        case = by_case[env.complaint_id]
        assert (case["status"], case["version"]) == want
    assert (
        by_case[moved_on.complaint_id]["status"],
        by_case[moved_on.complaint_id]["version"],
    ) == ("accepted", 2)
    # 3 stored outcomes (1+1+3 events) + the transition, then 2 × (3+2+1+1+1+0+1+1) new.
    assert len(got["outbox"]) == 6 + 2 * 10
    versions = queued_versions(got["outbox"])
    fwd = next(e for n, e in enumerate(new, 10) if OUTCOMES[n % 8]["status"] == "forwarded")
    assert versions[str(fwd.complaint_id).encode()] == [2, 3, 4]

    # Redelivered: nothing changes, nothing more is queued, nothing counted again.
    refused_before = sum(consumer.OUTCOMES_REFUSED.values())
    await apply_one_by_one(ref, envs)
    assert len(await apply_batch(bat, envs)) == 1
    assert sum(consumer.OUTCOMES_REFUSED.values()) == refused_before
    assert await assert_same(ref, bat) == got


async def test_full_backfill_batch_is_one_statement(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    """2000 filings, 70% with a closed outcome, part of them already stored."""
    ref, bat = dbs
    envs = [
        with_outcome(filing(n=n), status="closed", closure_reason="resolved")
        if n % 10 < 7
        else filing(n=n)
        for n in range(2000)
    ]
    await both(ref, bat, envs[:500])
    assert len(await both(ref, bat, envs)) == 1
    got = await assert_same(ref, bat)
    assert len(got["cases"]) == 2000
    assert len(got["events"]) == 2000 + 1400
    assert len(got["outbox"]) == 1400
    assert len(await both(ref, bat, envs)) == 1
    assert await assert_same(ref, bat) == got


async def test_the_relay_is_woken(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    _ref, bat = dbs
    woken: asyncio.Queue[str] = asyncio.Queue()
    async with bat.acquire() as listener:

        def wake(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
            woken.put_nowait(str(payload))

        await listener.add_listener(NOTIFY_CHANNEL, wake)
        envs = [backfilled(0), filing(n=1)]
        await apply_batch(bat, envs)
        await asyncio.wait_for(woken.get(), 10)
        await apply_batch(bat, envs)  # nothing queued: no wake-up
        await apply_batch(bat, [filing(n=2)])
        await listener.execute(f"NOTIFY {NOTIFY_CHANNEL}, 'probe'")
        assert await asyncio.wait_for(woken.get(), 10) == "probe"
        await listener.remove_listener(NOTIFY_CHANNEL, wake)


async def test_random_backfill_batches_match_handle(dbs: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    ref, bat = dbs
    rng = random.Random(20261125)
    case_ids = [uuid.uuid4() for _ in range(40)]
    event_ids = [uuid.uuid4() for _ in range(40)]
    pool: list[Envelope] = []
    refused = 0
    for round_no in range(15):
        envs: list[Envelope] = []
        collide = round_no % 3 == 0  # else only fresh ids: the batch path takes them
        for n in range(rng.randint(1, 80)):
            roll = rng.random()
            if pool and roll < 0.15:
                envs.append(rng.choice(pool))  # redelivery
            elif roll < 0.2:
                envs.append(accepted(rng.choice(case_ids)))  # skipped
            else:
                cid = rng.choice(case_ids) if collide and rng.random() < 0.5 else None
                eid = rng.choice(event_ids) if collide and rng.random() < 0.2 else None
                k = round_no * 100 + n
                env = (
                    backfilled(k, cid, event_id=eid)
                    if rng.random() < 0.7
                    else filing(cid, event_id=eid, n=k)
                )
                pool.append(env)
                envs.append(env)
        await apply_one_by_one(ref, envs)
        try:
            async with bat.acquire() as conn, conn.transaction():
                await handle_batch(conn, envs, topic=TOPIC, clock=clock)
        except RefuseBatch:
            refused += 1
            await apply_one_by_one(bat, envs)
        await assert_same(ref, bat)
    assert 0 < refused < 15  # both paths were exercised
