"""Each report computed once per state of the projection, however many ask for it.

A morning's national and provincial dashboards ask kpi the same few questions again and
again, and each answer scans every case of a fiscal year.  The projection changes only
when the consumer commits a batch, and every such transaction also moves the stored
offsets (``consumer_offsets``); a rebuild swaps in a new schema, whose tables are new
objects.  So the table's identity plus every stored offset names a state of the
projection, and an answer computed while that *position* stayed the same is the plain
query's answer for it: it is kept under the position and given to whoever asks the same
question while the position holds.

* The position is read before and after computing; an answer is kept only when both
  reads agree, so a kept answer never mixes two states (the report's statements ran
  between them, seeing one committed state).  Under a steady stream of events most
  answers are not kept, and each request computes its own, as without this.
* Requests for a question already being computed wait for that computation instead of
  starting another (its answer is no older than the wait).  A requester that goes away
  does not cancel it for the others.
* At most ``size`` answers are kept, least recently used first out; ``size`` 0 turns it
  all off (``KPI_ANSWER_CACHE=0``, what the benchmarks compare against).
* A failed computation is not kept: every waiter gets its error (a database away is a
  503 to each, as without this).

A dict in insertion order is the whole LRU; no library here does the single flight over
asyncio tasks, which is the part that matters under load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

import asyncpg
from fastapi import Response
from pydantic import BaseModel

from shared.dbtypes import Conn

T = TypeVar("T")

POSITION = """
SELECT to_regclass('consumer_offsets')::oid::bigint AS tables,
       coalesce(array_agg(ROW(group_id, topic, partition, epoch, next_offset)::text
                          ORDER BY group_id, topic, partition), '{}') AS offsets
  FROM consumer_offsets"""


async def position(pool: asyncpg.Pool) -> Hashable:
    """Which state of the projection the database holds now (see the module docstring)."""
    row = await pool.fetchrow(POSITION)
    assert row is not None  # an aggregate always answers one row
    return row["tables"], tuple(row["offsets"])


class Answers:
    """Answers by question, for the position they were computed at."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, asyncio.Task[Any]] = {}
        self.hits = 0
        self.computed = 0

    async def get(
        self,
        question: Hashable,
        compute: Callable[[], Awaitable[T]],
        where: Callable[[], Awaitable[Hashable]],
    ) -> T:
        """The answer to ``question`` by ``compute()``, at the position ``where()`` tells."""
        if self.size <= 0:
            return await compute()
        before = await where()
        key = (question, before)
        if key in self._kept:
            self._kept.move_to_end(key)
            self.hits += 1
            return cast(T, self._kept[key])
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(self._compute(key, compute, where))
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return cast(T, await asyncio.shield(task))

    def _finished(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        self._running.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter went away

    async def _compute(
        self,
        key: tuple[Hashable, Hashable],
        compute: Callable[[], Awaitable[T]],
        where: Callable[[], Awaitable[Hashable]],
    ) -> T:
        answer = await compute()
        self.computed += 1
        if await where() == key[1]:
            self._kept[key] = answer
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return answer


@dataclass(frozen=True, slots=True)
class Rendered:
    """An HTTP answer as bytes, kept instead of the report it was made from: a national
    report names every district, and rendering it again for each viewer cost more than
    computing it once."""

    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, response: Response) -> Rendered:
        """A response built in full (a CSV download), as it would be sent."""
        headers = tuple((k, v) for k, v in response.headers.items() if k != "content-length")
        return cls(bytes(response.body), response.media_type or "", headers)

    @classmethod
    def json(cls, model: BaseModel) -> Rendered:
        return cls(model.model_dump_json().encode(), "application/json")

    def response(self) -> Response:
        return Response(self.body, media_type=self.media_type, headers=dict(self.headers))


# Connections one answer reads with at most: its statements that do not need each other's
# results run side by side, one per connection (a national recording report's lag and
# weeks, each a scan of a fiscal year).  Two, for the two cores a small server has: more
# statements than cores only take turns.
WIDTH = 2


class Snapshot:
    """The connections of one answer, all in one repeatable-read snapshot: each statement
    runs on whichever of them is free, so statements started together run side by side
    and every one of them counts the same state of the projection."""

    def __init__(self, conns: Sequence[Conn]) -> None:
        self._free: asyncio.Queue[Conn] = asyncio.Queue()
        for conn in conns:
            self._free.put_nowait(conn)

    async def _on_free(self, method: str, query: str, *args: Any) -> Any:
        conn = await self._free.get()
        try:
            return await getattr(conn, method)(query, *args)
        finally:
            self._free.put_nowait(conn)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return cast(list[asyncpg.Record], await self._on_free("fetch", query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return cast(asyncpg.Record | None, await self._on_free("fetchrow", query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._on_free("fetchval", query, *args)


def _unused(pool: asyncpg.Pool) -> int:
    """How many connections the pool lends now without waiting: its idle ones and those
    it may still open."""
    return pool.get_max_size() - (pool.get_size() - pool.get_idle_size())


@contextlib.asynccontextmanager
async def snapshot(pool: asyncpg.Pool, width: int = WIDTH) -> AsyncIterator[Snapshot]:
    """Up to ``width`` connections in one read-only, repeatable-read snapshot for one
    answer.

    A report of several statements (the districts table, the monthly report, recording,
    the dashboard's five) then counts one state of the projection: a batch applied
    between two of its statements would otherwise put two states in one answer.  The
    first connection's transaction exports its snapshot and the others adopt it
    (``SET TRANSACTION SNAPSHOT``, as parallel ``pg_dump`` does).  The state ``answer``
    keeps it for is read around it: equal before and after, it is the snapshot's.

    Only connections the pool lends at once join: a busy pool answers each question on
    one connection rather than have answers wait on one another for a second (which,
    with every connection held by an answer waiting for another, would never come).
    """
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(pool.acquire())
        await stack.enter_async_context(
            first.transaction(isolation="repeatable_read", readonly=True)
        )
        conns = [first]
        if width > 1 and _unused(pool) > 0:
            exported = await first.fetchval("SELECT pg_export_snapshot()")
            while len(conns) < width and _unused(pool) > 0:
                conn = await stack.enter_async_context(pool.acquire())
                await stack.enter_async_context(
                    conn.transaction(isolation="repeatable_read", readonly=True)
                )
                # A statement takes no parameter here; the identifier is the server's own.
                await conn.execute(f"SET TRANSACTION SNAPSHOT '{exported}'")
                conns.append(conn)
        yield Snapshot(conns)


async def answer(
    kept: Answers,
    pool: asyncpg.Pool,
    question: Hashable,
    render: Callable[[], Awaitable[Rendered]],
) -> Response:
    """``render()``'s answer to ``question``, kept for the projection's state."""
    done = await kept.get(question, render, partial(position, pool))
    return done.response()
