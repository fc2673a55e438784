"""The public tracking answer (no actors, no notes, no personal data)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from services.intake.tracking.usecases import Tracked
from shared.codes import CaseStatus, ClosureReason


class TrackStep(BaseModel):
    kind: str
    status: CaseStatus
    at: dt.datetime


class TrackOut(BaseModel):
    tracking_no: str
    status: CaseStatus
    state: str  # Open311's "open" or "closed"
    received_at: dt.datetime
    updated_at: dt.datetime
    closure_reason: ClosureReason | None
    agency: str | None
    history: list[TrackStep]

    @classmethod
    def of(cls, tracked: Tracked) -> TrackOut:
        case = tracked.case
        return cls(
            tracking_no=case.tracking_no,
            status=case.status,
            state=case.open_closed,
            received_at=case.received_at,
            updated_at=case.updated_at,
            closure_reason=case.closure_reason,
            agency=case.agency,
            history=[TrackStep(kind=e.kind, status=e.status, at=e.at) for e in tracked.history],
        )
