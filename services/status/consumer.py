"""The status service's event handlers: every ``ComplaintFiled`` opens a case.

Both run inside the EventConsumer's per-batch transaction (which also stores the offset).
Idempotent: a redelivered or duplicate filing finds version 1 already stored and changes
nothing.  ``case.*`` events are this service's own, already stored when they were decided,
so they are skipped.

``handle_batch`` is the fast path for a whole partition batch: it has exactly the effect
of ``handle`` on each event in turn, in one statement (two when the batch holds different
filings claiming one case id or one event id).  On anything unusual it raises, and the
consumer redoes the batch event by event with ``handle``, which dead-letters the culprits.
"""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from services.status.domain import CaseState, evolve
from services.status.store import create_case, create_cases, stored_first_events
from shared.consumer import PoisonEvent
from shared.events import ComplaintFiled, Envelope

log = structlog.get_logger()


async def handle(conn: asyncpg.Connection, env: Envelope) -> None:
    if not isinstance(env.data, ComplaintFiled):
        return
    try:
        state = evolve(None, env)
    except ValueError as exc:
        # A filing that is not version 1 can never become a case: dead-letter it.
        raise PoisonEvent(str(exc)) from exc
    created = await create_case(conn, env, state)
    log.debug("status.case_filed" if created else "status.filing_duplicate",
              complaint_id=str(env.complaint_id), event_id=str(env.event_id))


class BatchRefused(Exception):
    """The batch cannot be applied as a whole; the consumer retries it event by event."""


async def handle_batch(conn: asyncpg.Connection, envelopes: list[Envelope]) -> None:
    """``handle`` for every event of ``envelopes`` in turn, in one or two statements.

    Raises (before writing anything) if a filing is not version 1, so that the consumer's
    careful per-event path dead-letters it; raises BatchRefused if a concurrent writer
    stored one of the filings meanwhile (the batch's transaction is then rolled back).
    """
    filings: list[tuple[Envelope, CaseState]] = []
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for env in envelopes:
        if not isinstance(env.data, ComplaintFiled):
            continue
        state = evolve(None, env)  # ValueError unless version 1: leave it to ``handle``
        key = (env.complaint_id, env.event_id)
        # A later copy of the same (case, event id) can never be stored: drop it.
        if key not in seen:
            seen.add(key)
            filings.append((env, state))
    if not filings:
        return
    if (len({env.complaint_id for env, _ in filings}) == len(filings)
            and len({env.event_id for env, _ in filings}) == len(filings)):
        # No filing can take a key another one needs: each is stored exactly when its
        # case and event id are not stored yet, which is what ON CONFLICT DO NOTHING does.
        created = await create_cases(conn, filings)
    else:
        # Different filings share a case id or an event id: which one ``handle`` would
        # store depends on what is stored already, so look that up and replay in order.
        cases, events = await stored_first_events(
            conn, [env.complaint_id for env, _ in filings], [env.event_id for env, _ in filings]
        )
        winners: list[tuple[Envelope, CaseState]] = []
        for env, state in filings:
            if env.complaint_id not in cases and env.event_id not in events:
                cases.add(env.complaint_id)
                events.add(env.event_id)
                winners.append((env, state))
        created = await create_cases(conn, winners)
        if created != len(winners):
            raise BatchRefused(f"{len(winners) - created} filings were stored concurrently")
    log.debug("status.filings_applied", events=len(envelopes), filings=len(filings),
              created=created)
