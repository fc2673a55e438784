"""Worklists (``/worklists/{backlog|stale|overdue}``): status' lists with filters, sorting
and paging in the URL, downloads of the same list, and closing many cases at once.

A bulk close answers with the same page, each ticked case's outcome beside it; the cases
that could not be closed stay ticked, so the officer can act on them again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from services.console import exports
from services.console.backends import BackendError, UserApi
from services.console.deps import Api, Page, lang_of, translator
from services.console.domain import worklists as wl
from services.console.domain.dates import be_date
from services.console.security import csrf_protect
from shared.codes import CLOSURE_REASON_LABELS

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _kind(kind: str) -> str:
    if kind not in wl.KINDS:
        raise HTTPException(404)
    return kind


async def _choices(api: UserApi, lang: str) -> dict[str, Any]:
    channels, categories = await asyncio.gather(
        api.get("intake", "/v1/reference/channels"),
        api.get("intake", "/v1/reference/categories"),
    )
    label = "label_en" if lang == "en" else "label_th"
    reasons = {r.value: pair[1 if lang == "en" else 0] for r, pair in CLOSURE_REASON_LABELS.items()}
    return {
        "channels": {c["code"]: c[label] for c in channels},
        "categories": {c["code"]: c[label] for c in categories},
        "reasons": reasons,
    }


async def _page(
    request: Request,
    page: Page,
    api: UserApi,
    kind: str,
    *,
    results: list[wl.Outcome] | None = None,
    selected: frozenset[str] = frozenset(),
    form_errors: dict[str, str] | None = None,
    reason: str | None = None,
    status_code: int = 200,
) -> Response:
    query, errors = wl.read_query(kind, request.query_params)
    answer, choices = await asyncio.gather(
        api.get("status", f"/v1/worklists/{kind}", **query.params()),
        _choices(api, lang_of(request)),
    )
    return page(
        "worklists/list.html",
        {
            **choices,
            "query": query,
            "kinds": wl.KINDS,
            "columns": wl.SORTABLE_COLUMNS,
            "errors": errors,
            "form_errors": form_errors or {},
            "items": answer["items"],
            "total": answer["total"],
            "pages": wl.pages(answer["total"]),
            "results": {r.complaint_id: r for r in results or []},
            "summary": results,
            "selected": selected,
            "reason": reason,
        },
        status_code=status_code,
    )


# Before the list's own route: /worklists/backlog.csv must not read as a list named so.
@router.get("/worklists/{kind}.{fmt}")
async def download(request: Request, api: Api, kind: str, fmt: str) -> Response:
    """The list under the page's filters and order as CSV or XLSX (up to 1,000 rows: a
    longer list downloads from status' own CSV export)."""
    if fmt not in exports.FORMATS:
        raise HTTPException(404)
    query, _ = wl.read_query(_kind(kind), request.query_params)
    answer = await api.get(
        "status", f"/v1/worklists/{kind}", **{**query.params(), "limit": 1000, "offset": 0}
    )
    t = translator(request)
    columns = ["tracking_no", "status", "district_code", "category", "channel", "received_at",
               "age_days", "days_since_last_event", "agency", "due_date"]  # fmt: skip
    rows = [
        {
            **item,
            "status": t(f"case.status.{item['status']}"),
            "received_at": be_date(dt.datetime.fromisoformat(item["received_at"]), t.lang),
        }
        for item in answer["items"]
    ]
    headings = [t(f"worklists.col.{c}") for c in columns]
    return exports.download(exports.Table(f"{kind}", columns, headings, rows), fmt)


@router.get("/worklists/{kind}")
async def worklist(request: Request, page: Page, api: Api, kind: str) -> Response:
    return await _page(request, page, api, _kind(kind))


@router.post("/worklists/{kind}/close")
async def close_many(request: Request, page: Page, api: Api, kind: str) -> Response:
    """Close every ticked case with the chosen reason, each on its own; the page again with
    each outcome, the failed cases still ticked."""
    _kind(kind)
    form = await request.form()
    raw = {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}
    close, errors = wl.read_close(raw)
    if errors:
        selected = frozenset(str(i) for i in close.ids)
        return await _page(
            request, page, api, kind, selected=selected, form_errors=errors,
            reason=close.reason, status_code=422,
        )  # fmt: skip
    try:
        answer = await api.request(
            "status", "POST", "/v1/complaints:bulk-transition", json=wl.close_body(close)
        )
    except BackendError as exc:
        if exc.status == 422:
            return await _page(
                request, page, api, kind, form_errors={"cases": "worklists.error.cases"},
                status_code=422,
            )  # fmt: skip
        raise
    results = wl.outcomes(answer.json())
    return await _page(
        request, page, api, kind, results=results, selected=wl.still_selected(results),
        reason=close.reason,
    )  # fmt: skip
