"""Then vs now (/compare): the report as it was known at a date T beside today's view of
the same period, per district, with the gap recorded late; downloadable."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from services.console import exports
from services.console.dashboard.api import district_names
from services.console.deps import Api, Page, now, translator
from services.console.domain import compare as cmp
from services.console.domain import dashboard as dash
from services.console.domain.provinces import names
from services.console.security import csrf_protect
from shared.thai_calendar import BANGKOK, fiscal_year

router = APIRouter(dependencies=[Depends(csrf_protect)])


async def _compare(
    request: Request, api: Api
) -> tuple[dash.Filters, dt.date, dict[str, str], list[cmp.Gap], dict[str, str]]:
    t = translator(request)
    query = request.query_params
    moment, error = cmp.parse_moment(query.get("at"), now())
    filters, errors = dash.parse_filters(query, now())
    errors.pop("as_of", None)
    if error:
        errors["at"] = error
    if not query.get("fiscal_year") or "fiscal_year" in errors:
        end = dt.datetime.combine(moment, dt.time(23, 59), BANGKOK)
        filters = replace(filters, fiscal_year=fiscal_year(end))
    filters = replace(filters, as_of=moment)
    params = filters.params()
    then, today, provinces = await asyncio.gather(
        api.get("kpi", "/v1/kpi/districts", **params, known_at=cmp.known_at(moment)),
        api.get("kpi", "/v1/kpi/districts", **params),
        api.get("intake", "/v1/reference/provinces"),
    )
    area = await district_names(api, {"districts": then["districts"] + today["districts"]}, t.lang)
    rows = cmp.gaps(then["districts"], today["districts"], area)
    return filters, moment, errors, rows, names(provinces, t.lang)


@router.get("/compare")
async def compare(request: Request, page: Page, api: Api) -> Response:
    t = translator(request)
    filters, moment, errors, rows, provinces = await _compare(request, api)
    return page(
        "compare/index.html",
        {
            "filters": filters,
            "moment": moment,
            "errors": errors,
            "rows": rows,
            "total": cmp.total(rows, t("compare.total")),
            "provinces": provinces,
            "query": filters.query(at=moment.isoformat(), as_of=None),
        },
        status_code=422 if errors else 200,
    )


@router.get("/compare/districts.{fmt}")
async def compare_download(request: Request, api: Api, fmt: str) -> Response:
    if fmt not in exports.FORMATS:
        raise HTTPException(404)
    t = translator(request)
    _, moment, _, rows, _ = await _compare(request, api)
    table = exports.Table(
        f"then-vs-now-{moment.isoformat()}",
        cmp.COLUMNS,
        [t(f"compare.col.{c}") for c in cmp.COLUMNS],
        [cmp.as_row(g) for g in rows],
    )
    return exports.download(table, fmt)
