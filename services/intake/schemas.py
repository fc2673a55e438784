"""Intake's request and response documents (separate from the domain and the storage rows)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import geothai
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from services.intake.domain import validation as v
from shared.codes import CategoryCode, ChannelCode
from shared.text import FORBIDDEN_CLASS, SafeText

# The current DOPA codes (GeoThai), declared so that a client, or a fuzzer, knows which
# ones exist; the handlers check the same data.
PROVINCE_CODES = sorted(p.code for p in geothai.provinces())
DISTRICT_CODES = sorted(d.code for code in PROVINCE_CODES for d in geothai.districts(code))
_DISTRICT_ENUM: dict[str, JsonValue] = {"enum": [*DISTRICT_CODES]}
# A required text: no control character, and not blank (it is trimmed).
NON_BLANK = rf"^[^{FORBIDDEN_CLASS}]*[^{FORBIDDEN_CLASS}\s][^{FORBIDDEN_CLASS}]*$"


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


class SubdistrictOut(ProvinceOut):
    district_code: str


class ComplainantIn(BaseModel):
    """Who complains (documentation of the body; ``validation.py`` checks it, and more
    than this schema states: a name unless anonymous, no identity if anonymous, the
    national ID's checksum, a real Thai number)."""

    model_config = ConfigDict(extra="forbid")

    anonymous: bool
    title: SafeText | None = Field(default=None, max_length=v.TITLE_MAX)
    name: SafeText | None = Field(default=None, max_length=v.NAME_MAX)
    national_id: SafeText | None = Field(
        default=None, max_length=20, description="13 digits, checksum checked"
    )
    phone: SafeText | None = Field(
        default=None, max_length=30, description="Thai number, any common format"
    )
    email: SafeText | None = Field(default=None, max_length=v.EMAIL_MAX)
    address: SafeText | None = Field(default=None, max_length=v.ADDRESS_MAX)


class ComplaintIn(BaseModel):
    """The body of POST /v1/complaints, for the OpenAPI schema only: the hot path parses
    it by hand (``validation.parse_complaint``), naming every bad field in one 422, and
    checks more than this schema states: a subdistrict inside the district, a time not
    in the future."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelCode
    category: CategoryCode
    district_code: str = Field(pattern=r"^\d{4}$", json_schema_extra=_DISTRICT_ENUM)
    subdistrict_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    subject: str = Field(
        min_length=1, max_length=v.SUBJECT_MAX, json_schema_extra={"pattern": NON_BLANK}
    )
    description: str = Field(
        min_length=1, max_length=v.DESCRIPTION_MAX, json_schema_extra={"pattern": NON_BLANK}
    )
    received_at: dt.datetime | None = Field(default=None, description="default: now")
    channel_ref: SafeText | None = Field(default=None, max_length=v.REF_MAX)
    complainant: ComplainantIn
