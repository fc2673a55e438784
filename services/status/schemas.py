"""The status API's request and response documents (apart from the domain and the stored rows)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.status.domain import Action, CaseStatus
from shared.iso_dates import IsoDate, IsoDateTime
from shared.text import SafeText


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    # No actor: the one recorded is the caller's token subject (a client still sending
    # one gets a 422 naming the field).
    note: SafeText | None = Field(default=None, max_length=4000)
    reason: SafeText | None = Field(default=None, max_length=1000)
    agency: SafeText | None = Field(default=None, max_length=300)
    agency_code: str | None = Field(default=None, pattern=r"^[0-9A-Za-z.\-]{1,20}$")
    due_date: IsoDate | None = None
    occurred_at: IsoDateTime | None = Field(
        default=None, description="when it happened, for outcomes recorded late (not future)"
    )
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
    actions: list[Action] = Field(
        default_factory=list, description="what the state machine allows from this status"
    )


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
