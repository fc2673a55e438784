"""The status service's event handler: every ``ComplaintFiled`` opens a case.

Runs inside the EventConsumer's per-batch transaction (which also stores the offset).
Idempotent: a redelivered or duplicate filing finds version 1 already stored and changes
nothing.  ``case.*`` events are this service's own, already stored when they were decided,
so they are skipped.
"""

from __future__ import annotations

import asyncpg
import structlog

from services.status.domain import evolve
from services.status.store import create_case
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
