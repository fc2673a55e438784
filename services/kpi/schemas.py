"""The kpi API's own response documents (the reports' are in ``reports/schemas.py``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class ProgressOut(BaseModel):
    events_applied: int
    cases: int
    last_recorded_at: dt.datetime | None
