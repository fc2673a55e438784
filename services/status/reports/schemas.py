"""The cases report's response document."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class CaseReportOut(BaseModel):
    district_code: str
    date_from: dt.date
    date_to: dt.date
    cases: int
    open: int
    closed: int
    by_status: dict[str, int]
    transitions: dict[str, int]
    closures: dict[str, int]
    inconsistent: int
