"""The worklists' query and response documents."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel

from services.status.worklists.store import Worklist
from shared.codes import CaseStatus


class Format(StrEnum):
    json = "json"
    csv = "csv"


class WorklistItem(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    status: CaseStatus
    province_code: str
    district_code: str
    category: str
    channel: str
    received_at: dt.datetime
    last_event_at: dt.datetime
    age_days: int
    days_since_last_event: int
    agency: str | None
    due_date: dt.date | None


class WorklistOut(BaseModel):
    worklist: Worklist
    total: int
    limit: int
    offset: int
    items: list[WorklistItem]


class Page(BaseModel):
    limit: int | None  # None: the whole list (CSV export only)
    offset: int
    format: Format
