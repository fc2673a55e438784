"""Feedback use cases: load the case a link names, decide, commit (all of it or nothing).

The link (``shared.feedback_links``) is verified at the edge; these take what it says.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from services.status.domain import CaseState, evolve
from services.status.domain.feedback import (
    Answer,
    LinkSuperseded,
    Standing,
    decide_feedback,
    standing,
)
from services.status.store import ConcurrencyConflict
from services.status.usecases import SOURCE, CaseNotFound, VersionConflict
from shared.events import Envelope
from shared.feedback_links import FeedbackLink

# A concurrent writer (the same form sent twice, an officer reopening) makes us decide
# again on the new state; after this many tries the conflict is answered.
ATTEMPTS = 3


class FeedbackStore(Protocol):
    async def load(self, complaint_id: uuid.UUID) -> CaseState | None:
        """The current state, or None for an unknown case."""

    async def append_all(self, events: list[tuple[Envelope, CaseState]]) -> list[Envelope]:
        """Store consecutive events of one case in one transaction (ConcurrencyConflict:
        none stored)."""


async def read_link(store: FeedbackStore, link: FeedbackLink) -> tuple[CaseState, Standing]:
    """The case a link names and where its closure's feedback stands; CaseNotFound, or
    LinkSuperseded when the case no longer stands at that closure."""
    state = await store.load(link.complaint_id)
    if state is None:
        raise CaseNotFound(link.complaint_id)
    where = standing(state, link.closed_version)
    if not where.answerable:
        raise LinkSuperseded(link.complaint_id, link.closed_version)
    return state, where


def _events(
    state: CaseState, link: FeedbackLink, answer: Answer, now: dt.datetime, cid: str | None
) -> list[tuple[Envelope, CaseState]]:
    out: list[tuple[Envelope, CaseState]] = []
    for payload in decide_feedback(state, link.closed_version, answer):
        env = Envelope(
            event_id=uuid.uuid4(),
            complaint_id=state.complaint_id,
            version=state.version + 1,
            source=SOURCE,
            # Effective times run forward with the versions, whatever the clocks say.
            occurred_at=max(now, state.last_event_at),
            recorded_at=now,
            correlation_id=cid,
            data=payload,
        )
        state = evolve(state, env)
        out.append((env, state))
    return out


async def give_feedback(
    store: FeedbackStore,
    link: FeedbackLink,
    answer: Answer,
    *,
    now: dt.datetime,
    correlation_id: str | None = None,
) -> tuple[CaseState, list[Envelope]]:
    """Record ``answer`` on the closure ``link`` names: one event per part (rating, then
    reopen request), chained and queued for publishing together; return the case's new
    state and the events as stored.

    Raises CaseNotFound, the ``domain.feedback`` errors (nothing recorded), or
    VersionConflict when other writers kept winning the race.
    """
    for _ in range(ATTEMPTS):
        state = await store.load(link.complaint_id)
        if state is None:
            raise CaseNotFound(link.complaint_id)
        events = _events(state, link, answer, now, correlation_id)
        try:
            return events[-1][1], await store.append_all(events)
        except ConcurrencyConflict:
            continue  # decide again on what won: a repeat is then refused as such
    current = await store.load(link.complaint_id)
    raise VersionConflict(
        link.complaint_id,
        current.status if current else None,
        current.version if current else None,
        None,
    )
