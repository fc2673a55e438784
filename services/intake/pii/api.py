"""HTTP routes of personal data: the recorded clear read, the access log, erasure.

``GET /v1/complaints/{id}`` (in ``services.intake.api``) shows masked values only; the
clear identity is read here, by ``pii_reader`` principals, and every such read is recorded
in the same transaction.  Erasure (PDPA) destroys the complainant's key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from services.intake import telemetry
from services.intake.pii import store as pii
from services.intake.pii.domain.keys import PiiKeys
from services.intake.problems import not_found
from services.intake.store import IntakeStore, StoredComplaint
from shared.auth.deps import Caller, check, forbidden, require
from shared.auth.policy import Area, Operation, reads_clear_personal_data
from shared.http import Problem, problem_type

router = APIRouter(tags=["personal data"])
log = structlog.get_logger()


class ClearComplainantOut(BaseModel):
    complaint_id: uuid.UUID
    complainant_ref: uuid.UUID | None
    anonymous: bool
    title: str | None = None
    name: str | None = None
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


class AccessOut(BaseModel):
    at: dt.datetime
    subject: str
    action: str
    complaint_id: uuid.UUID
    complainant_ref: uuid.UUID | None
    fields: list[str]


def _area(row: StoredComplaint | pii.Placement) -> Area:
    """A complaints row's area, category included (restricted categories)."""
    return Area(row.province_code, row.district_code, row.channel, row.category)


@router.get(
    "/v1/complaints/{complaint_id}/complainant",
    response_model=ClearComplainantOut,
    responses={
        403: {"description": "no pii_reader grant"},
        410: {"description": "the complainant's data was erased"},
    },
)
async def get_clear_complainant(
    complaint_id: uuid.UUID, request: Request, principal: Caller
) -> ClearComplainantOut:
    """The complainant's identity in clear, for ``pii_reader`` principals only; the read
    is recorded (who, when, which complaint, which fields).  410 after an erasure."""
    require(principal, Operation.read_case)
    missing = not_found(f"no complaint {complaint_id}")
    store: IntakeStore = request.app.state.store
    row = await store.get(complaint_id)
    if row is None:
        raise missing
    check(principal, Operation.read_case, _area(row), missing)
    if not reads_clear_personal_data(principal):
        raise forbidden("reading a complainant's identity needs the pii_reader grant")
    keys: PiiKeys = request.app.state.pii_keys
    try:
        clear = await pii.read_clear(
            store.pool, keys, complaint_id, subject=principal.subject, now=dt.datetime.now(dt.UTC)
        )
    except pii.Erased as exc:
        raise Problem(
            410,
            "Personal data erased",
            f"the complainant's personal data was erased on {exc.erased_at.isoformat()}",
            type_=problem_type("erased"),
        ) from None
    if clear is None:
        raise missing
    log.info("pii.read", complaint_id=str(complaint_id), fields=sorted(clear.identity))
    telemetry.read_clear(request, telemetry.IDENTITY)
    return ClearComplainantOut(
        complaint_id=complaint_id,
        complainant_ref=clear.complainant_ref,
        anonymous=clear.anonymous,
        **clear.identity,
    )


@router.get("/v1/pii-access", response_model=list[AccessOut])
async def get_pii_access(
    request: Request,
    principal: Caller,
    complaint_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AccessOut]:
    """Auditors: every recorded clear read and erasure, newest first."""
    require(principal, Operation.audit)
    store: IntakeStore = request.app.state.store
    rows = await pii.access_log(store.pool, complaint_id, limit)
    return [AccessOut(**dict(r)) for r in rows]


@router.delete(
    "/v1/complainants/{complainant_ref}",
    status_code=204,
    responses={
        403: {"description": "not an admin or the case's district officer"},
        404: {"description": "no such complainant"},
    },
)
async def delete_complainant(
    complainant_ref: uuid.UUID, request: Request, principal: Caller
) -> Response:
    """Erase a complainant (PDPA): their data key is destroyed, so their identity is
    unreadable everywhere for good, including backups of the complaints table; the case,
    its history and the KPIs stay.  Admins, and the district officer of the complaint's
    district, may erase.  Idempotent: erasing again answers 204 too."""
    require(principal, Operation.erase_personal_data)
    store: IntakeStore = request.app.state.store
    row = await pii.complaint_of(store.pool, complainant_ref)
    if row is None:
        raise not_found(f"no complainant {complainant_ref}")
    check(principal, Operation.erase_personal_data, _area(row))
    erasure = await pii.erase(
        store.pool, complainant_ref, subject=principal.subject, now=dt.datetime.now(dt.UTC)
    )
    if erasure is None:
        raise not_found(f"no complainant {complainant_ref}")
    log.info("pii.erased", complaint_id=str(erasure.complaint_id), already=erasure.already)
    return Response(status_code=204)
