"""intake's consumer of ``complaints.events``: folds each event into the public view.

Runs inside the EventConsumer's per-batch transaction (which also stores the offset).
``handle_batch`` applies a whole batch in three statements; ``handle`` is the same on one
event.  Both are idempotent by ``(complaint_id, version)`` and independent of order (the
case row is recomputed from its history), so redeliveries, re-feeds and the batch/per-
event split change nothing.  Kinds the public view does not use are skipped.
"""

from __future__ import annotations

import structlog

from services.intake.tracking import store
from services.intake.tracking.domain.view import filed_facts, public_entry
from shared.dbtypes import Conn
from shared.events import Envelope

log = structlog.get_logger()


async def handle_batch(conn: Conn, envelopes: list[Envelope]) -> None:
    filings = [f for env in envelopes if (f := filed_facts(env)) is not None]
    entries = [e for env in envelopes if (e := public_entry(env)) is not None]
    await store.apply(conn, filings, entries)
    log.debug(
        "tracking.events_applied",
        events=len(envelopes),
        filings=len(filings),
        entries=len(entries),
        skipped=len(envelopes) - len(entries),
    )


async def handle(conn: Conn, env: Envelope) -> None:
    await handle_batch(conn, [env])
