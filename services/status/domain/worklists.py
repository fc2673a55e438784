"""The rules behind the officers' worklists: open, stale, overdue, age.

Pure and shared by the SQL read model (which filters with the cut-offs computed here) and
the rows it returns (whose ages are computed here), so that both agree by construction.
Ages are whole elapsed days (24-hour periods, rounded down); due dates are calendar dates
judged in Asia/Bangkok.
"""

from __future__ import annotations

import datetime as dt

from services.status.domain.cases import OPEN_STATES
from shared.codes import CaseStatus
from shared.thai_calendar import BANGKOK

DAY = dt.timedelta(days=1)


def is_open(status: CaseStatus | str) -> bool:
    """Open = not closed and not rejected (filed, accepted, in progress, forwarded, reopened)."""
    return CaseStatus(status) in OPEN_STATES


def elapsed_days(since: dt.datetime, now: dt.datetime) -> int:
    """Whole days from ``since`` to ``now`` (0 for a moment in the future)."""
    return max(0, (now - since) // DAY)


def stale_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """A case whose last event is at or before this moment has had none for ``days`` days."""
    return now - days * DAY


def is_stale(
    status: CaseStatus | str, last_event_at: dt.datetime, now: dt.datetime, days: int
) -> bool:
    """Open, and no event for at least ``days`` whole days."""
    return is_open(status) and last_event_at <= stale_cutoff(now, days)


def bangkok_today(now: dt.datetime) -> dt.date:
    """The calendar date in Thailand at ``now``."""
    return now.astimezone(BANGKOK).date()


def is_overdue(status: CaseStatus | str, due_date: dt.date | None, now: dt.datetime) -> bool:
    """Forwarded to an agency whose reply was due before today (Bangkok)."""
    return (
        CaseStatus(status) is CaseStatus.forwarded
        and due_date is not None
        and due_date < bangkok_today(now)
    )
