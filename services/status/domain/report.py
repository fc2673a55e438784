"""The cases report of a district and period, and a case as it stood at a past time: pure.

Both are folds of case event streams through the state machine (``cases.evolve``), so the
live status service (its stored events) and ``damrong audit replay`` (the topic alone)
answer with the same function, and agree exactly when they hold the same events.

A case belongs to a report when its filing names the district and its ``received_at``
falls on one of the report's days in Asia/Bangkok (``date_from`` .. ``date_to``, both
included).  Transitions count every event after the filing by kind; closures count every
``case.closed`` event by reason (a case closed, reopened and closed again counts twice);
``by_status`` counts the cases by where they stand now.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import takewhile

from services.status.domain.cases import OPEN_STATES, CaseState, fold
from shared.events import CaseClosed, ComplaintFiled, Envelope
from shared.thai_calendar import BANGKOK


@dataclass(frozen=True, slots=True)
class CaseReport:
    district_code: str
    date_from: dt.date
    date_to: dt.date
    cases: int
    open: int
    closed: int  # closed or rejected: everything not open
    by_status: dict[str, int]
    transitions: dict[str, int]
    closures: dict[str, int]
    inconsistent: int  # cases whose events do not fold (a gap): counted apart

    def as_dict(self) -> dict[str, object]:
        return {
            "district_code": self.district_code,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "cases": self.cases,
            "open": self.open,
            "closed": self.closed,
            "by_status": self.by_status,
            "transitions": self.transitions,
            "closures": self.closures,
            "inconsistent": self.inconsistent,
        }


def received_between(filing: ComplaintFiled, date_from: dt.date, date_to: dt.date) -> bool:
    return date_from <= filing.received_at.astimezone(BANGKOK).date() <= date_to


def case_report(
    streams: Iterable[Sequence[Envelope]], district_code: str, date_from: dt.date, date_to: dt.date
) -> CaseReport:
    """The report over ``streams`` (each one case's events in version order, without
    duplicates); cases outside the district or period, or without their filing, are left
    out."""
    cases = inconsistent = 0
    by_status: Counter[str] = Counter()
    transitions: Counter[str] = Counter()
    closures: Counter[str] = Counter()
    for events in streams:
        filing = events[0].data if events else None
        if (
            not isinstance(filing, ComplaintFiled)
            or filing.district_code != district_code
            or not received_between(filing, date_from, date_to)
        ):
            continue
        try:
            state = fold(list(events))
        except ValueError:
            inconsistent += 1
            continue
        assert state is not None
        cases += 1
        by_status[state.status.value] += 1
        for env in events[1:]:
            transitions[env.kind] += 1
            if isinstance(env.data, CaseClosed):
                closures[env.data.reason.value] += 1
    open_ = sum(n for status, n in by_status.items() if status in OPEN_STATES)
    return CaseReport(
        district_code,
        date_from,
        date_to,
        cases,
        open_,
        cases - open_,
        dict(sorted(by_status.items())),
        dict(sorted(transitions.items())),
        dict(sorted(closures.items())),
        inconsistent,
    )


def state_at(
    events: Sequence[Envelope],
    *,
    as_of: dt.datetime | None = None,
    known_at: dt.datetime | None = None,
) -> CaseState | None:
    """The case as it stood at ``as_of`` (effective time: what had happened by then) as
    known at ``known_at`` (recorded time: ignoring what was recorded later); None if it
    did not exist yet.  ``events`` in version order.

    Both times run forward with a case's versions (a transition never takes effect before
    the one it follows, nor is recorded before it), so the events in view are a prefix.
    """

    def visible(env: Envelope) -> bool:
        return (as_of is None or env.occurred_at <= as_of) and (
            known_at is None or env.recorded_at <= known_at
        )

    return fold(list(takewhile(visible, events)))
