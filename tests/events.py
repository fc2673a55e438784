"""Test events: a small valid case event for tests of the plumbing (consumer, outbox, DLQ),
whose content does not matter beyond a note that names it."""

from __future__ import annotations

import datetime as dt
import uuid

from shared.events import CaseAccepted, Envelope

NOW = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)


def accepted(note: str, *, source: str = "/test") -> Envelope:
    """A ``case.accepted`` at version 2 of a fresh case, carrying ``note``."""
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source=source,
        occurred_at=NOW,
        recorded_at=NOW,
        data=CaseAccepted(actor="t", note=note),
    )
