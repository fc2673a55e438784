"""The register import's response document."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


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


class JobProgressOut(BaseModel):
    """Rows in the file, rows gone through so far, and rows filed so far.  A CSV imported
    directly (``POST /v1/imports``) has its rows counted by line ends until it is done (a
    cell spanning lines counts over); every other job's are the rows read."""

    total: int
    done: int
    filed: int


class ExpectedOut(BaseModel):
    """What the upload's check of every row found: rows to file, rows already imported
    (inside the file or by an earlier import) and rejected rows, before anything is filed."""

    to_file: int
    duplicates: int
    rejected: int


class ImportJobOut(BaseModel):
    """An import job: its status and progress, and once ``done`` the summary."""

    job_id: uuid.UUID
    status: Literal["queued", "running", "stalled", "done", "failed"]
    progress: JobProgressOut
    expected: ExpectedOut | None = None  # null: the rows are checked as they are filed
    result: ImportOut | None = None
    error: str | None = None
