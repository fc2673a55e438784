"""KPI arithmetic and the per-case fold: pure, no I/O, time always passed in.

Definitions (ARCHITECTURE.md §7):

* Thai fiscal year N (Buddhist Era) runs 1 October N−544 CE .. 30 September N−543 CE,
  in Asia/Bangkok time (UTC+7 all year: Thailand has no daylight saving).
* A case belongs to the fiscal year, province, district, channel and category of its
  filing (``received_at``), whatever happens to it later.
* A case is *closed* while its last event is ``case.closed`` or ``case.rejected`` (a
  rejection is final unless reopened, as the status service treats it); ``closed_at`` is
  that event's effective time.  A reopened case is open again.
* closure rate = closed / received, 4 decimals, ``None`` when nothing was received;
  median days to close over closed cases, 2 decimals, ``None`` when none is closed.
  Rounding is half-up on the decimal value, as a reader of a report expects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.codes import CaseStatus
from shared.events import ComplaintFiled, Envelope, EventData
from shared.thai_calendar import BANGKOK as BANGKOK  # `as`: re-exported, as KPI vocabulary
from shared.thai_calendar import fiscal_year as fiscal_year
from shared.thai_calendar import fiscal_year_bounds as fiscal_year_bounds

FILED = "complaint.filed"


class InvalidEvent(ValueError):
    """An event the projection can never apply (e.g. a filing that is not version 1)."""


class NotNext(ValueError):
    """The event is not the case's next version: keep it for later, apply nothing now."""


# --- fiscal years -------------------------------------------------------------------

# --- rounding and statistics -----------------------------------------------------------


def round_half_up(value: float, places: int) -> float:
    """``value`` rounded half-up to ``places`` decimals (of its shortest decimal form)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def closure_rate(closed: int, received: int) -> float | None:
    """closed / received to 4 decimals; ``None`` when nothing was received."""
    if received <= 0:
        return None
    return round_half_up(closed / received, 4)


def days_between(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed days (fractional) from ``start`` to ``end``."""
    return (end - start).total_seconds() / 86400.0


# --- the per-case fold -------------------------------------------------------------


class ClosedEffect(StrEnum):
    """What a transition does to ``closed_at``."""

    keep = "keep"
    set = "set"  # closed_at := the event's occurred_at
    clear = "clear"  # open again


# kind -> (the status it leads to, or None: the status stays; its effect on closed_at).
# The complainant's feedback on a closure (rating, reopen request) leaves the case as it is.
TRANSITIONS: dict[str, tuple[CaseStatus | None, ClosedEffect]] = {
    "case.accepted": (CaseStatus.accepted, ClosedEffect.keep),
    "case.rejected": (CaseStatus.rejected, ClosedEffect.set),
    "case.started": (CaseStatus.in_progress, ClosedEffect.keep),
    "case.forwarded": (CaseStatus.forwarded, ClosedEffect.keep),
    "case.closed": (CaseStatus.closed, ClosedEffect.set),
    "case.reopened": (CaseStatus.reopened, ClosedEffect.clear),
    "case.satisfaction_rated": (None, ClosedEffect.keep),
    "case.reopen_requested": (None, ClosedEffect.keep),
}


@dataclass(frozen=True, slots=True)
class Fact:
    """The part of one event the projection needs."""

    complaint_id: uuid.UUID
    version: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    data: EventData

    @property
    def kind(self) -> str:
        return self.data.kind

    @classmethod
    def of(cls, env: Envelope) -> Fact:
        return cls(env.complaint_id, env.version, env.occurred_at, env.recorded_at, env.data)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case as the KPI projection keeps it (the ``cases`` table)."""

    complaint_id: uuid.UUID
    applied_version: int
    fiscal_year: int
    province_code: str
    district_code: str
    channel: str
    category: str
    received_at: dt.datetime
    recorded_at: dt.datetime  # when the filing entered the system
    status: CaseStatus
    closed_at: dt.datetime | None
    last_recorded_at: dt.datetime  # recorded_at of the last applied event

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


def check(fact: Fact) -> None:
    """Raise InvalidEvent for an event no sequence of arrivals could ever apply."""
    if fact.kind == FILED and fact.version != 1:
        raise InvalidEvent(f"complaint.filed must be version 1, got {fact.version}")
    if fact.kind != FILED and fact.version < 2:
        raise InvalidEvent(f"{fact.kind} cannot be version {fact.version}")


def transition(kind: str) -> tuple[CaseStatus | None, ClosedEffect]:
    """The status a transition leads to (None: unchanged) and its effect on ``closed_at``."""
    try:
        return TRANSITIONS[kind]
    except KeyError:
        raise InvalidEvent(f"unknown transition {kind!r}") from None


def start(fact: Fact) -> CaseRow:
    """The case a filing creates."""
    check(fact)
    data = fact.data
    if not isinstance(data, ComplaintFiled):
        raise NotNext(f"case {fact.complaint_id} has no filing yet")
    return CaseRow(
        complaint_id=fact.complaint_id,
        applied_version=1,
        fiscal_year=fiscal_year(data.received_at),
        province_code=data.province_code,
        district_code=data.district_code,
        channel=str(data.channel),
        category=str(data.category),
        received_at=data.received_at,
        recorded_at=data.recorded_at,
        status=CaseStatus.filed,
        closed_at=None,
        last_recorded_at=fact.recorded_at,
    )


def apply(case: CaseRow | None, fact: Fact) -> CaseRow:
    """Apply the case's next event; NotNext when ``fact`` is not exactly that event."""
    check(fact)
    if case is None:
        return start(fact)
    if fact.version != case.applied_version + 1:
        raise NotNext(f"have v{case.applied_version}, got v{fact.version}")
    status, effect = transition(fact.kind)
    closed_at = {
        ClosedEffect.keep: case.closed_at,
        ClosedEffect.set: fact.occurred_at,
        ClosedEffect.clear: None,
    }[effect]
    return dataclasses.replace(
        case,
        applied_version=fact.version,
        status=case.status if status is None else status,
        closed_at=closed_at,
        last_recorded_at=fact.recorded_at,
    )


def catch_up(case: CaseRow | None, stored: Iterable[Fact]) -> CaseRow | None:
    """Apply the consecutive run of ``stored`` (sorted by version) that follows ``case``."""
    for fact in sorted(stored, key=lambda f: f.version):
        if case is not None and fact.version <= case.applied_version:
            continue
        try:
            case = apply(case, fact)
        except NotNext:
            break
    return case


def receive(
    case: CaseRow | None, waiting: Iterable[Fact], arrived: Iterable[Fact]
) -> CaseRow | None:
    """The case after storing each of ``arrived`` in turn, exactly as the per-event handler.

    ``case`` and ``waiting`` (its stored versions above ``applied_version``; all its stored
    versions when there is no case yet) are the state before; ``arrived`` are new events of
    this case only (none already stored, no two with one version), in arrival order.  Each
    is applied if it is the next version, and then the stored run that follows it too.
    """
    stored = {f.version: f for f in waiting}
    for fact in arrived:
        stored[fact.version] = fact
        try:
            case = apply(case, fact)
        except NotNext:
            continue  # waits in the log for the gap to fill
        if fact.version + 1 in stored:
            case = catch_up(case, stored.values())
    return case
