"""HTTP routes of one case: parse, call one handler, answer a response model.

Domain and handler errors become problem+json in ``problems.problem_for`` only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.status import handlers
from services.status.domain import Action, CaseState, CaseStatus, TransitionCommand
from services.status.problems import TRANSITION_ERRORS, problem_for
from services.status.deps import Clock, Store, read_check, write_guard
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation
from shared.text import SafeText
from shared.thai_calendar import BANGKOK, aware

router = APIRouter(prefix="/v1/complaints", tags=["cases"])


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    # No actor: the one recorded is the caller's token subject (a client still sending
    # one gets a 422 naming the field).
    note: SafeText | None = Field(default=None, max_length=4000)
    reason: SafeText | None = Field(default=None, max_length=1000)
    agency: SafeText | None = Field(default=None, max_length=300)
    agency_code: str | None = Field(default=None, pattern=r"^[0-9A-Za-z.\-]{1,20}$")
    due_date: dt.date | None = None
    occurred_at: dt.datetime | None = Field(
        default=None, description="when it happened, for outcomes recorded late (not future)")
    expected_version: int | None = Field(default=None, ge=1)


class TransitionOut(BaseModel):
    complaint_id: uuid.UUID
    status: CaseStatus
    version: int


class CaseOut(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    status: CaseStatus
    version: int
    province_code: str
    district_code: str
    subdistrict_code: str | None
    category: str
    channel: str
    received_at: dt.datetime
    recorded_at: dt.datetime
    closed_at: dt.datetime | None
    closure_reason: str | None
    agency: str | None
    due_date: dt.date | None
    last_event_at: dt.datetime


class HistoryEvent(BaseModel):
    event_id: uuid.UUID
    type: str
    version: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str | None
    source: str
    correlation_id: str | None
    data: dict[str, Any]
    prev_hash: str | None = Field(description="the previous event's hash (None: unchained)")
    hash: str | None = Field(description="SHA-256 of this event's canonical form")


class HistoryOut(BaseModel):
    complaint_id: uuid.UUID
    events: list[HistoryEvent]


async def _check_readable(store: Store, principal: Caller, complaint_id: uuid.UUID) -> None:
    """404 alike for a case that is missing and one outside the caller's jurisdiction."""
    require(principal, Operation.read_case)
    not_found = problem_for(handlers.CaseNotFound(complaint_id))
    state = await store.load(complaint_id)
    if state is None:
        raise not_found
    read_check(principal, state, not_found)


def _case_out(state: CaseState) -> CaseOut:
    return CaseOut.model_validate(state.model_dump())


@router.post("/{complaint_id}/transitions", response_model=TransitionOut)
async def post_transition(complaint_id: uuid.UUID, body: TransitionIn, store: Store,
                          clock: Clock, principal: Caller) -> TransitionOut:
    require(principal, Operation.transition)
    cmd = TransitionCommand(**body.model_dump(exclude={"expected_version"}),
                            actor=principal.subject)
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    try:
        state = await handlers.transition(
            store, complaint_id, cmd, now=clock(),
            expected_version=body.expected_version, correlation_id=cid,
            guard=write_guard(principal),
        )
    except TRANSITION_ERRORS as exc:
        raise problem_for(exc) from exc
    structlog.get_logger().info("status.transition", complaint_id=str(complaint_id),
                                action=cmd.action.value, version=state.version)
    return TransitionOut(complaint_id=complaint_id, status=state.status, version=state.version)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else aware(moment)


@router.get("/{complaint_id}", response_model=CaseOut)
async def get_case(
    complaint_id: uuid.UUID, store: Store, principal: Caller,
    as_of: Annotated[dt.datetime | None, Query(
        description="the case as it stood then, by when things happened")] = None,
    known_at: Annotated[dt.datetime | None, Query(
        description="ignore every event recorded after this time")] = None,
) -> CaseOut:
    require(principal, Operation.read_case)
    try:
        state = await handlers.get_case(store, complaint_id)
        read_check(principal, state, problem_for(handlers.CaseNotFound(complaint_id)))
        if as_of is not None or known_at is not None:
            state = await handlers.get_case_as_of(store, complaint_id, as_of=_aware(as_of),
                                                  known_at=_aware(known_at))
    except handlers.CaseNotFound as exc:
        raise problem_for(exc) from exc
    return _case_out(state)


@router.get("/{complaint_id}/history", response_model=HistoryOut)
async def get_history(complaint_id: uuid.UUID, store: Store, principal: Caller) -> HistoryOut:
    await _check_readable(store, principal, complaint_id)
    try:
        events = await handlers.get_history(store, complaint_id)
    except handlers.CaseNotFound as exc:
        raise problem_for(exc) from exc
    return HistoryOut(
        complaint_id=complaint_id,
        events=[
            HistoryEvent(
                event_id=e.event_id, type=e.type, version=e.version, occurred_at=e.occurred_at,
                recorded_at=e.recorded_at, actor=getattr(e.data, "actor", None), source=e.source,
                correlation_id=e.correlation_id,
                data=e.data.model_dump(mode="json", exclude={"kind"}),
                prev_hash=e.prev_hash, hash=e.hash,
            )
            for e in events
        ],
    )
