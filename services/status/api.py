"""HTTP routes of one case: parse, call one handler, answer a response model.

Domain and handler errors become problem+json in ``problems.problem_for`` only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Query

from services.status import usecases
from services.status.deps import Clock, Store, read_check, write_guard
from services.status.domain import CaseState, TransitionCommand
from services.status.domain.cases import allowed_actions
from services.status.problems import TRANSITION_ERRORS, problem_for
from services.status.schemas import CaseOut, HistoryEvent, HistoryOut, TransitionIn, TransitionOut
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation
from shared.iso_dates import IsoDateTime
from shared.thai_calendar import aware

router = APIRouter(prefix="/v1/complaints", tags=["cases"])


async def _check_readable(store: Store, principal: Caller, complaint_id: uuid.UUID) -> None:
    """404 alike for a case that is missing and one outside the caller's jurisdiction."""
    require(principal, Operation.read_case)
    not_found = problem_for(usecases.CaseNotFound(complaint_id))
    state = await store.load(complaint_id)
    if state is None:
        raise not_found
    read_check(principal, state, not_found)


def _case_out(state: CaseState) -> CaseOut:
    return CaseOut.model_validate({**state.model_dump(), "actions": allowed_actions(state.status)})


@router.post(
    "/{complaint_id}/transitions",
    response_model=TransitionOut,
    responses={
        409: {"description": "version conflict, or a transition not allowed from the case's status"}
    },
)
async def post_transition(
    complaint_id: uuid.UUID, body: TransitionIn, store: Store, clock: Clock, principal: Caller
) -> TransitionOut:
    require(principal, Operation.transition)
    cmd = TransitionCommand(
        **body.model_dump(exclude={"expected_version"}), actor=principal.subject
    )
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    try:
        state = await usecases.transition(
            store,
            complaint_id,
            cmd,
            now=clock(),
            expected_version=body.expected_version,
            correlation_id=cid,
            guard=write_guard(principal),
        )
    except TRANSITION_ERRORS as exc:
        raise problem_for(exc) from exc
    structlog.get_logger().info(
        "status.transition",
        complaint_id=str(complaint_id),
        action=cmd.action.value,
        version=state.version,
    )
    return TransitionOut(complaint_id=complaint_id, status=state.status, version=state.version)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else aware(moment)


@router.get("/{complaint_id}", response_model=CaseOut)
async def get_case(
    complaint_id: uuid.UUID,
    store: Store,
    principal: Caller,
    as_of: Annotated[
        IsoDateTime | None, Query(description="the case as it stood then, by when things happened")
    ] = None,
    known_at: Annotated[
        IsoDateTime | None, Query(description="ignore every event recorded after this time")
    ] = None,
) -> CaseOut:
    require(principal, Operation.read_case)
    try:
        state = await usecases.get_case(store, complaint_id)
        read_check(principal, state, problem_for(usecases.CaseNotFound(complaint_id)))
        if as_of is not None or known_at is not None:
            state = await usecases.get_case_as_of(
                store, complaint_id, as_of=_aware(as_of), known_at=_aware(known_at)
            )
    except usecases.CaseNotFound as exc:
        raise problem_for(exc) from exc
    return _case_out(state)


@router.get("/{complaint_id}/history", response_model=HistoryOut)
async def get_history(complaint_id: uuid.UUID, store: Store, principal: Caller) -> HistoryOut:
    await _check_readable(store, principal, complaint_id)
    try:
        events = await usecases.get_history(store, complaint_id)
    except usecases.CaseNotFound as exc:
        raise problem_for(exc) from exc
    return HistoryOut(
        complaint_id=complaint_id,
        events=[
            HistoryEvent(
                event_id=e.event_id,
                type=e.type,
                version=e.version,
                occurred_at=e.occurred_at,
                recorded_at=e.recorded_at,
                actor=getattr(e.data, "actor", None),
                source=e.source,
                correlation_id=e.correlation_id,
                data=e.data.model_dump(mode="json", exclude={"kind"}),
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in events
        ],
    )
