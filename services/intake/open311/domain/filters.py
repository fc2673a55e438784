"""``GET requests``: its query parameters read into a filter, with the specification's
defaults (the most recent 90 days; at most 1000 requests)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.intake.open311.domain.catalogue import service
from services.intake.open311.domain.errors import bad_fields
from shared.thai_calendar import BANGKOK

WINDOW = dt.timedelta(days=90)
LIMIT = 1000
MAX_IDS = LIMIT
STATUSES = frozenset({"open", "closed"})
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Either ``ids`` (which override every other argument) or a window
    ``[start, end]`` of ``requested_datetime`` with optional codes and statuses."""

    ids: tuple[str, ...] | None
    service_codes: frozenset[str] | None
    start: dt.datetime
    end: dt.datetime
    statuses: frozenset[str] | None
    limit: int = LIMIT


def _values(params: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every comma-separated value of ``name``, which may be declared several times."""
    return [
        part.strip()
        for key, value in params
        if key == name
        for part in value.split(",")
        if part.strip()
    ]


def _moment(raw: str, name: str, problems: list[tuple[str, str]]) -> dt.datetime | None:
    """A w3 date-time; without an offset it is Bangkok time, a bare date its midnight."""
    try:
        if _DATE_ONLY.match(raw):
            value = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
        else:
            value = dt.datetime.fromisoformat(raw.replace("z", "Z"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=BANGKOK)
        return value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        problems.append((name, "must be a w3 date-time such as 2026-01-01T00:00:00+07:00"))
        return None


def parse_filter(params: Iterable[tuple[str, str]], now: dt.datetime) -> RequestFilter:
    """The filter of a ``GET requests`` query; Open311Error (400) naming each bad argument."""
    params = list(params)
    ids = _values(params, "service_request_id")
    if ids:  # "This overrides all other arguments" (the specification)
        if len(ids) > MAX_IDS:
            raise bad_fields([("service_request_id", f"may list at most {MAX_IDS} ids")])
        return RequestFilter(tuple(dict.fromkeys(ids)), None, now - WINDOW, now, None)
    problems: list[tuple[str, str]] = []
    codes = _values(params, "service_code")
    problems.extend(
        ("service_code", f"{code[:64]!r} was not found (see services.json)")
        for code in codes
        if service(code) is None
    )
    statuses = {s.lower() for s in _values(params, "status")}
    if statuses - STATUSES:
        problems.append(("status", "must be open or closed (comma-separated for both)"))
    raw: dict[str, str | None] = {
        n: next(reversed(_values(params, n)), None) for n in ("start_date", "end_date")
    }
    start = _moment(raw["start_date"], "start_date", problems) if raw["start_date"] else None
    end = _moment(raw["end_date"], "end_date", problems) if raw["end_date"] else None
    if start is not None and end is not None:
        if start > end:
            problems.append(("start_date", "must not be after end_date"))
        elif end - start > WINDOW:
            problems.append(("end_date", "the range may not span more than 90 days"))
    if problems:
        raise bad_fields(problems)
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    return RequestFilter(
        ids=None,
        service_codes=frozenset(codes) or None,
        start=start,
        end=end,
        statuses=frozenset(statuses) or None,
    )
