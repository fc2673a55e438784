"""The KPI dashboard (/dashboard): tiles, the monthly chart and table, backlog aging,
recording continuity and the complainants' satisfaction after closure, each table
downloadable (CSV, XLSX) and the monthly report as an A4 PDF, all under the same filters,
all from kpi's answers to the user's own token (the page's five reports in one request).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.console import exports
from services.console.deps import Api, Page, now, translator
from services.console.domain import charts
from services.console.domain import dashboard as dash
from services.console.domain.dates import be_month
from services.console.domain.i18n import Translator
from services.console.domain.provinces import names
from services.console.security import csrf_protect
from services.console.templating import STATIC, TEMPLATES
from shared.thai_calendar import BANGKOK

router = APIRouter(dependencies=[Depends(csrf_protect)])

TABLES = ("summary", "monthly", "aging", "recording", "satisfaction")
# Tables with a row per district, named from intake's reference lists.
BY_DISTRICT = ("recording", "satisfaction")


async def _choices(api: Api, scope: dict[str, Any], lang: str) -> dict[str, Any]:
    """The pickers' options and the area's names (from intake's reference lists).

    ``scope`` is a kpi document's head: its area is the one kpi answered for, confined to
    the user's jurisdiction, so an officer's own district is named without a filter."""
    provinces, channels, categories = await asyncio.gather(
        api.get("intake", "/v1/reference/provinces"),
        api.get("intake", "/v1/reference/channels"),
        api.get("intake", "/v1/reference/categories"),
    )
    districts: list[dict[str, Any]] = []
    province = scope.get("province_code") or (scope.get("district_code") or "")[:2]
    if province in {p["code"] for p in provinces}:
        districts = await api.get("intake", "/v1/reference/districts", province_code=province)
    label = "label_en" if lang == "en" else "label_th"
    return {
        "provinces": names(provinces, lang),
        "districts": names(districts, lang),
        "channels": {c["code"]: c[label] for c in channels},
        "categories": {c["code"]: c[label] for c in categories},
    }


def area_name(scope: dict[str, Any], choices: dict[str, Any], t: Translator) -> str:
    """The area kpi answered for (its document's head), by name."""
    district, province = scope.get("district_code"), scope.get("province_code")
    if district:
        return f"{choices['districts'].get(district, district)}, " + str(
            choices["provinces"].get(province, province)
        )
    if province:
        return str(choices["provinces"].get(province, province))
    return t("dashboard.report.whole_country")


def _month_label(m: dash.Month, lang: str) -> str:
    return be_month(m.year_ce, m.month, lang)


def table(name: str, doc: dict[str, Any], t: Translator, area: dict[str, str]) -> exports.Table:
    """The table ``name`` of the dashboard from kpi's document for it."""
    file = f"{name}-{doc.get('fiscal_year') or 'all'}"
    if name == "summary":
        cols = list(dash.TILES)
        return exports.Table(
            file, cols, [t(f"dashboard.tile.{c}") for c in cols], [{c: doc.get(c) for c in cols}]
        )
    if name == "monthly":
        cols = ["month", *dash.MONTH_SERIES, "reopened"]
        rows = [
            {
                "month": _month_label(m, t.lang),
                "carried_in": m.carried_in,
                "received": m.received,
                "closed": m.closed,
                "remaining": m.remaining,
                "reopened": m.reopened,
            }
            for m in dash.months(doc)
        ]
        return exports.Table(file, cols, [t(f"dashboard.monthly.{c}") for c in cols], rows)
    if name == "aging":
        cols = ["bucket", "open"]
        rows = [{"bucket": b["bucket"], "open": b["open"]} for b in doc.get("buckets") or []]
        return exports.Table(file, cols, [t(f"dashboard.aging.{c}") for c in cols], rows)
    if name == "satisfaction":
        cols = ["district_code", "district", *dash.SATISFACTION_COLUMNS]
        heads = [t(f"dashboard.satisfaction.col.{c}") for c in cols]
        rows = [
            {**r, "district": area.get(r["district_code"], r["district_code"])}
            for r in dash.satisfaction_rows(doc)
        ]
        total = doc.get("total") or {}
        rows.append(
            {
                "district_code": "",
                "district": t("dashboard.satisfaction.total"),
                **{c: total.get(c) for c in dash.SATISFACTION_COLUMNS},
            }
        )
        return exports.Table(file, cols, heads, rows)
    cols = ["district_code", "district", "last_record_date", "days_since_last_record", "silent"]
    rows = [
        {
            "district_code": r.district_code,
            "district": area.get(r.district_code, r.district_code),
            "last_record_date": r.last_record_date.isoformat(),
            "days_since_last_record": r.days_since_last_record,
            "silent": t("dashboard.recording.silent_yes" if r.silent else "dashboard.recording.ok"),
        }
        for r in dash.continuity(doc)
    ]
    return exports.Table(file, cols, [t(f"dashboard.recording.{c}") for c in cols], rows)


PATHS = {
    "summary": "/v1/kpi/summary",
    "monthly": "/v1/kpi/monthly",
    "aging": "/v1/kpi/aging",
    "recording": "/v1/kpi/recording",
    "satisfaction": "/v1/kpi/satisfaction",
}


async def district_names(api: Api, doc: dict[str, Any], lang: str) -> dict[str, str]:
    """The names of the districts in a kpi document's ``districts`` (intake's reference):
    one province's list, or the whole list at once when they span several."""
    provinces = {str(d["province_code"]) for d in doc.get("districts") or []}
    if not provinces:
        return {}
    only = next(iter(provinces)) if len(provinces) == 1 else None
    return names(await api.get("intake", "/v1/reference/districts", province_code=only), lang)


@router.get("/dashboard")
async def dashboard(request: Request, page: Page, api: Api) -> Response:
    t = translator(request)
    filters, errors = dash.parse_filters(request.query_params, now())
    params = filters.params()
    # The five reports in one answer (kpi /v1/kpi/dashboard: each as its own path answers).
    bundle = await api.get("kpi", "/v1/kpi/dashboard", **params)
    summary, monthly, aging, recording, satisfaction = (bundle[n] for n in TABLES)
    shown = dash.SHOWN_DISTRICTS
    continuity = dash.continuity(recording, shown)
    concerns = dash.most_concerning(satisfaction, shown)
    # Only the districts shown are named (one province's list, not the country's).
    named = {"districts": [{"province_code": r.province_code} for r in continuity] + concerns}
    choices, area = await asyncio.gather(
        _choices(api, summary, t.lang), district_names(api, named, t.lang)
    )
    months = dash.months(monthly)
    chart = charts.grouped_bars([_month_label(m, t.lang) for m in months], dash.series(months))
    return page(
        "dashboard/index.html",
        {
            "filters": filters,
            "errors": errors,
            "choices": choices,
            "summary": summary,
            "months": months,
            "chart": chart,
            "series": dash.MONTH_SERIES,
            "aging": dash.with_dates(aging, "reference_date"),
            "recording": recording,
            "continuity": continuity,
            "continuity_all": len(recording.get("districts") or []),
            "district_names": area,
            "satisfaction": satisfaction,
            "satisfaction_rows": concerns,
            "satisfaction_all": len(satisfaction.get("districts") or []),
            "scores": dash.distribution(satisfaction.get("total") or {}),
            "tiles": dash.TILES,
            "area": area_name(summary, choices, t),
        },
        status_code=422 if errors else 200,
    )


def _pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # heavy: when printing
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    # @font-face is only read with a font configuration shared by the CSS and the render.
    fonts = FontConfiguration()
    base = STATIC.as_uri() + "/"
    css = CSS(
        string=(TEMPLATES / "pdf" / "monthly.css").read_text("utf-8"),
        base_url=base,
        font_config=fonts,
    )
    pdf: bytes = HTML(string=html, base_url=base).write_pdf(stylesheets=[css], font_config=fonts)
    return pdf


@router.get("/dashboard/report.pdf")
async def report_pdf(request: Request, api: Api) -> Response:
    """The monthly report on A4 in the user's language, headed by its fiscal year, area
    and as-of date, under the dashboard's filters."""
    t = translator(request)
    filters, _ = dash.parse_filters(request.query_params, now())
    params = filters.params()
    summary, monthly = await asyncio.gather(
        api.get("kpi", PATHS["summary"], **params), api.get("kpi", PATHS["monthly"], **params)
    )
    choices = await _choices(api, summary, t.lang)
    area = area_name(summary, choices, t)
    moment = now()
    html = request.app.state.templates.get_template("pdf/monthly.html").render(
        t=t,
        lang=t.lang,
        now=moment,
        today=moment.astimezone(BANGKOK).date(),
        filters=filters,
        choices=choices,
        area=area,
        summary=summary,
        months=dash.months(monthly),
        series=dash.MONTH_SERIES,
        tiles=dash.TILES,
    )
    pdf = await run_in_threadpool(_pdf, html)
    name = f"monthly-{filters.fiscal_year}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dashboard/{name}.{fmt}")
async def download(request: Request, api: Api, name: str, fmt: str) -> Response:
    """One of the dashboard's tables as CSV or XLSX, under the page's filters."""
    if name not in TABLES or fmt not in exports.FORMATS:
        raise HTTPException(404)
    t = translator(request)
    filters, _ = dash.parse_filters(request.query_params, now())
    doc = await api.get("kpi", PATHS[name], **filters.params())
    area = await district_names(api, doc, t.lang) if name in BY_DISTRICT else {}
    return exports.download(table(name, doc, t, area), fmt)
