"""``GET /v1/kpi/satisfaction``: per district, the complainants' ratings of closures (mean,
distribution 1..5, response rate) and how many closures were disputed ("not actually
solved") or reopened: the guard against closing cases just to meet a KPI.

The filters of every KPI report (fiscal_year required, province, district, channel,
category, ``as_of``, ``known_at``), confined to the caller's jurisdiction; ``?format=csv``
answers the districts as a table.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from services.kpi.deps import Format, Kept, OfYear, Pool
from services.kpi.domain import satisfaction
from services.kpi.domain.asof import Scope
from services.kpi.reports import answers
from services.kpi.satisfaction import store
from services.kpi.satisfaction.schemas import Satisfaction, SatisfactionRow
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation
from shared.csv_export import csv_response

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])
COLUMNS = tuple(SatisfactionRow.model_fields)


def document(scope: Scope, found: satisfaction.Report) -> Satisfaction:
    """The JSON answer of the report ``found`` for ``scope``."""
    return Satisfaction(
        fiscal_year=scope.fiscal_year,
        province_code=scope.province_code,
        district_code=scope.district_code,
        channel=scope.channel,
        category=scope.category,
        as_of=scope.as_of,
        known_at=scope.known_at,
        total=SatisfactionRow.model_validate(found.total),
        districts=[SatisfactionRow.model_validate(d) for d in found.districts],
    )


@router.get("/satisfaction", response_model=Satisfaction)
async def satisfaction_report(
    kept: Kept, pool: Pool, scope: OfYear, principal: Caller, format: Format = "json"
) -> Any:
    """Closures of the fiscal year's cases per district: rated, mean score, scores 1..5,
    response rate; disputed and reopened, with their rates (counts beside rates)."""
    require(principal, Operation.read_kpi)

    async def render() -> answers.Rendered:
        found = satisfaction.report(await store.counts(pool, scope))
        if format == "csv":
            return answers.Rendered.of(csv_response(COLUMNS, found.districts, "satisfaction"))
        return answers.Rendered.json(document(scope, found))

    question = ("satisfaction", dataclasses.astuple(scope), format)
    return await answers.answer(kept, pool, question, render)
