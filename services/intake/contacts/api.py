"""The contact route, for the notify service only (``notifier`` principals).

Not for officers, not even admins (``Operation.read_contact`` in ``shared.auth.policy``):
a complainant's phone, e-mail and LINE id are given out only to send the messages they
asked for, and each such read is recorded.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.intake import telemetry
from services.intake.contacts import store
from services.intake.pii.domain.keys import PiiKeys
from services.intake.problems import complaint_not_found
from services.intake.store import IntakeStore
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation
from shared.http import Problem, problem_type

router = APIRouter(tags=["notifications"])
log = structlog.get_logger()


class ContactOut(BaseModel):
    """The consent (channels, possibly none) and only the consented channels' details."""

    complaint_id: uuid.UUID
    anonymous: bool
    notify: list[str]
    line_user_id: str | None = None
    email: str | None = None
    phone: str | None = None


@router.get(
    "/internal/v1/complaints/{complaint_id}/contact",
    response_model=ContactOut,
    response_model_exclude_none=True,
    responses={
        403: {"description": "not the notify service"},
        404: {"description": "no such complaint"},
        410: {"description": "the complainant's data was erased"},
    },
)
async def get_contact(complaint_id: uuid.UUID, request: Request, principal: Caller) -> ContactOut:
    """What the notify service needs to tell the complainant of ``complaint_id``: the
    channels they consented to and those channels' contact details (a recorded clear
    read).  410 after an erasure: there is nobody to tell."""
    require(principal, Operation.read_contact)
    intake: IntakeStore = request.app.state.store
    keys: PiiKeys = request.app.state.pii_keys
    try:
        contact = await store.read_contact(
            intake.pool, keys, complaint_id, subject=principal.subject, now=dt.datetime.now(dt.UTC)
        )
    except store.Erased:
        raise Problem(
            410,
            "Personal data erased",
            "the complainant's personal data was erased",
            type_=problem_type("erased"),
        ) from None
    if contact is None:
        raise complaint_not_found(complaint_id)
    if contact.details:
        log.info("pii.read", complaint_id=str(complaint_id), fields=sorted(contact.details))
        telemetry.read_clear(request, telemetry.CONTACT)
    return ContactOut(
        complaint_id=complaint_id,
        anonymous=contact.anonymous,
        notify=list(contact.notify),
        **contact.details,
    )
