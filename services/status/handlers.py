"""Use cases of the status service: load, decide, commit.

Independent of HTTP so that a bulk-transition endpoint or a CLI can reuse them; they take a
``CaseStore`` and the time, and raise domain or handler errors that the edges translate.
"""

from __future__ import annotations

import datetime as dt
import uuid

from services.status.domain import (
    CaseState,
    CaseStatus,
    TransitionCommand,
    decide,
    effective_time,
    evolve,
)
from services.status.store import CaseStore, ConcurrencyConflict
from shared.events import Envelope

SOURCE = "/damrong/status"


class CaseNotFound(Exception):
    def __init__(self, complaint_id: uuid.UUID) -> None:
        super().__init__(f"no case {complaint_id}")
        self.complaint_id = complaint_id


class VersionConflict(Exception):
    """The caller's view of the case is stale (or another writer won the race)."""

    def __init__(self, complaint_id: uuid.UUID, status: CaseStatus | None, version: int | None,
                 expected: int | None) -> None:
        super().__init__(
            f"case {complaint_id} is at version {version} ({status}), expected {expected}"
        )
        self.complaint_id, self.status, self.version, self.expected = (
            complaint_id, status, version, expected)


async def transition(
    store: CaseStore,
    complaint_id: uuid.UUID,
    cmd: TransitionCommand,
    *,
    now: dt.datetime,
    expected_version: int | None = None,
    correlation_id: str | None = None,
) -> CaseState:
    """Apply one officer command; return the case's new state.

    Raises CaseNotFound; VersionConflict if ``expected_version`` is given and stale, or if a
    concurrent writer appended first; DomainError subclasses from ``decide``.  Exactly one
    event (version + 1) is stored and queued for publishing on success; nothing otherwise.
    """
    state = await store.load(complaint_id)
    if state is None:
        raise CaseNotFound(complaint_id)
    if expected_version is not None and expected_version != state.version:
        raise VersionConflict(complaint_id, state.status, state.version, expected_version)
    payload = decide(state, cmd, now)
    env = Envelope(
        event_id=uuid.uuid4(),
        complaint_id=complaint_id,
        version=state.version + 1,
        source=SOURCE,
        occurred_at=effective_time(state, cmd, now),
        recorded_at=now,
        correlation_id=correlation_id,
        data=payload,
    )
    new_state = evolve(state, env)
    try:
        await store.append(env, new_state)
    except ConcurrencyConflict:
        # Report what won, so the client can re-read and decide again.
        current = await store.load(complaint_id)
        raise VersionConflict(
            complaint_id,
            current.status if current else None,
            current.version if current else None,
            expected_version if expected_version is not None else state.version,
        ) from None
    return new_state


async def get_case(store: CaseStore, complaint_id: uuid.UUID) -> CaseState:
    state = await store.load(complaint_id)
    if state is None:
        raise CaseNotFound(complaint_id)
    return state


async def get_history(store: CaseStore, complaint_id: uuid.UUID) -> list[Envelope]:
    events = await store.history(complaint_id)
    if not events:
        raise CaseNotFound(complaint_id)
    return events
