"""The officers' worklists: stale, overdue, backlog and reopen-requested cases, as JSON or CSV.

``GET /v1/worklists/{stale,overdue,backlog,reopen_requests}``, paginated by ``limit``/``offset``
with the ``total``, filtered by province, district, category and channel; ``?format=csv``
answers the same page as CSV (``shared.csv_export``), or, without a ``limit``, the whole
list, streamed.  Times are given
in Asia/Bangkok; "now" is the app clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from services.status.deps import Clock, Pool
from services.status.domain.worklists import elapsed_days
from services.status.worklists.schemas import (
    Format,
    Page,
    ReopenRequestItem,
    ReopenRequestsOut,
    SortKey,
    WorklistItem,
    WorklistOut,
)
from services.status.worklists.store import Filters, Worklist, fetch_worklist
from shared.auth.deps import Caller, confined
from shared.auth.policy import Operation, hidden_categories
from shared.codes import CategoryCode, ChannelCode
from shared.csv_export import csv_chunks, csv_response
from shared.thai_calendar import BANGKOK

router = APIRouter(prefix="/v1/worklists", tags=["worklists"])

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
MAX_OFFSET = 100_000_000
# DOPA codes are digits (2 for a province, 4 for a district); letters are let through for
# test data, anything else (controls, quotes, spaces) is refused before any query.
CODE = r"^[0-9A-Za-z]{1,10}$"
EXPORT_CHUNK = 5000


def _filters(
    province_code: Annotated[str | None, Query(pattern=CODE)] = None,
    district_code: Annotated[str | None, Query(pattern=CODE)] = None,
    category: CategoryCode | None = None,
    channel: ChannelCode | None = None,
    *,
    principal: Caller,
) -> Filters:
    """The filters, confined to the caller's jurisdiction (403 for another area's)."""
    province_code, district_code = confined(
        principal, Operation.list_cases, province_code, district_code
    )
    return Filters(
        province_code,
        district_code,
        category.value if category else None,
        channel.value if channel else None,
        tuple(sorted(hidden_categories(principal))),
    )


def _page(
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description="page size (default 50); a CSV export without a limit holds the whole list",
        ),
    ] = None,
    # Bounded: PostgreSQL's OFFSET is a bigint, and no worklist is longer than this.
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    format: Format = Format.json,
    sort: Annotated[
        SortKey | None,
        Query(description="order by this column (`-` first: descending); default: oldest first"),
    ] = None,
) -> Page:
    if limit is None and format is Format.json:
        limit = DEFAULT_LIMIT
    return Page(limit=limit, offset=offset, format=format, sort=sort)


FiltersQ = Annotated[Filters, Depends(_filters)]
PageQ = Annotated[Page, Depends(_page)]
CSV_COLUMNS = tuple(WorklistItem.model_fields)
_ITEM: dict[Worklist, type[WorklistItem]] = {Worklist.reopen_requests: ReopenRequestItem}
_TIMES = ("received_at", "last_event_at", "closed_at", "reopen_requested_at")


def _csv_columns(kind: Worklist) -> tuple[str, ...]:
    return tuple(_ITEM.get(kind, WorklistItem).model_fields)


def _item(row: dict[str, Any], now: dt.datetime, kind: Worklist) -> WorklistItem:
    times = {k: row[k].astimezone(BANGKOK) for k in _TIMES if row.get(k) is not None}
    return _ITEM.get(kind, WorklistItem)(
        **{**row, **times},
        age_days=elapsed_days(row["received_at"], now),
        days_since_last_event=elapsed_days(row["last_event_at"], now),
    )


def _rows(items: list[WorklistItem]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]


async def _chunks(
    kind: Worklist,
    pool: Any,
    now: dt.datetime,
    filters: Filters,
    offset: int,
    stale_days: int,
    sort: str | None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The whole list, fetched a chunk at a time (no page limit, no timeout for large
    districts: the client starts receiving at once)."""
    while True:
        rows, _total = await fetch_worklist(
            pool,
            kind,
            filters,
            now=now,
            stale_days=stale_days,
            limit=EXPORT_CHUNK,
            offset=offset,
            sort=sort,
        )
        if not rows:
            return
        yield _rows([_item(r, now, kind) for r in rows])
        offset += len(rows)


async def _answer(
    kind: Worklist, pool: Any, clock: Clock, filters: Filters, page: Page, stale_days: int = 30
) -> WorklistOut | Response:
    now = clock()
    sort = page.sort.value if page.sort else None
    if page.limit is None:
        chunks = _chunks(kind, pool, now, filters, page.offset, stale_days, sort)
        return csv_chunks(_csv_columns(kind), chunks, kind.value)
    rows, total = await fetch_worklist(
        pool,
        kind,
        filters,
        now=now,
        stale_days=stale_days,
        limit=page.limit,
        offset=page.offset,
        sort=sort,
    )
    items = [_item(r, now, kind) for r in rows]
    if page.format is Format.csv:
        return csv_response(
            _csv_columns(kind), _rows(items), kind.value, headers={"x-total-count": str(total)}
        )
    out = ReopenRequestsOut if kind is Worklist.reopen_requests else WorklistOut
    return out.model_validate(
        {
            "worklist": kind,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "items": items,
        }
    )


@router.get("/stale", response_model=WorklistOut)
async def stale(
    pool: Pool,
    clock: Clock,
    filters: FiltersQ,
    page: PageQ,
    days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> Any:
    """Open cases with no event for at least ``days`` days, longest silent first."""
    return await _answer(Worklist.stale, pool, clock, filters, page, days)


@router.get("/overdue", response_model=WorklistOut)
async def overdue(pool: Pool, clock: Clock, filters: FiltersQ, page: PageQ) -> Any:
    """Forwarded cases whose reply was due before today (Bangkok), earliest due first."""
    return await _answer(Worklist.overdue, pool, clock, filters, page)


@router.get("/backlog", response_model=WorklistOut)
async def backlog(pool: Pool, clock: Clock, filters: FiltersQ, page: PageQ) -> Any:
    """Every open case, oldest received first, with its age in days."""
    return await _answer(Worklist.backlog, pool, clock, filters, page)


@router.get("/reopen_requests", response_model=ReopenRequestsOut)
async def reopen_requests(pool: Pool, clock: Clock, filters: FiltersQ, page: PageQ) -> Any:
    """Closed cases whose complainant said the problem was not actually solved, not
    reopened since, earliest request first: for an officer to look at again."""
    return await _answer(Worklist.reopen_requests, pool, clock, filters, page)
