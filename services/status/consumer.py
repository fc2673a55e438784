"""The status service's event handlers: every ``ComplaintFiled`` opens a case.

Both run inside the EventConsumer's per-batch transaction (which also stores the offset).
Idempotent: a redelivered or duplicate filing finds version 1 already stored and changes
nothing.  ``case.*`` events are this service's own, already stored when they were decided,
so they are skipped.

A backfilled filing carrying an ``outcome`` also gets the events that bring its case to that
outcome (``domain.outcomes``), dated the outcome's original date, appended and queued on the
outbox (so kpi sees them) in the same transaction, and only when the case is new.  An outcome
the state machine refuses (say a closure without a closure reason) must not lose a valid
filing, nor invent what the register did not say: the case is opened at ``filed`` and the
refusal is logged as ``status.backfill_outcome_refused`` and counted in
``OUTCOMES_REFUSED``, for the district to correct through the normal transitions.

``handle_batch`` is the fast path for a whole partition batch: it has exactly the effect
of ``handle`` on each event in turn, storing the filings without outcome in one statement
(two when the batch holds different filings claiming one case id or one event id), and a
batch with outcomes (a backfill import) in one statement too: filings, outcome events,
final case rows and outbox rows of the cases it creates (``backfill.store``).  When it
cannot, it raises ``RefuseBatch`` (or ``PoisonEvent`` for an impossible filing) and the
consumer redoes the batch event by event with ``handle`` (``shared.batches``), which
dead-letters just the impossible ones.

Both take the ``topic`` of the outbox as a keyword (bind it with ``functools.partial``) and
a ``clock`` for the outcome events' ``recorded_at`` (tests pin it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable

import asyncpg
import structlog

from services.status.backfill.store import Opening, open_cases
from services.status.domain import CaseState, DomainError, evolve
from services.status.domain.outcomes import outcome_events
from services.status.store import append_event, create_case, create_cases, stored_first_events
from services.status.usecases import SOURCE
from shared.batches import PoisonEvent, RefuseBatch
from shared.dbtypes import Conn
from shared.events import ComplaintFiled, Envelope

log = structlog.get_logger()

# Refused backfilled outcomes by outcome status, since the process started.
OUTCOMES_REFUSED: Counter[str] = Counter()
Clock = Callable[[], dt.datetime]


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _outcome(env: Envelope, now: dt.datetime) -> list[tuple[Envelope, CaseState]]:
    """The backfilled outcome's events, or [] (logged and counted) if they are refused."""
    try:
        return outcome_events(env, now, source=SOURCE)
    except DomainError as exc:
        _refused(env, exc)
        return []


def _refused(env: Envelope, exc: DomainError) -> None:
    status = env.data.outcome.status  # type: ignore[union-attr]
    OUTCOMES_REFUSED[status] += 1
    log.warning(
        "status.backfill_outcome_refused",
        complaint_id=str(env.complaint_id),
        event_id=str(env.event_id),
        outcome=status,
        error=str(exc),
        refused_total=sum(OUTCOMES_REFUSED.values()),
    )


async def handle(conn: Conn, env: Envelope, *, topic: str, clock: Clock = _wall_clock) -> None:
    if not isinstance(env.data, ComplaintFiled):
        return
    try:
        state = evolve(None, env)
    except ValueError as exc:
        # A filing that is not version 1 can never become a case: dead-letter it.
        raise PoisonEvent(str(exc)) from exc
    created = await create_case(conn, env, state)
    log.debug(
        "status.case_filed" if created else "status.filing_duplicate",
        complaint_id=str(env.complaint_id),
        event_id=str(env.event_id),
    )
    if created and env.data.outcome is not None:
        for event, new_state in _outcome(env, clock()):
            await append_event(conn, event, new_state, topic)


async def handle_batch(
    conn: Conn, envelopes: list[Envelope], *, topic: str, clock: Clock = _wall_clock
) -> None:
    """``handle`` for every event of ``envelopes`` in turn.

    Raises PoisonEvent (before writing anything) if a filing is not version 1, so that the
    consumer's per-event path dead-letters just that one; RefuseBatch if a concurrent
    writer stored one of the filings or an outcome event's key meanwhile, or if a filing
    with an outcome shares its case id or event id with another filing of the batch (then
    order matters: the per-event path keeps it).  The batch's writes are rolled back then.
    Outcome events are recorded at one ``clock()`` per batch.
    """
    filings: list[tuple[Envelope, CaseState]] = []
    outcomes = 0
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for env in envelopes:
        if not isinstance(env.data, ComplaintFiled):
            continue
        try:
            state = evolve(None, env)
        except ValueError as exc:  # not version 1: ``handle`` dead-letters it
            raise PoisonEvent(str(exc)) from exc
        key = (env.complaint_id, env.event_id)
        # A later copy of the same (case, event id) can never be stored: drop it.
        if key in seen:
            continue
        seen.add(key)
        filings.append((env, state))
        outcomes += env.data.outcome is not None
    if not outcomes:
        created = await _create_plain(conn, filings) if filings else 0
    elif len({env.complaint_id for env, _ in filings}) != len(filings) or len(
        {env.event_id for env, _ in filings}
    ) != len(filings):
        raise RefuseBatch("a filing with an outcome shares its keys with another filing")
    else:
        created = await _create_with_outcomes(conn, filings, topic, clock())
    log.debug(
        "status.filings_applied",
        events=len(envelopes),
        filings=len(filings),
        created=created,
        with_outcome=outcomes,
    )


async def _create_with_outcomes(
    conn: Conn,
    filings: list[tuple[Envelope, CaseState]],
    topic: str,
    now: dt.datetime,
) -> int:
    """Pairwise distinct keys: each filing is stored exactly when its case and event id are
    not stored yet (as ``handle`` would), then with its outcome's events, all at once."""
    openings: list[Opening] = []
    refused: dict[uuid.UUID, tuple[Envelope, DomainError]] = {}
    for env, state in filings:
        later: list[Envelope] = []
        if env.data.outcome is not None:  # type: ignore[union-attr]
            try:
                events = outcome_events(env, now, source=SOURCE)
            except DomainError as exc:
                refused[env.complaint_id] = (env, exc)
            else:
                later = [event for event, _ in events]
                if events:
                    state = events[-1][1]
        openings.append((env, state, later))
    try:
        created = await open_cases(conn, openings, topic)
    except asyncpg.UniqueViolationError as clash:  # a concurrent writer took an outcome's key
        raise RefuseBatch(f"outcome event already stored: {clash}") from clash
    # ``handle`` reports a refused outcome only when it opens the case: so do we.
    for complaint_id, (env, error) in refused.items():
        if complaint_id in created:
            _refused(env, error)
    return len(created)


async def _create_plain(conn: Conn, filings: list[tuple[Envelope, CaseState]]) -> int:
    if len({env.complaint_id for env, _ in filings}) == len(filings) and len(
        {env.event_id for env, _ in filings}
    ) == len(filings):
        # No filing can take a key another one needs: each is stored exactly when its
        # case and event id are not stored yet, which is what ON CONFLICT DO NOTHING does.
        return await create_cases(conn, filings)
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
        raise RefuseBatch(f"{len(winners) - created} filings were stored concurrently")
    return created
