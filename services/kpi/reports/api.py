"""The KPI reports over HTTP: every figure of ARCHITECTURE.md §7, as of any date and as known
at any time.

Every endpoint takes the filters province_code, district_code, channel, category (and
fiscal_year: required where it defines the report), ``as_of=YYYY-MM-DD`` (the end of that
day in Bangkok, by effective time) and ``known_at`` (ignore what was recorded later; a
time without a zone is Bangkok time).  ``?format=csv`` answers the same table as CSV.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from services.kpi.deps import AnyYear, Format, Now, OfYear, Pool, Sla
from services.kpi.reports import schemas
from services.kpi.reports import usecases as reports
from shared.csv_export import csv_response

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


async def _answer(
    make: Awaitable[reports.Report], model: type[BaseModel], fmt: str, name: str
) -> Any:
    report = await make
    if fmt == "csv":
        return csv_response(report.columns, report.rows, name)
    return model.model_validate(report.doc)


@router.get("/summary", response_model=schemas.Summary)
async def summary(pool: Pool, scope: OfYear, policy: Sla, format: Format = "json") -> Any:
    """Cases received in the fiscal year (by the end of ``as_of``), closed, open, closure
    rate, closed within their category's SLA, SLA rate (of those closed), median and p90
    days to close; by channel and by category."""
    return await _answer(reports.summary(pool, scope, policy), schemas.Summary, format, "summary")


@router.get("/backlog", response_model=schemas.Backlog)
async def backlog(pool: Pool, scope: AnyYear, format: Format = "json") -> Any:
    """Open cases at the end of ``as_of`` (default: now), by fiscal year of origin."""
    return await _answer(reports.backlog(pool, scope), schemas.Backlog, format, "backlog")


@router.get("/carry-over", response_model=schemas.CarryOver)
async def carry_over(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """Cases open when the fiscal year began, from N−2 and N−1, and how many closed in N."""
    return await _answer(reports.carry_over(pool, scope), schemas.CarryOver, format, "carry-over")


@router.get("/aging", response_model=schemas.Aging)
async def aging(pool: Pool, scope: AnyYear, now: Now, format: Format = "json") -> Any:
    """The open backlog at the end of ``as_of`` in age buckets of 0–15 .. >90 days."""
    return await _answer(reports.aging(pool, scope, now), schemas.Aging, format, "aging")


@router.get("/recording", response_model=schemas.Recording)
async def recording(pool: Pool, scope: AnyYear, now: Now, format: Format = "json") -> Any:
    """Recording lag and each district's recording continuity (CSV: the districts)."""
    return await _answer(
        reports.recording(pool, scope, now), schemas.Recording, format, "recording"
    )


@router.get("/monthly", response_model=schemas.Monthly)
async def monthly(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """The monthly report: carried in, received, closed, reopened, remaining, cumulative."""
    return await _answer(reports.monthly(pool, scope), schemas.Monthly, format, "monthly")


@router.get("/districts", response_model=schemas.Districts)
async def districts(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """All districts: the year's received/closed and closure rate with its Wilson lower
    bound, the backlog, ranked by backlog and by (fair) closure rate."""
    return await _answer(reports.districts(pool, scope), schemas.Districts, format, "districts")
