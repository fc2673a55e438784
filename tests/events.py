"""Test events: the one builder of test envelopes.

``envelope`` wraps any payload in an envelope of a fresh event of a fresh case, unsealed,
occurred and recorded at one time; ``accepted`` is a small valid case event for tests of
the plumbing (consumer, outbox, DLQ), whose content does not matter beyond a note that
names it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from shared.events import CaseAccepted, Envelope, EventData

NOW = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)


def envelope(
    data: EventData,
    *,
    version: int = 2,
    at: dt.datetime = NOW,
    source: str = "/test",
    correlation_id: str | None = None,
) -> Envelope:
    """``data`` as event ``version`` of a fresh case, with a fresh event id,
    ``occurred_at`` and ``recorded_at`` both ``at``, and no chain hashes."""
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=version,
        source=source,
        occurred_at=at,
        recorded_at=at,
        correlation_id=correlation_id,
        data=data,
    )


def accepted(note: str, *, source: str = "/test") -> Envelope:
    """A ``case.accepted`` at version 2 of a fresh case, carrying ``note``."""
    return envelope(CaseAccepted(actor="t", note=note), source=source)
