"""The worklists' query and response documents."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel

from services.status.worklists.store import Worklist
from shared.codes import CaseStatus, ClosureReason


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


class ReopenRequestItem(WorklistItem):
    """A closed case the complainant says was not solved: the closure and the request."""

    closed_at: dt.datetime
    closure_reason: ClosureReason | None
    reopen_requested_at: dt.datetime


class WorklistOut(BaseModel):
    worklist: Worklist
    total: int
    limit: int
    offset: int
    items: list[WorklistItem]


class ReopenRequestsOut(WorklistOut):
    items: list[ReopenRequestItem]  # type: ignore[assignment]


class SortKey(StrEnum):
    """A worklist's order: a column, ``-`` for newest/largest first."""

    received_at = "received_at"
    received_at_desc = "-received_at"
    last_event_at = "last_event_at"
    last_event_at_desc = "-last_event_at"
    due_date = "due_date"
    due_date_desc = "-due_date"
    district_code = "district_code"
    district_code_desc = "-district_code"
    category = "category"
    category_desc = "-category"
    reopen_requested_at = "reopen_requested_at"
    reopen_requested_at_desc = "-reopen_requested_at"


class Page(BaseModel):
    limit: int | None  # None: the whole list (CSV export only)
    offset: int
    format: Format
    sort: SortKey | None = None  # None: the worklist's own order
