"""Intake's HTTP API: file complaints, read intake's own (masked) record, reference data.

Routers parse, call one handler and answer; domain errors become problem+json here.
The filing route reads the raw body itself so that every bad field, type errors
included, is reported in one 422 (and because it is the hot path).
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Annotated, Any

import geothai
import orjson
from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.routing import Route

from services.intake.backfill.reader import UnreadableFile
from services.intake.imports import import_file
from services.intake.service import IdempotencyConflict, file_complaint
from services.intake.store import IntakeStore
from services.intake import validation as v
from services.intake.validation import FieldError, InvalidComplaint, parse_complaint
from shared.auth.deps import Caller, authenticate, check, require
from shared.auth.policy import (Area, Decision, Operation, decide, import_district,
                                reads_clear_personal_data, sees_personal_data)
from shared.codes import CATEGORY_LABELS, CHANNEL_LABELS, CategoryCode, ChannelCode
from shared.http import Problem

router = APIRouter()
PROBLEMS = "https://damrong.dopa.go.th/problems"


class FiledOut(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    status: str
    received_at: dt.datetime
    recorded_at: dt.datetime


class ComplaintOut(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    channel: str
    channel_ref: str | None
    category: str
    province_code: str
    district_code: str
    subdistrict_code: str | None
    subject: str | None  # None (with complainant) for a caller who may not see personal data
    received_at: dt.datetime
    recorded_at: dt.datetime
    backfilled: bool
    filed_by: str | None  # the token subject that filed or imported it
    complainant: dict[str, Any] | None  # masked; {"erased": true, ...} after an erasure
    # For pii_readers and those who may erase it (admins, the district's officers).
    complainant_ref: uuid.UUID | None = None


class RejectedRowOut(BaseModel):
    row: int
    reasons: list[str]


class DuplicateRowOut(BaseModel):
    row: int
    of_row: int | None
    reason: str


class ImportOut(BaseModel):
    import_id: uuid.UUID
    rows: int
    filed: int
    duplicates: int
    rejected: list[RejectedRowOut]
    duplicate_rows: list[DuplicateRowOut]
    ignored_columns: list[str]


class CodeLabel(BaseModel):
    code: str
    label_th: str
    label_en: str


class ProvinceOut(BaseModel):
    code: str
    name_th: str
    name_en: str


class DistrictOut(ProvinceOut):
    province_code: str


class ComplainantIn(BaseModel):
    """Who complains (documentation of the body; ``validation.py`` checks it)."""

    anonymous: bool
    title: str | None = Field(default=None, max_length=v.TITLE_MAX)
    name: str | None = Field(default=None, max_length=v.NAME_MAX)
    national_id: str | None = Field(default=None, description="13 digits, checksum checked")
    phone: str | None = Field(default=None, description="Thai number, any common format")
    email: str | None = Field(default=None, max_length=v.EMAIL_MAX)
    address: str | None = Field(default=None, max_length=v.ADDRESS_MAX)


class ComplaintIn(BaseModel):
    """The body of POST /v1/complaints, for the OpenAPI schema only: the hot path parses
    it by hand (``validation.parse_complaint``), naming every bad field in one 422."""

    channel: ChannelCode
    category: CategoryCode
    district_code: str = Field(pattern=r"^\d{4}$")
    subdistrict_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    subject: str = Field(min_length=1, max_length=v.SUBJECT_MAX)
    description: str = Field(min_length=1, max_length=v.DESCRIPTION_MAX)
    received_at: dt.datetime | None = Field(default=None, description="default: now")
    channel_ref: str | None = Field(default=None, max_length=v.REF_MAX)
    complainant: ComplainantIn


def _store(request: Request) -> IntakeStore:
    store: IntakeStore = request.app.state.store
    return store


def _invalid(errors: list[FieldError]) -> Problem:
    return Problem(
        422, "Invalid request", "; ".join(f"{e.field}: {e.message}" for e in errors),
        type_=f"{PROBLEMS}/validation",
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


@router.post(
    "/v1/complaints", status_code=201, tags=["complaints"],
    responses={201: {"model": FiledOut}, 200: {"model": FiledOut, "description": "replay"},
               409: {"description": "idempotency conflict"},
               413: {"description": "body larger than the max_body_bytes setting"},
               422: {"description": "invalid fields"}},
)
async def post_complaint(
    request: Request,
    # Documentation only: the plain route below serves this path and passes only the
    # request; the body is parsed by hand, so that every bad field is named at once.
    body: Annotated[ComplaintIn | None, Body()] = None,
) -> Response:
    """File a complaint: JSON ``{channel, district_code, subdistrict_code?, category, subject,
    description, received_at?, complainant: {anonymous, title?, name?, national_id?, phone?,
    email?, address?}, channel_ref?}``.  201 when filed; 200 with ``Idempotent-Replayed:
    true`` and the original body for a repeat; 409 when the key names another request.
    A channel system files for its own channel only, a district officer for its district."""
    principal = authenticate(request)
    require(principal, Operation.file)
    now = dt.datetime.now(dt.UTC)
    # Read directly rather than as a Header dependency: this is the hot path.
    idempotency_key = request.headers.get("idempotency-key")
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise _invalid([FieldError("body", "is not valid JSON")]) from None
    try:
        cmd = parse_complaint(data, now, idempotency_key=idempotency_key)
    except InvalidComplaint as exc:
        raise _invalid(exc.errors) from None
    check(principal, Operation.file,
          Area(cmd.province_code, cmd.district_code, cmd.channel.value))
    try:
        filed = await file_complaint(_store(request), request.app.state.settings, cmd, now,
                                     keys=request.app.state.pii_keys,
                                     filed_by=principal.subject)
    except IdempotencyConflict:
        raise Problem(
            409, "Idempotency conflict",
            "this Idempotency-Key or channel_ref was already used for a different request",
            type_=f"{PROBLEMS}/idempotency-conflict",
        ) from None
    headers = {"Location": f"/v1/complaints/{filed.complaint_id}"}
    if filed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(orjson.dumps(filed.body()), status_code=200 if filed.replayed else 201,
                    headers=headers, media_type="application/json")


# A register is far larger than a request body (whose limit is the setting
# max_body_bytes): about 300 bytes a row, so this takes some 150,000 rows.
IMPORT_MAX_BYTES = 50 * 1024 * 1024

# The hot path also as a plain Starlette route, matched first: no dependency solving or
# response-model machinery (measured ~55 us less CPU per filing).  The APIRoute above is
# the same endpoint and documents it in the OpenAPI schema.
router.routes.insert(0, Route("/v1/complaints", post_complaint, methods=["POST"]))


@router.post("/v1/imports", response_model=ImportOut, tags=["imports"],
             max_body_size=IMPORT_MAX_BYTES,
             responses={413: {"description": "file larger than IMPORT_MAX_BYTES"},
                        422: {"description": "unreadable file or missing columns"}})
async def post_import(
    request: Request,
    principal: Caller,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-874) or .xlsx")],
) -> ImportOut:
    """Backfill a register: every non-empty row is filed (``backfilled``, its original
    ``received_at``, its outcome so far), counted as a duplicate (same row identity as an
    earlier row or import) or rejected with its row number and reasons.  A district
    officer's rows of other districts are rejected."""
    require(principal, Operation.import_)
    data = await file.read()
    try:
        result = await import_file(_store(request), request.app.state.settings, data,
                                   dt.datetime.now(dt.UTC), district=import_district(principal),
                                   filed_by=principal.subject)
    except UnreadableFile as exc:
        raise Problem(422, "Unreadable import file", str(exc),
                      type_=f"{PROBLEMS}/import-unreadable") from None
    return ImportOut.model_validate(result.body())


@router.get("/v1/complaints/{complaint_id}", response_model=ComplaintOut, tags=["complaints"])
async def get_complaint(complaint_id: uuid.UUID, request: Request,
                        principal: Caller) -> ComplaintOut:
    """Intake's record of one complaint; the complainant is shown masked only, and to an
    auditor without the ``pii_reader`` grant neither it nor the subject."""
    require(principal, Operation.read_case)
    not_found = Problem(404, "Complaint not found", f"no complaint {complaint_id}",
                        type_=f"{PROBLEMS}/not-found")
    row = await _store(request).get(complaint_id)
    if row is None:
        raise not_found
    area = Area(row["province_code"], row["district_code"], row["channel"], row["category"])
    check(principal, Operation.read_case, area, not_found)
    fields = {k: row[k] for k in ComplaintOut.model_fields
              if k not in ("complainant", "complainant_ref")}
    if not sees_personal_data(principal):
        return ComplaintOut(**{**fields, "subject": None}, complainant=None)
    shows_ref = reads_clear_personal_data(principal) or decide(
        principal, Operation.erase_personal_data, area) is Decision.allow
    return ComplaintOut(**fields, complainant=row["complainant_masked"],
                        complainant_ref=row["complainant_ref"] if shows_ref else None)


@cache
def _channels() -> list[CodeLabel]:
    return [CodeLabel(code=c.value, label_th=th, label_en=en)
            for c, (th, en) in CHANNEL_LABELS.items()]


@cache
def _categories() -> list[CodeLabel]:
    return [CodeLabel(code=c.value, label_th=th, label_en=en)
            for c, (th, en) in CATEGORY_LABELS.items()]


@cache
def _provinces() -> list[ProvinceOut]:
    return [ProvinceOut(code=p.code, name_th=p.name_th, name_en=p.name_en)
            for p in geothai.provinces()]


@cache
def _districts(province_code: str | None) -> list[DistrictOut]:
    codes = [province_code] if province_code else [p.code for p in geothai.provinces()]
    return [DistrictOut(code=d.code, name_th=d.name_th, name_en=d.name_en,
                        province_code=d.province_code)
            for code in codes for d in geothai.districts(code)]


@router.get("/v1/reference/channels", response_model=list[CodeLabel], tags=["reference"])
async def channels(_: Caller) -> list[CodeLabel]:
    return _channels()


@router.get("/v1/reference/categories", response_model=list[CodeLabel], tags=["reference"])
async def categories(_: Caller) -> list[CodeLabel]:
    return _categories()


@router.get("/v1/reference/provinces", response_model=list[ProvinceOut], tags=["reference"])
async def provinces(_: Caller) -> list[ProvinceOut]:
    """The 77 provinces (DOPA codes, Thai and English names; data: GeoThai, CC BY 4.0)."""
    return _provinces()


@router.get("/v1/reference/districts", response_model=list[DistrictOut], tags=["reference"])
async def districts(
    _: Caller,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
) -> list[DistrictOut]:
    """Current districts (amphoe/khet), optionally of one province; 422 for an unknown one."""
    if province_code is not None and geothai.province(province_code) is None:
        raise _invalid([FieldError("province_code", "is not a current DOPA province code")])
    return _districts(province_code)
