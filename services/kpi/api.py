"""KPI HTTP API: every figure of DESIGN.md §4, as of any date and as known at any time.

Every endpoint takes the filters province_code, district_code, channel, category (and
fiscal_year: required where it defines the report), ``as_of=YYYY-MM-DD`` (the end of that
day in Bangkok, by effective time) and ``known_at`` (ignore what was recorded later; a
time without a zone is Bangkok time).  ``?format=csv`` answers the same table as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Awaitable
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from services.kpi import reports, schemas, sla, store
from services.kpi.asof import Scope, aware
from services.kpi.metrics import SlaPolicy
from shared.auth.deps import Caller, confined, require
from shared.auth.policy import Operation
from shared.codes import CategoryCode, ChannelCode

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


def _pool(request: Request) -> asyncpg.Pool:
    pool = request.app.state.runtime.pool
    assert pool is not None
    return pool


@functools.cache
def _default_sla() -> SlaPolicy:
    return sla.load()


def _sla(request: Request) -> SlaPolicy:
    """The app's SLA policy (``app.state.sla``), else the one in ``sla.toml``."""
    policy = getattr(request.app.state, "sla", None)
    return policy if isinstance(policy, SlaPolicy) else _default_sla()


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Sla = Annotated[SlaPolicy, Depends(_sla)]
FiscalYear = Query(ge=2500, le=2700, description="Thai fiscal year (BE)")
Format = Annotated[Literal["json", "csv"], Query(description="json, or csv: the table")]


def _filters(
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    district_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    channel: ChannelCode | None = None,
    category: CategoryCode | None = None,
    as_of: Annotated[dt.date | None, Query(description="end of this day, Bangkok")] = None,
    known_at: Annotated[dt.datetime | None, Query(description="ignore later records")] = None,
    *,
    principal: Caller,
) -> Scope:
    """Every filter but the fiscal year, confined to the caller's jurisdiction (403 for
    another area's)."""
    province_code, district_code = confined(principal, Operation.read_kpi, province_code,
                                            district_code)
    return Scope(None, province_code, district_code,
                 None if channel is None else channel.value,
                 None if category is None else category.value,
                 as_of, None if known_at is None else aware(known_at).astimezone(dt.UTC))


def _scope_of_year(fiscal_year: Annotated[int, FiscalYear],
                   rest: Annotated[Scope, Depends(_filters)]) -> Scope:
    return Scope(fiscal_year, rest.province_code, rest.district_code, rest.channel,
                 rest.category, rest.as_of, rest.known_at)


def _scope_any_year(rest: Annotated[Scope, Depends(_filters)],
                    fiscal_year: Annotated[int | None, FiscalYear] = None) -> Scope:
    return Scope(fiscal_year, rest.province_code, rest.district_code, rest.channel,
                 rest.category, rest.as_of, rest.known_at)


OfYear = Annotated[Scope, Depends(_scope_of_year)]
AnyYear = Annotated[Scope, Depends(_scope_any_year)]


def to_csv(report: reports.Report) -> str:
    """The report's table as CSV: a header, then one line per row (empty cells for none)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=report.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in report.columns})
    return out.getvalue()


async def _answer(make: Awaitable[reports.Report], model: type[BaseModel], fmt: str,
                  name: str) -> Any:
    report = await make
    if fmt == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    return model.model_validate(report.doc)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Now = Annotated[dt.datetime, Depends(_now)]


@router.get("/summary", response_model=schemas.Summary)
async def summary(pool: Pool, scope: OfYear, policy: Sla, format: Format = "json") -> Any:
    """Cases received in the fiscal year (by the end of ``as_of``), closed, open, closure
    rate, closed within their category's SLA, SLA rate (of those closed), median and p90
    days to close; by channel and by category."""
    return await _answer(reports.summary(pool, scope, policy), schemas.Summary, format,
                         "summary")


@router.get("/backlog", response_model=schemas.Backlog)
async def backlog(pool: Pool, scope: AnyYear, format: Format = "json") -> Any:
    """Open cases at the end of ``as_of`` (default: now), by fiscal year of origin."""
    return await _answer(reports.backlog(pool, scope), schemas.Backlog, format, "backlog")


@router.get("/carry-over", response_model=schemas.CarryOver)
async def carry_over(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """Cases open when the fiscal year began, from N−2 and N−1, and how many closed in N."""
    return await _answer(reports.carry_over(pool, scope), schemas.CarryOver, format,
                         "carry-over")


@router.get("/aging", response_model=schemas.Aging)
async def aging(pool: Pool, scope: AnyYear, now: Now, format: Format = "json") -> Any:
    """The open backlog at the end of ``as_of`` in age buckets of 0–15 .. >90 days."""
    return await _answer(reports.aging(pool, scope, now), schemas.Aging, format, "aging")


@router.get("/recording", response_model=schemas.Recording)
async def recording(pool: Pool, scope: AnyYear, now: Now, format: Format = "json") -> Any:
    """Recording lag and each district's recording continuity (CSV: the districts)."""
    return await _answer(reports.recording(pool, scope, now), schemas.Recording, format,
                         "recording")


@router.get("/monthly", response_model=schemas.Monthly)
async def monthly(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """The monthly report: carried in, received, closed, reopened, remaining, cumulative."""
    return await _answer(reports.monthly(pool, scope), schemas.Monthly, format, "monthly")


@router.get("/districts", response_model=schemas.Districts)
async def districts(pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """All districts: the year's received/closed and closure rate with its Wilson lower
    bound, the backlog, ranked by backlog and by (fair) closure rate."""
    return await _answer(reports.districts(pool, scope), schemas.Districts, format,
                         "districts")


@router.get("/progress", response_model=schemas.ProgressOut)
async def progress(pool: Pool, principal: Caller) -> schemas.ProgressOut:
    """How far the projection is (for benchmarks and tests to wait on)."""
    require(principal, Operation.read_kpi)
    p = await store.progress(pool)
    return schemas.ProgressOut(events_applied=p.events_applied, cases=p.cases,
                               last_recorded_at=p.last_recorded_at)
