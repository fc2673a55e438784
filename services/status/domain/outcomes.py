"""The events that bring a backfilled case from ``filed`` to the outcome it already had.

A ``ComplaintFiled`` imported from an old register may carry a ``BackfilledOutcome``: how far
the case had got before it was recorded.  ``outcome_events`` turns it into the transitions an
officer would have made, each decided and folded by the state machine (so an outcome it would
refuse is refused here too), all dated the outcome's original date ``at``:

    accepted    → CaseAccepted
    in_progress → CaseAccepted, CaseStarted
    forwarded   → CaseAccepted, CaseStarted, CaseForwarded(agency, due_date)
    closed      → CaseClosed(closure_reason; ``reason`` becomes its note)
    rejected    → CaseRejected(reason, or "backfilled: rejected")

Event ids are derived from the filing's event id, so a redelivered filing derives the very
same events (the store keeps them once).  The events are chained onto the filing
(``shared.chain``), each onto the one before.
"""

from __future__ import annotations

import datetime as dt
import uuid

from services.status.domain.cases import (
    Action,
    CaseState,
    TransitionCommand,
    decide,
    effective_time,
    evolve,
)
from shared.chain import env_head, seal
from shared.events import BackfilledOutcome, ComplaintFiled, Envelope
from shared.thai_calendar import BANGKOK, aware

BACKFILL_ACTOR = "backfill"
DEFAULT_REJECTION = "backfilled: rejected"

# The actions that lead from ``filed`` to each outcome status, in order.
PATHS: dict[str, tuple[Action, ...]] = {
    "accepted": (Action.accept,),
    "in_progress": (Action.accept, Action.start),
    "forwarded": (Action.accept, Action.start, Action.forward),
    "closed": (Action.close,),
    "rejected": (Action.reject,),
}


def outcome_time(outcome: BackfilledOutcome, filed_at: dt.datetime) -> dt.datetime:
    """When the outcome took effect: ``outcome.at`` (naive = Bangkok), but not before the
    filing if both fall on the same Bangkok day (registers often keep only the date of a
    closure, which would otherwise read as midnight, before a filing made that morning)."""
    at = aware(outcome.at)
    if at < filed_at and at.astimezone(BANGKOK).date() == filed_at.astimezone(BANGKOK).date():
        return filed_at
    return at


def _command(action: Action, outcome: BackfilledOutcome, at: dt.datetime) -> TransitionCommand:
    reason: str | None = None
    note: str | None = None
    agency: str | None = None
    due_date: dt.date | None = None
    if action is Action.forward:
        agency, due_date = outcome.agency, outcome.due_date
    elif action is Action.close:
        # Missing closure reason: decide raises MissingField (no reason is invented).
        reason = outcome.closure_reason and outcome.closure_reason.value
        note = outcome.reason
    elif action is Action.reject:
        reason = outcome.reason or DEFAULT_REJECTION
    return TransitionCommand(
        action=action,
        actor=BACKFILL_ACTOR,
        occurred_at=at,
        reason=reason,
        note=note,
        agency=agency,
        due_date=due_date,
    )


def outcome_event_id(filing_event_id: uuid.UUID, version: int) -> uuid.UUID:
    """The id of the backfilled event ``version`` of the case filed by ``filing_event_id``."""
    return uuid.uuid5(filing_event_id, f"backfilled-outcome/v{version}")


def outcome_events(
    filing: Envelope, now: dt.datetime, *, source: str
) -> list[tuple[Envelope, CaseState]]:
    """The events (versions 2, 3, ...) and the state after each that bring the case filed by
    ``filing`` to its backfilled outcome; [] if it carries none.

    Each event occurs at ``outcome_time`` (``outcome.at``) and is recorded at ``now``.  Raises
    ValueError if ``filing`` is not a first ``ComplaintFiled``, and the state machine's
    DomainError if the outcome is not reachable as given: a missing closure reason, agency
    or due date, a due date before ``at``, or an ``at`` in the future or before the filing.
    """
    data = filing.data
    if not isinstance(data, ComplaintFiled):
        raise ValueError(f"{data.kind} carries no backfilled outcome")
    state = evolve(None, filing)
    outcome = data.outcome
    if outcome is None:
        return []
    at = outcome_time(outcome, state.last_event_at)
    out: list[tuple[Envelope, CaseState]] = []
    prev_hash = env_head(filing)
    for action in PATHS[outcome.status]:
        cmd = _command(action, outcome, at)
        payload = decide(state, cmd, now)
        version = state.version + 1
        env = Envelope(
            event_id=outcome_event_id(filing.event_id, version),
            complaint_id=filing.complaint_id,
            version=version,
            source=source,
            occurred_at=effective_time(state, cmd, now),
            recorded_at=now,
            correlation_id=filing.correlation_id,
            data=payload,
        )
        env = seal(env, prev_hash)
        prev_hash = env_head(env)
        state = evolve(state, env)
        out.append((env, state))
    return out
