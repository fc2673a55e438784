"""Then vs now: a period's report as it was known at a moment T beside today's view of the
same period, per district, with the gap (cases recorded after T) as counts and shares.

Both views ask kpi for the same fiscal year up to ``as_of`` = T; the first also passes
``known_at`` = the end of T in Bangkok, so what was recorded later is left out.  The gap
is what a monthly report sent on T missed: the late recording the ministry's letters name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.console.domain.dashboard import sensible
from services.console.domain.dates import parse_date
from shared.thai_calendar import BANGKOK


def default_moment(now: dt.datetime) -> dt.date:
    """The last day of the previous month in Bangkok: when the last monthly report went."""
    return now.astimezone(BANGKOK).date().replace(day=1) - dt.timedelta(days=1)


def parse_moment(text: str | None, now: dt.datetime) -> tuple[dt.date, str | None]:
    """The date T asked for (default: ``default_moment``) and an error key, if any (then
    the default is used)."""
    today = now.astimezone(BANGKOK).date()
    try:
        moment = sensible(parse_date(text))
    except ValueError:
        return default_moment(now), "compare.error.at"
    if moment is None:
        return default_moment(now), None
    if moment > today:
        return default_moment(now), "compare.error.future"
    return moment, None


def known_at(moment: dt.date) -> str:
    """The end of ``moment`` in Bangkok, as kpi's ``known_at`` (a zone-less time is
    Bangkok time there)."""
    return f"{moment.isoformat()}T23:59:59"


@dataclass(frozen=True, slots=True)
class Gap:
    district_code: str
    name: str
    received_then: int
    received_now: int
    closed_then: int
    closed_now: int

    @property
    def received_gap(self) -> int:
        return self.received_now - self.received_then

    @property
    def closed_gap(self) -> int:
        return self.closed_now - self.closed_then

    @property
    def received_gap_share(self) -> float | None:
        """Of today's count, the share recorded after T."""
        return self.received_gap / self.received_now if self.received_now else None


def gaps(
    then: Sequence[Mapping[str, Any]],
    now: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
) -> list[Gap]:
    """One row per district in either view, the largest received gap first."""
    before = {str(r["district_code"]): r for r in then}
    after = {str(r["district_code"]): r for r in now}
    rows = [
        Gap(
            code,
            names.get(code, code),
            int(before.get(code, {}).get("received", 0)),
            int(after.get(code, {}).get("received", 0)),
            int(before.get(code, {}).get("closed", 0)),
            int(after.get(code, {}).get("closed", 0)),
        )
        for code in before.keys() | after.keys()
    ]
    return sorted(rows, key=lambda g: (-g.received_gap, -g.closed_gap, g.district_code))


def total(rows: Sequence[Gap], name: str) -> Gap:
    return Gap(
        "",
        name,
        sum(g.received_then for g in rows),
        sum(g.received_now for g in rows),
        sum(g.closed_then for g in rows),
        sum(g.closed_now for g in rows),
    )


COLUMNS = (
    "district_code",
    "name",
    "received_then",
    "received_now",
    "received_gap",
    "received_gap_share",
    "closed_then",
    "closed_now",
    "closed_gap",
)


def as_row(g: Gap) -> dict[str, Any]:
    """A gap as a download's row (``COLUMNS``)."""
    return {c: getattr(g, c) for c in COLUMNS}
