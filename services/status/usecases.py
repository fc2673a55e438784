"""Use cases of the status service: load, decide, commit.

Independent of HTTP so that a bulk-transition endpoint or a CLI can reuse them; they take a
``CaseStore`` and the time, and raise domain or handler errors that the edges translate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.status.domain import (
    CaseState,
    CaseStatus,
    DomainError,
    TransitionCommand,
    decide,
    effective_time,
    evolve,
)
from services.status.domain.report import state_at
from services.status.store import CaseStore, ConcurrencyConflict
from shared.events import STATUS_SOURCE, Envelope

SOURCE = STATUS_SOURCE


class CaseNotFound(Exception):
    def __init__(self, complaint_id: uuid.UUID) -> None:
        super().__init__(f"no case {complaint_id}")
        self.complaint_id = complaint_id


class OutOfJurisdiction(Exception):
    """The caller may not move this case (its district or province is not theirs)."""

    def __init__(self, complaint_id: uuid.UUID) -> None:
        super().__init__(f"case {complaint_id} is outside your jurisdiction")
        self.complaint_id = complaint_id


# Whether the caller may write to a loaded case (the edges build it from the principal).
Guard = Callable[[CaseState], bool]


class VersionConflict(Exception):
    """The caller's view of the case is stale (or another writer won the race)."""

    def __init__(
        self,
        complaint_id: uuid.UUID,
        status: CaseStatus | None,
        version: int | None,
        expected: int | None,
    ) -> None:
        super().__init__(
            f"case {complaint_id} is at version {version} ({status}), expected {expected}"
        )
        self.complaint_id, self.status, self.version, self.expected = (
            complaint_id,
            status,
            version,
            expected,
        )


async def transition(
    store: CaseStore,
    complaint_id: uuid.UUID,
    cmd: TransitionCommand,
    *,
    now: dt.datetime,
    expected_version: int | None = None,
    correlation_id: str | None = None,
    guard: Guard | None = None,
) -> CaseState:
    """Apply one officer command; return the case's new state.

    Raises CaseNotFound; OutOfJurisdiction when ``guard`` refuses the loaded case;
    VersionConflict if ``expected_version`` is given and stale, or if a concurrent writer
    appended first; DomainError subclasses from ``decide``.  Exactly one
    event (version + 1) is stored and queued for publishing on success; nothing otherwise.
    """
    state = await store.load(complaint_id)
    if state is None:
        raise CaseNotFound(complaint_id)
    if guard is not None and not guard(state):
        raise OutOfJurisdiction(complaint_id)
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


class DuplicateItem(Exception):
    """A bulk request names this case again; only its first item is tried."""

    def __init__(self, complaint_id: uuid.UUID, first_index: int) -> None:
        super().__init__(
            f"case {complaint_id} already appears at item {first_index} of this request"
        )
        self.complaint_id, self.first_index = complaint_id, first_index


@dataclass(frozen=True)
class BulkItem:
    complaint_id: uuid.UUID
    command: TransitionCommand
    expected_version: int | None = None


@dataclass(frozen=True)
class BulkResult:
    """One item's outcome: the new ``state``, or the ``error`` that left its case untouched."""

    complaint_id: uuid.UUID
    state: CaseState | None = None
    error: Exception | None = None


async def bulk_transition(
    store: CaseStore,
    items: list[BulkItem],
    *,
    now: dt.datetime,
    correlation_id: str | None = None,
    guard: Guard | None = None,
) -> list[BulkResult]:
    """``transition`` for each item on its own, results in request order.

    Each item is its own transaction, so an item either applies fully or not at all and
    never affects another item's case.  A case named by more than one item is tried for its
    first item only; the later ones fail with DuplicateItem.  That keeps every result
    independent of the others' fate (a second "close" would otherwise succeed or fail
    depending on whether the first one did).  Only the errors ``transition`` documents are
    caught; anything else (database down) propagates, leaving the items before it applied.
    """
    first: dict[uuid.UUID, int] = {}
    results: list[BulkResult] = []
    for index, item in enumerate(items):
        cid = item.complaint_id
        if cid in first:
            results.append(BulkResult(cid, error=DuplicateItem(cid, first[cid])))
            continue
        first[cid] = index
        try:
            state = await transition(
                store,
                cid,
                item.command,
                now=now,
                expected_version=item.expected_version,
                correlation_id=correlation_id,
                guard=guard,
            )
        except (DomainError, CaseNotFound, OutOfJurisdiction, VersionConflict) as exc:
            results.append(BulkResult(cid, error=exc))
        else:
            results.append(BulkResult(cid, state=state))
    return results


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


async def get_case_as_of(
    store: CaseStore,
    complaint_id: uuid.UUID,
    *,
    as_of: dt.datetime | None,
    known_at: dt.datetime | None,
) -> CaseState:
    """The case as it stood at ``as_of`` as known at ``known_at`` (``report.state_at``);
    CaseNotFound if it is unknown or did not exist then."""
    state = state_at(await store.history(complaint_id), as_of=as_of, known_at=known_at)
    if state is None:
        raise CaseNotFound(complaint_id)
    return state
