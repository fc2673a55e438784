"""Worklists as the console shows them: which list, which filters, which order and page,
all read from the URL (so a list can be bookmarked and the back button works), and what a
bulk close did to each case.  Pure: no I/O."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.codes import CategoryCode, ChannelCode, ClosureReason

KINDS = ("backlog", "stale", "overdue", "reopen_requests")
PAGE_SIZE = 50
MAX_PAGE = 10_000
SORTS = (
    "received_at",
    "-received_at",
    "last_event_at",
    "-last_event_at",
    "due_date",
    "-due_date",
    "district_code",
    "-district_code",
    "category",
    "-category",
)
# A table column the user can order by, and the sort key it stands for.
SORTABLE_COLUMNS = ("received_at", "last_event_at", "due_date", "district_code", "category")
_PROVINCE = re.compile(r"^\d{2}$")
_DISTRICT = re.compile(r"^\d{4}$")


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    province: str | None = None
    district: str | None = None
    category: str | None = None
    channel: str | None = None
    sort: str | None = None
    page: int = 1

    def params(self) -> dict[str, Any]:
        """status' query parameters for this page of the list."""
        return {
            "province_code": self.province,
            "district_code": self.district,
            "category": self.category,
            "channel": self.channel,
            "sort": self.sort,
            "limit": PAGE_SIZE,
            "offset": (self.page - 1) * PAGE_SIZE,
        }

    def link(self, **changes: Any) -> str:
        """This list's URL with ``changes`` (a new filter or order starts at page 1)."""
        target = replace(self, **changes)
        if "page" not in changes:
            target = replace(target, page=1)
        values = {
            "province": target.province,
            "district": target.district,
            "category": target.category,
            "channel": target.channel,
            "sort": target.sort,
            "page": target.page if target.page > 1 else None,
        }
        query = "&".join(f"{k}={v}" for k, v in values.items() if v)
        return f"/worklists/{target.kind}" + (f"?{query}" if query else "")

    def sorted_by(self, column: str) -> str | None:
        """ "ascending"/"descending" when the list is ordered by ``column``, else None."""
        if self.sort == column:
            return "ascending"
        if self.sort == f"-{column}":
            return "descending"
        return None

    def toggle(self, column: str) -> str:
        """The link that orders by ``column``, the other way round if it already does."""
        return self.link(sort=f"-{column}" if self.sort == column else column)


def read_query(kind: str, raw: Mapping[str, str]) -> tuple[Query, dict[str, str]]:
    """The list asked for and ``{field: message key}`` for each filter that is not valid
    (that filter is then left out, so the page still answers)."""
    errors: dict[str, str] = {}

    def pick(name: str, valid: bool) -> str | None:
        value = (raw.get(name) or "").strip()
        if not value:
            return None
        if not valid:
            errors[name] = f"worklists.error.{name}"
            return None
        return value

    value = {k: (raw.get(k) or "").strip() for k in ("province", "district", "category")}
    page_text = (raw.get("page") or "1").strip()
    page = int(page_text) if page_text.isdigit() and 1 <= int(page_text) <= MAX_PAGE else 1
    if page_text and page_text != str(page):
        errors["page"] = "worklists.error.page"
    query = Query(
        kind=kind,
        province=pick("province", bool(_PROVINCE.match(value["province"]))),
        district=pick("district", bool(_DISTRICT.match(value["district"]))),
        category=pick("category", value["category"] in CategoryCode.__members__),
        channel=pick("channel", (raw.get("channel") or "").strip() in ChannelCode.__members__),
        sort=pick("sort", (raw.get("sort") or "").strip() in SORTS),
        page=page,
    )
    return query, errors


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


@dataclass(frozen=True, slots=True)
class CloseRequest:
    ids: tuple[uuid.UUID, ...]
    reason: str | None


def read_close(form: Mapping[str, Sequence[str]]) -> tuple[CloseRequest, dict[str, str]]:
    """The cases ticked and the closure reason; errors name ``cases`` or ``reason``."""
    errors: dict[str, str] = {}
    ids: list[uuid.UUID] = []
    for text in form.get("case", ()):
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            errors["cases"] = "worklists.error.cases"
    if not ids and "cases" not in errors:
        errors["cases"] = "worklists.error.none_selected"
    reason = (form.get("reason") or [""])[0]
    if reason not in ClosureReason.__members__:
        errors["reason"] = "worklists.error.reason"
        reason = ""
    return CloseRequest(tuple(dict.fromkeys(ids)), reason or None), errors


def close_body(request: CloseRequest) -> dict[str, Any]:
    """status' bulk-transition body: close each case with the reason."""
    return {
        "items": [
            {"complaint_id": str(i), "action": "close", "reason": request.reason}
            for i in request.ids
        ]
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    complaint_id: str
    ok: bool
    detail: str  # the service's words for a failure ("" when closed)
    status: int | None  # the failure's HTTP status (409: changed by someone else)


def outcomes(answer: Mapping[str, Any]) -> list[Outcome]:
    """Each item's result of status' bulk answer, in the order sent."""
    out = []
    for item in answer.get("results") or []:
        error = item.get("error") or {}
        out.append(
            Outcome(
                complaint_id=str(item["complaint_id"]),
                ok=bool(item.get("ok")),
                detail=str(error.get("detail") or error.get("title") or ""),
                status=error.get("status"),
            )
        )
    return out


def still_selected(results: Sequence[Outcome]) -> frozenset[str]:
    """The cases to keep ticked after a bulk close: the ones that failed."""
    return frozenset(r.complaint_id for r in results if not r.ok)
