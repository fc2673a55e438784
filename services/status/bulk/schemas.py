"""The bulk transition's request and response documents."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.status.domain import Action, CaseStatus
from shared.iso_dates import IsoDate, IsoDateTime
from shared.text import SafeText

MAX_ITEMS = 1000


class BulkItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaint_id: uuid.UUID
    action: Action
    note: SafeText | None = Field(default=None, max_length=4000)
    reason: SafeText | None = Field(default=None, max_length=1000)
    agency: SafeText | None = Field(default=None, max_length=300)
    due_date: IsoDate | None = None
    occurred_at: IsoDateTime | None = None
    expected_version: int | None = Field(default=None, ge=1)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No actor here or in the items: the one recorded is the caller's token subject.
    items: list[BulkItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class ItemError(BaseModel):
    status: int
    title: str
    detail: str


class BulkItemOut(BaseModel):
    complaint_id: uuid.UUID
    ok: bool
    status: CaseStatus | None = None
    version: int | None = None
    error: ItemError | None = None


class BulkOut(BaseModel):
    results: list[BulkItemOut]
    succeeded: int
    failed: int
