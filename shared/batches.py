"""Apply events to a projection: the whole batch at once when possible, else one by one.

The one contract shared by the live consumers (``shared.consumer``) and ``kpi rebuild``:

* a **batch handler** applies a list of events in a few statements with exactly the effect
  of the per-event handler on each in turn.  When it cannot (order matters within the
  batch, a concurrent writer, a value its statements cannot carry, an impossible event to
  isolate) it raises ``RefuseBatch`` or ``PoisonEvent``; what it wrote is rolled back and
  the batch is applied one by one;
* the **per-event handler** applies one event; it raises ``PoisonEvent`` for an event that
  can never apply (it must not have written anything, and its savepoint is rolled back in
  any case), which ``apply_events`` reports and skips.

Any other exception propagates unchanged, with the transaction rolled back: a transient
fault (``shared.faults.is_transient``) for the caller to retry on a fresh connection, or a
bug for it to stop on.  Neither ever turns into a refused event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import structlog

log = structlog.get_logger()

E = TypeVar("E")


class PoisonEvent(Exception):
    """The handler refuses this event for good (it must not have written anything)."""


class RefuseBatch(Exception):
    """The batch handler cannot apply this batch as a whole: apply it event by event."""


Handler = Callable[[asyncpg.Connection, E], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[E]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Refused(Generic[E]):
    """An event the per-event handler refused, with its position in the batch."""

    index: int
    event: E
    error: PoisonEvent


async def apply_events(conn: asyncpg.Connection, events: Sequence[E], handle: Handler[E],
                       handle_batch: BatchHandler[E] | None = None) -> list[Refused[E]]:
    """Apply ``events`` in order, in one transaction (a savepoint if ``conn`` is already in
    one); return those refused as ``PoisonEvent``, in order.

    ``handle_batch`` first, in a savepoint; on ``RefuseBatch`` or ``PoisonEvent`` it is
    rolled back and ``handle`` runs on each event in a savepoint of its own.  Anything else
    raised by either handler propagates (see the module docstring).
    """
    if not events:
        return []
    async with conn.transaction():
        if handle_batch is not None:
            try:
                async with conn.transaction():
                    await handle_batch(conn, list(events))
                return []
            except (RefuseBatch, PoisonEvent) as exc:
                log.info("batch.refused", events=len(events), reason=str(exc)[:200])
        refused: list[Refused[E]] = []
        for i, event in enumerate(events):
            try:
                async with conn.transaction():
                    await handle(conn, event)
            except PoisonEvent as exc:
                refused.append(Refused(i, event, exc))
        return refused
