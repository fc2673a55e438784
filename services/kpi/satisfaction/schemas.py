"""The satisfaction report's document."""

from __future__ import annotations

from pydantic import BaseModel

from services.kpi.reports.schemas import Head


class SatisfactionRow(BaseModel):
    """One district's closures (or all of them: the total, with empty codes)."""

    province_code: str
    district_code: str
    closures: int
    rated: int
    response_rate: float | None
    mean_score: float | None
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int
    disputed: int
    disputed_rate: float | None
    reopened: int
    reopened_rate: float | None


class Satisfaction(Head):
    total: SatisfactionRow
    districts: list[SatisfactionRow]
