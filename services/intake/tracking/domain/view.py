"""Intake's public view of a case, folded from ``complaints.events``.

What a citizen or a partner app may see of a case: where it stands, when it was received
and last changed, why it was closed and to which agency it went, and a public history of
(kind, status, time).  Never an actor, a note, a free-text reason or anything personal.

The fold is one function of one event (``public_entry``): the case row is then the
latest entry of its history, so applying events in any order, or twice, gives the same
view (idempotent by ``(complaint_id, version)``).  Kinds it does not know (new ones are
added to ``shared.events`` over time) give no entry: skipped, never an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from shared.codes import CaseStatus, ClosureReason
from shared.events import (
    CaseClosed,
    CaseForwarded,
    ComplaintFiled,
    Envelope,
)

OpenClosed = Literal["open", "closed"]

# The status each known event kind brings a case to; any other kind is skipped.
KIND_STATUS: dict[str, CaseStatus] = {
    "complaint.filed": CaseStatus.filed,
    "case.accepted": CaseStatus.accepted,
    "case.rejected": CaseStatus.rejected,
    "case.started": CaseStatus.in_progress,
    "case.forwarded": CaseStatus.forwarded,
    "case.closed": CaseStatus.closed,
    "case.reopened": CaseStatus.reopened,
}

# Open311 (GeoReport v2) knows only "open" and "closed": a rejected case is finished too.
CLOSED_STATUSES: frozenset[CaseStatus] = frozenset({CaseStatus.closed, CaseStatus.rejected})


def open_closed(status: CaseStatus) -> OpenClosed:
    """The Open311 status of a case status: ``closed`` for closed and rejected cases,
    ``open`` for every other (filed, accepted, in progress, forwarded, reopened)."""
    return "closed" if status in CLOSED_STATUSES else "open"


def statuses_of(state: OpenClosed) -> frozenset[CaseStatus]:
    """Every case status that Open311's ``state`` covers (the inverse of ``open_closed``)."""
    return frozenset(s for s in CaseStatus if open_closed(s) == state)


@dataclass(frozen=True, slots=True)
class PublicCase:
    """A case as the public may see it (no personal data, no actors, no notes).

    ``closure_reason`` is set while the case is closed; ``agency`` is the agency it was
    last forwarded to (kept after closure: Open311's ``agency_responsible``).
    """

    complaint_id: uuid.UUID
    tracking_no: str
    status: CaseStatus
    received_at: dt.datetime
    updated_at: dt.datetime
    closure_reason: ClosureReason | None
    agency: str | None
    category: str
    district_code: str
    subdistrict_code: str | None

    @property
    def open_closed(self) -> OpenClosed:
        return open_closed(self.status)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One public step of a case's history: what happened (``kind``), the status it
    brought, and when (the event's effective time).  ``closure_reason`` and ``agency``
    are kept to build the case row; only closure reasons (a code) and agency names are
    public, never the officer's free text."""

    complaint_id: uuid.UUID
    version: int
    kind: str
    status: CaseStatus
    at: dt.datetime
    closure_reason: ClosureReason | None = None
    agency: str | None = None


@dataclass(frozen=True, slots=True)
class FiledFacts:
    """What the case row takes from its ``complaint.filed`` event, once."""

    complaint_id: uuid.UUID
    tracking_no: str
    category: str
    district_code: str
    subdistrict_code: str | None
    received_at: dt.datetime


def public_entry(env: Envelope) -> HistoryEntry | None:
    """The public history entry of ``env``; None for a kind the public view does not use."""
    status = KIND_STATUS.get(env.kind)
    if status is None:
        return None
    data = env.data
    return HistoryEntry(
        complaint_id=env.complaint_id,
        version=env.version,
        kind=env.kind,
        status=status,
        at=env.occurred_at,
        closure_reason=data.reason if isinstance(data, CaseClosed) else None,
        agency=data.agency if isinstance(data, CaseForwarded) else None,
    )


def filed_facts(env: Envelope) -> FiledFacts | None:
    """The facts of a filing for the case row; None if ``env`` is not a filing."""
    data = env.data
    if not isinstance(data, ComplaintFiled):
        return None
    return FiledFacts(
        complaint_id=env.complaint_id,
        tracking_no=data.tracking_no,
        category=data.category.value,
        district_code=data.district_code,
        subdistrict_code=data.subdistrict_code,
        received_at=data.received_at,
    )
