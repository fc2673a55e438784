"""HTTP routes of one case: parse, call one handler, answer a response model.

Domain and handler errors become problem+json in ``problems.problem_for`` only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.status import handlers
from services.status.domain import Action, CaseState, CaseStatus, TransitionCommand
from services.status.problems import TRANSITION_ERRORS, problem_for
from services.status.deps import Clock, Store

router = APIRouter(prefix="/v1/complaints", tags=["cases"])


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    actor: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=1000)
    agency: str | None = Field(default=None, max_length=300)
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


class HistoryOut(BaseModel):
    complaint_id: uuid.UUID
    events: list[HistoryEvent]


def _case_out(state: CaseState) -> CaseOut:
    return CaseOut.model_validate(state.model_dump())


@router.post("/{complaint_id}/transitions", response_model=TransitionOut)
async def post_transition(complaint_id: uuid.UUID, body: TransitionIn, store: Store,
                          clock: Clock) -> TransitionOut:
    cmd = TransitionCommand(**body.model_dump(exclude={"expected_version"}))
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    try:
        state = await handlers.transition(
            store, complaint_id, cmd, now=clock(),
            expected_version=body.expected_version, correlation_id=cid,
        )
    except TRANSITION_ERRORS as exc:
        raise problem_for(exc) from exc
    structlog.get_logger().info("status.transition", complaint_id=str(complaint_id),
                                action=cmd.action.value, version=state.version)
    return TransitionOut(complaint_id=complaint_id, status=state.status, version=state.version)


@router.get("/{complaint_id}", response_model=CaseOut)
async def get_case(complaint_id: uuid.UUID, store: Store) -> CaseOut:
    try:
        return _case_out(await handlers.get_case(store, complaint_id))
    except handlers.CaseNotFound as exc:
        raise problem_for(exc) from exc


@router.get("/{complaint_id}/history", response_model=HistoryOut)
async def get_history(complaint_id: uuid.UUID, store: Store) -> HistoryOut:
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
            )
            for e in events
        ],
    )
