"""Builders of envelopes and commands for the status tests (shared by unit and integration)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from services.status.domain import Action, TransitionCommand
from shared.chain import GENESIS, seal
from shared.codes import CategoryCode, ChannelCode
from shared.events import ComplaintFiled, Envelope

T0 = dt.datetime(2025, 11, 3, 2, 30, tzinfo=dt.UTC)


def filed(
    complaint_id: uuid.UUID | None = None,
    *,
    at: dt.datetime = T0,
    version: int = 1,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """A ComplaintFiled envelope as intake would publish it (head of its hash chain)."""
    return seal(
        Envelope(
            event_id=event_id or uuid.uuid4(),
            complaint_id=complaint_id or uuid.uuid4(),
            version=version,
            source="/damrong/intake",
            occurred_at=at,
            recorded_at=at + dt.timedelta(minutes=5),
            data=ComplaintFiled(
                tracking_no=f"DR-{uuid.uuid4().hex[:8].upper()}",
                channel=ChannelCode.walk_in,
                category=CategoryCode.land,
                province_code="10",
                district_code="1001",
                subdistrict_code="100101",
                received_at=at,
                recorded_at=at + dt.timedelta(minutes=5),
                anonymous=False,
            ),
        ),
        GENESIS,
    )


def command(action: Action | str, **kw: object) -> TransitionCommand:
    """A command with every field its action needs, unless overridden."""
    action = Action(action)
    defaults: dict[str, Any] = {"actor": "officer-1"}
    if action is Action.reject:
        defaults["reason"] = "not a complaint"
    if action is Action.close:
        defaults["reason"] = "resolved"
    if action is Action.forward:
        defaults.update(agency="Land Office", due_date=dt.date(2030, 1, 31))
    defaults.update(kw)
    return TransitionCommand(action=action, **defaults)
