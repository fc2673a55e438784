"""The register import's response document."""

from __future__ import annotations

import uuid

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
