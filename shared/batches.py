"""Apply events to a projection: the whole batch at once when possible, else one by one.

The one contract shared by the live consumers (``shared.consumer``) and ``kpi rebuild``:

* a **batch handler** applies a list of events in a few statements with exactly the effect
  of the per-event handler on each in turn.  When it cannot (order matters within the
  batch, a concurrent writer, a value its statements cannot carry, an impossible event to
  isolate) it raises ``RefuseBatch`` or ``PoisonEvent``; what it wrote is rolled back and
  the batch is applied one by one;
* the **per-event handler** applies one event; it raises ``PoisonEvent`` for an event that
  can never apply, which ``apply_events`` reports and skips (its savepoint is rolled back:
  whatever it wrote is undone).

Any other exception propagates unchanged, with the transaction rolled back (on cancellation
by ending the connection's session: ``atomic``): a transient
fault (``shared.faults.is_transient``) for the caller to retry on a fresh connection
(``retry_on_fresh_connection`` does, without limit; ``pooled`` gives a connection that is
discarded on failure), or a bug for it to stop on.  Neither ever turns into a refused
event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import structlog

from shared.db import retry_transient
from shared.dbtypes import Conn
from shared.faults import Backoff

log = structlog.get_logger()

E = TypeVar("E")
T = TypeVar("T")


class PoisonEvent(Exception):
    """The handler refuses this event for good: it can never apply, whenever retried."""


class RefuseBatch(Exception):
    """The batch handler cannot apply this batch as a whole: apply it event by event."""


Handler = Callable[[Conn, E], Awaitable[None]]
BatchHandler = Callable[[Conn, list[E]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Refused(Generic[E]):
    """An event the per-event handler refused, with its position in the batch."""

    index: int
    event: E
    error: PoisonEvent


async def apply_events(
    conn: Conn,
    events: Sequence[E],
    handle: Handler[E],
    handle_batch: BatchHandler[E] | None = None,
) -> list[Refused[E]]:
    """Apply ``events`` in order, in one transaction (a savepoint if ``conn`` is already in
    one); return those refused as ``PoisonEvent``, in order.

    ``handle_batch`` first, in a savepoint; on ``RefuseBatch`` or ``PoisonEvent`` it is
    rolled back and ``handle`` runs on each event in a savepoint of its own.  Anything else
    raised by either handler propagates (see the module docstring).
    """
    if not events:
        return []
    async with atomic(conn):
        if handle_batch is not None:
            try:
                async with atomic(conn):
                    await handle_batch(conn, list(events))
                return []
            except (RefuseBatch, PoisonEvent) as exc:
                log.info("batch.refused", events=len(events), reason=str(exc)[:200])
        refused: list[Refused[E]] = []
        for i, event in enumerate(events):
            try:
                async with atomic(conn):
                    await handle(conn, event)
            except PoisonEvent as exc:
                refused.append(Refused(i, event, exc))
        return refused


@contextlib.asynccontextmanager
async def atomic(conn: Conn) -> AsyncIterator[None]:
    """``conn.transaction()`` (a savepoint inside one), except when the block is cancelled or
    a statement timed out: the connection is then terminated, which rolls everything back
    on the server.  After a cancelled statement asyncpg makes the next one (the ROLLBACK)
    wait until the server acknowledges the cancellation, and over a half-open connection
    that was seen never to happen, leaving a consumer stuck for good past its deadline.
    The caller discards such a connection anyway (``pooled``)."""
    tx = conn.transaction()
    await tx.start()
    try:
        yield
    except (asyncio.CancelledError, TimeoutError):
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        raise
    except BaseException:
        await tx.rollback()
        raise
    await tx.commit()


@contextlib.asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    """A connection of ``pool``, terminated instead of returned for reuse if the block
    raises (or is cancelled): the failure may have left it mid-operation or its server
    gone, and reused it would fail the next caller too ("cannot switch to state ...;
    another operation is in progress")."""
    proxy = await pool.acquire()
    try:
        yield proxy
    except BaseException:
        # Already gone if the server closed it: the pool then took it back by itself.
        with contextlib.suppress(asyncpg.InterfaceError):
            proxy.terminate()
        raise
    finally:
        await pool.release(proxy)


async def retry_on_fresh_connection(
    pool: asyncpg.Pool,
    work: Callable[[Conn], Awaitable[T]],
    *,
    retried: Callable[[Exception], None] | None = None,
    what: str = "batch",
    **context: object,
) -> T:
    """``work`` on a connection of ``pool`` (``pooled``) until it returns, however long the
    fault lasts: ``shared.db.retry_transient`` without a limit, each attempt on another
    connection.  ``work`` must be one transaction, or otherwise safe to run again."""

    async def once() -> T:
        async with pooled(pool) as conn:
            return await work(conn)

    return await retry_transient(
        once, what=what, attempts=None, backoff=Backoff(first=0.2), retried=retried, **context
    )
