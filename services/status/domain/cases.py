"""The case state machine (ARCHITECTURE.md §7): pure decisions and folds, no I/O, time passed in.

``decide(state, command, now)`` answers with the event payload a legal command produces, or
raises a ``DomainError``; ``evolve(state, envelope)`` folds one stored event into the state.
A case's current state is ``evolve`` applied to its events in version order, starting from
``None`` with its ``ComplaintFiled``.

Transitions::

    filed ──accept──▶ accepted ──start──▶ in_progress ──forward──▶ forwarded
      │                                      ▲   ◀──────start────────┘
      └──reject──▶ rejected ──reopen──▶ reopened ──start──┘
    any open state (filed, accepted, in_progress, forwarded, reopened) ──close──▶ closed
    closed ──reopen──▶ reopened

``rejected`` is treated like ``closed``: final unless reopened (a rejection decided in error
must be correctable without rewriting history).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.codes import CaseStatus, CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseReopenRequested,
    CaseSatisfactionRated,
    CaseStarted,
    ComplaintFiled,
    Envelope,
    reply_due,
)
from shared.thai_calendar import BANGKOK, aware


class Action(StrEnum):
    accept = "accept"
    reject = "reject"
    start = "start"
    forward = "forward"
    close = "close"
    reopen = "reopen"


OPEN_STATES = frozenset(
    {
        CaseStatus.filed,
        CaseStatus.accepted,
        CaseStatus.in_progress,
        CaseStatus.forwarded,
        CaseStatus.reopened,
    }
)

# action -> (states it is legal in, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[CaseStatus], CaseStatus]] = {
    Action.accept: (frozenset({CaseStatus.filed}), CaseStatus.accepted),
    Action.reject: (frozenset({CaseStatus.filed}), CaseStatus.rejected),
    Action.start: (
        frozenset({CaseStatus.accepted, CaseStatus.forwarded, CaseStatus.reopened}),
        CaseStatus.in_progress,
    ),
    Action.forward: (frozenset({CaseStatus.in_progress}), CaseStatus.forwarded),
    Action.close: (OPEN_STATES, CaseStatus.closed),
    Action.reopen: (frozenset({CaseStatus.closed, CaseStatus.rejected}), CaseStatus.reopened),
}


def allowed_actions(status: CaseStatus) -> list[Action]:
    """The actions the state machine allows from ``status``, in their declared order."""
    return [action for action, (sources, _target) in TRANSITIONS.items() if status in sources]


# The status each transition event kind leads to, for evolve.
_STATUS_AFTER: dict[str, CaseStatus] = {
    "case.accepted": CaseStatus.accepted,
    "case.rejected": CaseStatus.rejected,
    "case.started": CaseStatus.in_progress,
    "case.forwarded": CaseStatus.forwarded,
    "case.closed": CaseStatus.closed,
    "case.reopened": CaseStatus.reopened,
}

TransitionEvent = (
    CaseAccepted | CaseRejected | CaseStarted | CaseForwarded | CaseClosed | CaseReopened
)


_CLOSURE_REASONS = frozenset(r.value for r in ClosureReason)


class DomainError(Exception):
    """A command the case cannot take as given."""


class IllegalTransition(DomainError):
    def __init__(self, status: CaseStatus, action: Action) -> None:
        super().__init__(f"cannot {action.value} a case that is {status.value}")
        self.status, self.action = status, action


class MissingField(DomainError):
    def __init__(self, field: str, action: Action) -> None:
        super().__init__(f"{action.value} needs {field}")
        self.field, self.action = field, action


class InvalidField(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class TransitionCommand(BaseModel):
    """An officer's request to move a case (imperative; the event is its past tense)."""

    model_config = ConfigDict(frozen=True)

    action: Action
    actor: str
    note: str | None = None
    reason: str | None = None
    agency: str | None = None
    agency_code: str | None = None
    due_date: dt.date | None = None
    # When it happened in the world, if earlier than now (an outcome recorded late).
    occurred_at: dt.datetime | None = None


# A client clock slightly ahead of ours is not an error.
CLOCK_SKEW = dt.timedelta(minutes=5)


class CaseState(BaseModel):
    """The current state of one case, as folded from its events."""

    model_config = ConfigDict(frozen=True)

    complaint_id: uuid.UUID
    tracking_no: str
    status: CaseStatus
    version: int
    province_code: str
    district_code: str
    subdistrict_code: str | None
    category: CategoryCode
    channel: ChannelCode
    received_at: dt.datetime
    recorded_at: dt.datetime
    closed_at: dt.datetime | None = None
    closure_reason: ClosureReason | None = None
    agency: str | None = None
    due_date: dt.date | None = None
    last_event_at: dt.datetime
    # Feedback on the current closure (domain.feedback): its case.closed version, rated?
    closed_version: int | None = None
    rated: bool = False
    reopen_requested_at: dt.datetime | None = None


def _required(value: str | None, field: str, action: Action) -> str:
    if value is None or not value.strip():
        raise MissingField(field, action)
    return value.strip()


def effective_time(state: CaseState, cmd: TransitionCommand, now: dt.datetime) -> dt.datetime:
    """When the transition takes effect: ``cmd.occurred_at`` (naive = Bangkok) or ``now``.

    It may lie in the past (a late recording) but never in the future, and never before
    the case's previous event: each case's effective times run forward with its versions.
    """
    if cmd.occurred_at is None:
        return now
    at = aware(cmd.occurred_at)
    if at > now + CLOCK_SKEW:
        raise InvalidField("occurred_at", f"{at.isoformat()} is in the future")
    if at < state.last_event_at:
        raise InvalidField(
            "occurred_at",
            f"{at.isoformat()} is before the case's previous "
            f"event ({state.last_event_at.isoformat()})",
        )
    return min(at, now)


def decide(state: CaseState, cmd: TransitionCommand, now: dt.datetime) -> TransitionEvent:
    """The event ``cmd`` produces on a case in ``state`` at ``now`` (or its ``occurred_at``).

    Raises IllegalTransition if the action is not legal in the current status (checked first:
    the case's state matters more than a missing field), MissingField for an absent reason,
    agency or due date, InvalidField for a bad closure reason or a due date in the past.
    """
    allowed, _target = TRANSITIONS[cmd.action]
    if state.status not in allowed:
        raise IllegalTransition(state.status, cmd.action)
    now = effective_time(state, cmd, now)
    actor, note = _required(cmd.actor, "actor", cmd.action), cmd.note
    match cmd.action:
        case Action.accept:
            return CaseAccepted(actor=actor, note=note)
        case Action.reject:
            reason = _required(cmd.reason, "reason", cmd.action)
            return CaseRejected(actor=actor, note=note, reason=reason)
        case Action.start:
            return CaseStarted(actor=actor, note=note)
        case Action.forward:
            agency = _required(cmd.agency, "agency", cmd.action)
            if cmd.due_date is None:
                raise MissingField("due_date", cmd.action)
            today = now.astimezone(BANGKOK).date()
            if cmd.due_date < today:
                raise InvalidField("due_date", f"{cmd.due_date} is before today ({today})")
            return CaseForwarded(
                actor=actor,
                note=note,
                agency=agency,
                agency_code=cmd.agency_code,
                reply_due=reply_due(cmd.due_date, now),
            )
        case Action.close:
            raw = _required(cmd.reason, "reason", cmd.action)
            if raw not in _CLOSURE_REASONS:
                choices = ", ".join(r.value for r in ClosureReason)
                raise InvalidField("reason", f"{raw!r} is not a closure reason ({choices})")
            return CaseClosed(actor=actor, note=note, reason=ClosureReason(raw))
        case Action.reopen:
            reason_text = cmd.reason.strip() if cmd.reason and cmd.reason.strip() else None
            return CaseReopened(actor=actor, note=note, reason=reason_text)
    raise AssertionError(f"unhandled action {cmd.action}")  # pragma: no cover


def evolve(state: CaseState | None, env: Envelope) -> CaseState:
    """Fold one event into the state.

    ``state`` is None only before the case's ``ComplaintFiled``.  Raises ValueError for an
    event that does not fit (wrong case, out-of-order version, a transition before filing):
    stored history is trusted to be consistent, so such an event is a defect, not a command.
    """
    data = env.data
    if isinstance(data, ComplaintFiled):
        if state is not None or env.version != 1:
            raise ValueError(f"ComplaintFiled must be version 1 of a new case, got {env.version}")
        return CaseState(
            complaint_id=env.complaint_id,
            tracking_no=data.tracking_no,
            status=CaseStatus.filed,
            version=1,
            province_code=data.province_code,
            district_code=data.district_code,
            subdistrict_code=data.subdistrict_code,
            category=data.category,
            channel=data.channel,
            received_at=data.received_at,
            recorded_at=data.recorded_at,
            last_event_at=env.occurred_at,
        )
    if state is None:
        raise ValueError(f"{data.kind} before the case was filed")
    if env.complaint_id != state.complaint_id or env.version != state.version + 1:
        raise ValueError(
            f"event {env.complaint_id}/v{env.version} does not follow "
            f"{state.complaint_id}/v{state.version}"
        )
    changes: dict[str, object] = {"version": env.version, "last_event_at": env.occurred_at}
    # Feedback on a closure leaves the status as it is (a reopen request is not a reopening).
    if isinstance(data, CaseSatisfactionRated):
        changes.update(rated=True)
    elif isinstance(data, CaseReopenRequested):
        changes.update(reopen_requested_at=env.occurred_at)
    else:
        changes["status"] = _STATUS_AFTER[data.kind]
    if isinstance(data, CaseForwarded):
        changes.update(agency=data.agency, due_date=data.due_date)
    elif isinstance(data, CaseClosed | CaseReopened):
        closed = isinstance(data, CaseClosed)
        changes.update(
            closed_at=env.occurred_at if closed else None,
            closure_reason=data.reason if isinstance(data, CaseClosed) else None,
            closed_version=env.version if closed else None,
            rated=False,
            reopen_requested_at=None,
        )
    return state.model_copy(update=changes)


def fold(events: list[Envelope]) -> CaseState | None:
    """The state after ``events`` (in version order); None for no events."""
    state: CaseState | None = None
    for env in events:
        state = evolve(state, env)
    return state
