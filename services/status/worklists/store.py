"""Worklist queries over the ``cases`` table: which cases, in what order, how many.

The cut-offs (stale since, due before) come from ``domain.worklists``, so the SQL only
filters, orders and pages; ages are computed from the rows by the same domain functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg

from services.status.domain import OPEN_STATES
from services.status.domain.worklists import bangkok_today, stale_cutoff


class Worklist(StrEnum):
    stale = "stale"
    overdue = "overdue"
    backlog = "backlog"
    # Closed cases whose complainant said the problem was not solved, not reopened since.
    reopen_requests = "reopen_requests"


@dataclass(frozen=True)
class Filters:
    province_code: str | None = None
    district_code: str | None = None
    category: str | None = None
    channel: str | None = None
    # Categories the caller may not see (whistle-blower cases below the province).
    hidden_categories: tuple[str, ...] = ()


COLUMNS = (
    "complaint_id",
    "tracking_no",
    "status",
    "province_code",
    "district_code",
    "category",
    "channel",
    "received_at",
    "last_event_at",
    "agency",
    "due_date",
)
# The closure and the request, beside the common columns, for the reopen requests.
FEEDBACK_COLUMNS = ("closed_at", "closure_reason", "reopen_requested_at")

# Oldest first; complaint_id breaks ties so that pages never overlap or skip.
_ORDER = {
    Worklist.stale: "last_event_at, complaint_id",
    Worklist.overdue: "due_date, received_at, complaint_id",
    Worklist.backlog: "received_at, complaint_id",
    Worklist.reopen_requests: "reopen_requested_at, complaint_id",
}
# Orders a caller may ask for: a fixed column list, never text from the request.
_SORTABLE = frozenset(
    {"received_at", "last_event_at", "due_date", "district_code", "category", "reopen_requested_at"}
)


def order_by(kind: Worklist, sort: str | None) -> str:
    """The ORDER BY of ``kind``, or of ``sort`` (``column`` or ``-column``); ties broken by
    complaint_id so that pages never overlap or skip."""
    if sort is None:
        return _ORDER[kind]
    column = sort.removeprefix("-")
    if column not in _SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}")
    direction = "DESC NULLS LAST" if sort.startswith("-") else "ASC NULLS LAST"
    return f"{column} {direction}, complaint_id"


_OPEN = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES)))


def _where(
    kind: Worklist, filters: Filters, now: dt.datetime, stale_days: int
) -> tuple[str, list[Any]]:
    args: list[Any] = []
    clauses: list[str] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if kind is Worklist.overdue:
        clauses += ["status = 'forwarded'", f"due_date < {arg(bangkok_today(now))}"]
    elif kind is Worklist.reopen_requests:  # a reopening clears the request (evolve)
        clauses += ["status = 'closed'", "reopen_requested_at IS NOT NULL"]
    else:
        clauses.append(_OPEN)
    if kind is Worklist.stale:
        clauses.append(f"last_event_at <= {arg(stale_cutoff(now, stale_days))}")
    for column in ("province_code", "district_code", "category", "channel"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{column} = {arg(value)}")
    if filters.hidden_categories:
        clauses.append(f"category <> ALL({arg(list(filters.hidden_categories))}::text[])")
    return " AND ".join(clauses), args


async def fetch_worklist(
    pool: asyncpg.Pool,
    kind: Worklist,
    filters: Filters,
    *,
    now: dt.datetime,
    stale_days: int = 30,
    limit: int = 50,
    offset: int = 0,
    sort: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the worklist ``kind`` at ``now`` and the total number of its cases."""
    where, args = _where(kind, filters, now, stale_days)
    n = len(args)
    columns = COLUMNS + FEEDBACK_COLUMNS if kind is Worklist.reopen_requests else COLUMNS
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for page and total, so they agree.
        rows = await conn.fetch(
            f"SELECT {', '.join(columns)} FROM cases WHERE {where} "
            f"ORDER BY {order_by(kind, sort)} LIMIT ${n + 1} OFFSET ${n + 2}",
            *args,
            limit,
            offset,
        )
        total: int = await conn.fetchval(f"SELECT count(*) FROM cases WHERE {where}", *args)
    return [dict(r) for r in rows], total
