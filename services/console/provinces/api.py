"""The province map (/provinces) and one province's districts (/provinces/{code}).

The map is a tile grid of the 77 provinces coloured by backlog or closure rate (the user
toggles), from kpi's district report summed per province; a province's page lists its
districts (every one of intake's reference list, counts beside rates), sortable and
downloadable, each linking to its backlog worklist.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from services.console import exports
from services.console.deps import Api, Page, now, translator
from services.console.domain import dashboard as dash
from services.console.domain import provinces as pv
from services.console.security import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _measure(request: Request) -> str:
    measure = request.query_params.get("measure", "backlog")
    return measure if measure in pv.MEASURES else "backlog"


@router.get("/provinces")
async def province_map(request: Request, page: Page, api: Api) -> Response:
    t = translator(request)
    filters, errors = dash.parse_filters(request.query_params, now())
    measure = _measure(request)
    reference, report = await asyncio.gather(
        api.get("intake", "/v1/reference/provinces"),
        api.get("kpi", "/v1/kpi/districts", **filters.params()),
    )
    totals = pv.by_province(report.get("districts") or [])
    tiles = pv.tiles(pv.names(reference, t.lang), totals, measure)
    return page(
        "provinces/map.html",
        {
            "filters": filters,
            "errors": errors,
            "measure": measure,
            "measures": pv.MEASURES,
            "tiles": tiles,
            "bands": range(pv.BANDS),
            "backlog_bands": pv.backlog_bands(max((x.backlog for x in tiles), default=0)),
        },
        status_code=422 if errors else 200,
    )


async def _districts(
    request: Request, api: Api, code: str
) -> tuple[dash.Filters, dict[str, str], str, list[dict[str, Any]]]:
    if code not in pv.GRID:
        raise HTTPException(404)
    t = translator(request)
    filters, errors = dash.parse_filters(request.query_params, now())
    params = {**filters.params(), "province_code": code, "district_code": None}
    reference, report, provinces = await asyncio.gather(
        api.get("intake", "/v1/reference/districts", province_code=code),
        api.get("kpi", "/v1/kpi/districts", **params),
        api.get("intake", "/v1/reference/provinces"),
    )
    rows = pv.district_rows(reference, report.get("districts") or [], t.lang)
    name = pv.names(provinces, t.lang).get(code, code)
    return filters, errors, name, rows


def _sort(request: Request) -> tuple[str, bool]:
    key = request.query_params.get("sort", "name")
    return (key if key in pv.SORTS else "name"), request.query_params.get("desc") == "1"


@router.get("/provinces/{code}")
async def province(request: Request, page: Page, api: Api, code: str) -> Response:
    filters, errors, name, rows = await _districts(request, api, code)
    key, descending = _sort(request)
    return page(
        "provinces/province.html",
        {
            "filters": filters,
            "errors": errors,
            "code": code,
            "name": name,
            "rows": pv.sort_districts(rows, key, descending),
            "sort": key,
            "desc": descending,
            "sorts": pv.SORTS,
        },
        status_code=422 if errors else 200,
    )


@router.get("/provinces/{code}/districts.{fmt}")
async def province_download(request: Request, api: Api, code: str, fmt: str) -> Response:
    if fmt not in exports.FORMATS:
        raise HTTPException(404)
    t = translator(request)
    filters, _, _, rows = await _districts(request, api, code)
    key, descending = _sort(request)
    columns = ["code", "name", "received", "closed", "closure_rate", "backlog"]
    table = exports.Table(
        f"districts-{code}-{filters.fiscal_year}",
        columns,
        [t(f"provinces.col.{c}") for c in columns],
        pv.sort_districts(rows, key, descending),
    )
    return exports.download(table, fmt)
