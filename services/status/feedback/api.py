"""Public feedback routes: the link's token is the only credential.

``GET /v1/feedback/{token}`` answers what the feedback page shows (the tracking number, the
closure, what it already has); ``POST /v1/feedback`` records a rating (1-5) and/or a
reopen request ("the problem was not actually solved") on the closure the token names,
as events of the case (actor "complainant") appended to its hash chain and published like
any transition.  Neither carries personal data, and the token is never logged.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Path, Request

from services.status.deps import Clock
from services.status.domain.feedback import Answer
from services.status.feedback import usecases
from services.status.feedback.problems import FEEDBACK_ERRORS, not_configured, problem_for
from services.status.feedback.schemas import FeedbackIn, FeedbackOut, FeedbackRecorded
from services.status.store import PgCaseStore
from shared import feedback_links
from shared.feedback_links import FeedbackLink

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])
log = structlog.get_logger()


def _secret(request: Request) -> str:
    secret = request.app.state.settings.feedback_link_secret
    if secret is None:
        raise not_configured()
    value: str = secret.get_secret_value()
    return value


def _store(request: Request) -> usecases.FeedbackStore:
    runtime = request.app.state.runtime
    return PgCaseStore(runtime.pool, runtime.settings.events_topic)


Secret = Annotated[str, Depends(_secret)]
Store = Annotated[usecases.FeedbackStore, Depends(_store)]


def _link(token: str, secret: str, clock: Clock) -> FeedbackLink:
    try:
        return feedback_links.verify(token, secret, clock())
    except feedback_links.InvalidLink as exc:
        raise problem_for(exc) from None


@router.get(
    "/{token}",
    response_model=FeedbackOut,
    responses={
        400: {"description": "not a feedback link"},
        401: {"description": "the link expired"},
        404: {"description": "a genuine link to a case not known here"},
        410: {"description": "the case changed since the closure the link answers"},
    },
)
async def get_feedback(
    token: Annotated[str, Path(max_length=feedback_links.MAX_TOKEN_CHARS)],
    store: Store,
    clock: Clock,
    secret: Secret,
) -> FeedbackOut:
    link = _link(token, secret, clock)
    try:
        state, where = await usecases.read_link(store, link)
    except FEEDBACK_ERRORS as exc:
        raise problem_for(exc) from exc
    return FeedbackOut(
        tracking_no=state.tracking_no,
        closure_reason=state.closure_reason,
        closed_at=state.closed_at,
        expires_at=link.expires_at,
        rated=where.rated,
        reopen_requested=where.reopen_requested,
    )


@router.post(
    "",
    response_model=FeedbackRecorded,
    status_code=201,
    responses={
        400: {"description": "not a feedback link"},
        401: {"description": "the link expired"},
        404: {"description": "a genuine link to a case not known here"},
        409: {"description": "this closure already has that rating or reopen request"},
        410: {"description": "the case changed since the closure the link answers"},
    },
)
async def post_feedback(
    body: FeedbackIn, store: Store, clock: Clock, secret: Secret
) -> FeedbackRecorded:
    link = _link(body.token, secret, clock)
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    try:
        state, stored = await usecases.give_feedback(
            store,
            link,
            Answer(score=body.score, not_solved=body.not_solved),
            now=clock(),
            correlation_id=cid,
        )
    except FEEDBACK_ERRORS as exc:
        raise problem_for(exc) from exc
    log.info(
        "status.feedback",
        complaint_id=str(link.complaint_id),
        closed_version=link.closed_version,
        kinds=[e.kind for e in stored],
        version=stored[-1].version,
    )
    return FeedbackRecorded(
        tracking_no=state.tracking_no,
        recorded=[e.kind for e in stored],
        version=stored[-1].version,
        rated=state.rated,
        reopen_requested=state.reopen_requested_at is not None,
    )
