"""shared.batches on a real database: the batch path, its refusal, the per-event path's
savepoints, and everything else propagating with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.batches import PoisonEvent, RefuseBatch, apply_events
from shared.dbtypes import Conn


@pytest.fixture
async def conn(fresh_db: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(fresh_db)
    await c.execute("CREATE TABLE t (n int PRIMARY KEY)")
    yield c
    await c.close()


async def handle(conn: Conn, n: int) -> None:
    await conn.execute("INSERT INTO t VALUES ($1)", n)
    if n < 0:
        raise PoisonEvent(f"negative: {n}")  # after writing: its savepoint undoes it
    if n == 13:
        raise KeyError(n)


async def stored(conn: Conn) -> list[int]:
    return [r["n"] for r in await conn.fetch("SELECT n FROM t ORDER BY n")]


async def test_the_batch_path_when_it_can(conn: Conn) -> None:
    calls: list[list[int]] = []

    async def batch(conn: Conn, ns: list[int]) -> None:
        calls.append(ns)
        await conn.execute("INSERT INTO t SELECT unnest($1::int[])", ns)

    assert await apply_events(conn, [1, 2, 3], handle, batch) == []
    assert calls == [[1, 2, 3]]
    assert await stored(conn) == [1, 2, 3]


@pytest.mark.parametrize("refusal", [RefuseBatch("order matters"), PoisonEvent("some poison")])
async def test_a_refused_batch_is_undone_and_applied_one_by_one(
    conn: Conn, refusal: Exception
) -> None:
    async def batch(conn: Conn, ns: list[int]) -> None:
        await conn.execute("INSERT INTO t VALUES (100)")  # written, then refused
        raise refusal

    refused = await apply_events(conn, [1, -2, 3, -4], handle, batch)
    assert [(r.index, r.event, str(r.error)) for r in refused] == [
        (1, -2, "negative: -2"),
        (3, -4, "negative: -4"),
    ]
    assert await stored(conn) == [1, 3]


async def test_anything_else_propagates_and_nothing_is_written(conn: Conn) -> None:
    with pytest.raises(KeyError):
        await apply_events(conn, [1, 2, 13, 4], handle)

    async def batch(conn: Conn, ns: list[int]) -> None:
        await conn.execute("INSERT INTO t SELECT unnest($1::int[])", ns)
        await conn.execute("SELECT 1 / 0")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await apply_events(conn, [5, 6], handle, batch)
    assert await stored(conn) == []


async def test_inside_a_transaction_it_is_a_savepoint(conn: Conn) -> None:
    async with conn.transaction():
        await conn.execute("INSERT INTO t VALUES (0)")
        with pytest.raises(KeyError):
            await apply_events(conn, [1, 13], handle)
        assert await apply_events(conn, [2, -3], handle) != []
    assert await stored(conn) == [0, 2]
