"""The kpi event handler: every event of the topic into ``events`` and ``cases``.

Runs inside the EventConsumer's per-batch transaction (which also stores the offset),
so a replay or duplicate finds its ``(complaint_id, version)`` already stored and
changes nothing.  In-order events cost one statement; an event that closes a gap left
by out-of-order arrival (a broker re-feed from two publishers) also folds the waiting
later versions in.
"""

from __future__ import annotations

import asyncpg

from services.kpi import domain, store
from shared.consumer import PoisonEvent
from shared.events import Envelope


async def handle(conn: asyncpg.Connection, env: Envelope) -> None:
    """Store ``env`` and apply it to its case when (and once) it is the next version.

    Raises PoisonEvent, before writing anything, for an event that could never apply.
    """
    fact = domain.Fact.of(env)
    try:
        domain.check(fact)
    except domain.InvalidEvent as exc:
        raise PoisonEvent(str(exc)) from exc
    if await store.record(conn, fact):
        await store.catch_up(conn, fact.complaint_id)
