"""The dashboard's answer: the five reports, each in its own endpoint's shape."""

from __future__ import annotations

from pydantic import BaseModel

from services.kpi.reports.schemas import Aging, Monthly, Recording, Summary
from services.kpi.satisfaction.schemas import Satisfaction


class Dashboard(BaseModel):
    summary: Summary
    monthly: Monthly
    aging: Aging
    recording: Recording
    satisfaction: Satisfaction
