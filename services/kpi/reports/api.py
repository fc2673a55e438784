"""The KPI reports over HTTP: every figure of ARCHITECTURE.md §7, as of any date and as known
at any time.

Every endpoint takes the filters province_code, district_code, channel, category (and
fiscal_year: required where it defines the report), ``as_of=YYYY-MM-DD`` (the end of that
day in Bangkok, by effective time) and ``known_at`` (ignore what was recorded later; a
time without a zone is Bangkok time).  ``?format=csv`` answers the same table as CSV.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.kpi.deps import AnyYear, Format, Kept, Now, OfYear, Pool, Sla
from services.kpi.domain.asof import Scope, reference_date
from services.kpi.domain.metrics import SlaPolicy
from services.kpi.reports import answers, schemas
from services.kpi.reports import usecases as reports
from shared.csv_export import csv_response

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


def sla_key(policy: SlaPolicy) -> Hashable:
    """The SLA policy as part of a question (its answer depends on it)."""
    return policy.default_days, tuple(sorted(policy.by_category.items()))


async def _answer(
    kept: answers.Answers,
    pool: Pool,
    question: tuple[Hashable, ...],
    make: Callable[[reports.Db], Awaitable[reports.Report]],
    model: type[BaseModel],
    fmt: str,
) -> Response:
    """The report asked (``question[0]`` names it) as JSON (validated by ``model``) or its
    table as CSV, computed in one snapshot (``answers.snapshot``) and rendered once per
    state of the projection (``answers``)."""

    async def render() -> answers.Rendered:
        async with answers.snapshot(pool) as db:
            report = await make(db)
        if fmt == "csv":
            return answers.Rendered.of(csv_response(report.columns, report.rows, str(question[0])))
        return answers.Rendered.json(model.model_validate(report.doc))

    return await answers.answer(kept, pool, (*question, fmt), render)


def _asked(name: str, scope: Scope, *more: Hashable) -> tuple[Hashable, ...]:
    return (name, dataclasses.astuple(scope), *more)


def _day(scope: Scope, now: dt.datetime) -> dt.date:
    """The day a report's ages and silences count to: part of its question."""
    return reference_date(scope.as_of, now)


@router.get("/summary", response_model=schemas.Summary)
async def summary(
    kept: Kept, pool: Pool, scope: OfYear, policy: Sla, format: Format = "json"
) -> Any:
    """Cases received in the fiscal year (by the end of ``as_of``), closed, open, closure
    rate, closed within their category's SLA, SLA rate (of those closed), median and p90
    days to close; by channel and by category."""
    question = _asked("summary", scope, sla_key(policy))
    make = partial(reports.summary, scope=scope, sla=policy)
    return await _answer(kept, pool, question, make, schemas.Summary, format)


@router.get("/backlog", response_model=schemas.Backlog)
async def backlog(kept: Kept, pool: Pool, scope: AnyYear, format: Format = "json") -> Any:
    """Open cases at the end of ``as_of`` (default: now), by fiscal year of origin."""
    make = partial(reports.backlog, scope=scope)
    return await _answer(kept, pool, _asked("backlog", scope), make, schemas.Backlog, format)


@router.get("/carry-over", response_model=schemas.CarryOver)
async def carry_over(kept: Kept, pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """Cases open when the fiscal year began, from N−2 and N−1, and how many closed in N."""
    make = partial(reports.carry_over, scope=scope)
    question = _asked("carry-over", scope)
    return await _answer(kept, pool, question, make, schemas.CarryOver, format)


@router.get("/aging", response_model=schemas.Aging)
async def aging(kept: Kept, pool: Pool, scope: AnyYear, now: Now, format: Format = "json") -> Any:
    """The open backlog at the end of ``as_of`` in age buckets of 0–15 .. >90 days."""
    make = partial(reports.aging, scope=scope, now=now)
    question = _asked("aging", scope, _day(scope, now))
    return await _answer(kept, pool, question, make, schemas.Aging, format)


@router.get("/recording", response_model=schemas.Recording)
async def recording(
    kept: Kept, pool: Pool, scope: AnyYear, now: Now, format: Format = "json"
) -> Any:
    """Recording lag and each district's recording continuity (CSV: the districts)."""
    make = partial(reports.recording, scope=scope, now=now)
    question = _asked("recording", scope, _day(scope, now))
    return await _answer(kept, pool, question, make, schemas.Recording, format)


@router.get("/monthly", response_model=schemas.Monthly)
async def monthly(kept: Kept, pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """The monthly report: carried in, received, closed, reopened, remaining, cumulative."""
    make = partial(reports.monthly, scope=scope)
    return await _answer(kept, pool, _asked("monthly", scope), make, schemas.Monthly, format)


@router.get("/districts", response_model=schemas.Districts)
async def districts(kept: Kept, pool: Pool, scope: OfYear, format: Format = "json") -> Any:
    """All districts: the year's received/closed and closure rate with its Wilson lower
    bound, the backlog, ranked by backlog and by (fair) closure rate."""
    make = partial(reports.districts, scope=scope)
    question = _asked("districts", scope)
    return await _answer(kept, pool, question, make, schemas.Districts, format)
