"""The staged import's documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

from services.intake.backfill.schemas import DuplicateRowOut, ImportOut, RejectedRowOut


class ColumnOut(BaseModel):
    field: str  # the template's field name
    header: str  # the file's own header text


class SampleRowOut(BaseModel):
    row: int
    cells: list[str]  # in the order of ``preview.columns``


class PreviewOut(BaseModel):
    """What confirming would do: rows read, rows to file, duplicates, rejected rows."""

    rows: int
    to_file: int
    duplicates: int
    rejected: list[RejectedRowOut]
    duplicate_rows: list[DuplicateRowOut]
    ignored_columns: list[str]
    columns: list[ColumnOut]


class ProgressOut(BaseModel):
    total: int
    done: int
    filed: int


class JobOut(BaseModel):
    job_id: uuid.UUID
    status: Literal["staged", "queued", "running", "stalled", "done", "failed"]
    staged_by: str
    district_code: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None
    finished_at: dt.datetime | None
    progress: ProgressOut
    # null for a CSV imported directly (POST /v1/imports): its rows are checked as filed.
    preview: PreviewOut | None
    # The first rows as read (personal data: only the owner or an admin gets the job).
    sample: list[SampleRowOut] | None = None
    result: ImportOut | None = None
    error: str | None = None
