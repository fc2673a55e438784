"""KPI HTTP API: the fiscal-year summary and the projection's progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.kpi import domain, store

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


def _pool(request: Request) -> asyncpg.Pool:
    pool = request.app.state.runtime.pool
    assert pool is not None
    return pool


Pool = Annotated[asyncpg.Pool, Depends(_pool)]


class Counts(BaseModel):
    received: int
    closed: int
    open: int


class Summary(BaseModel):
    fiscal_year: int
    province_code: str | None
    district_code: str | None
    received: int
    closed: int
    open: int
    closure_rate: float | None
    median_days_to_close: float | None
    by_channel: dict[str, Counts]
    by_category: dict[str, Counts]


class ProgressOut(BaseModel):
    events_applied: int
    cases: int
    last_recorded_at: dt.datetime | None


@router.get("/summary", response_model=Summary)
async def summary(
    pool: Pool,
    fiscal_year: Annotated[int, Query(ge=2500, le=2700, description="Thai fiscal year (BE)")],
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    district_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
) -> Summary:
    """Cases received in ``fiscal_year`` (within the area), how many are closed now."""
    tallies, med = await store.tallies(pool, fiscal_year, province_code, district_code)
    return Summary.model_validate(
        domain.summarize(fiscal_year, province_code, district_code, tallies, med)
    )


@router.get("/progress", response_model=ProgressOut)
async def progress(pool: Pool) -> ProgressOut:
    """How far the projection is (for benchmarks and tests to wait on)."""
    p = await store.progress(pool)
    return ProgressOut(events_applied=p.events_applied, cases=p.cases,
                       last_recorded_at=p.last_recorded_at)
