"""The complainant's feedback on a closure: pure decisions, no I/O, time passed in.

A feedback link (``shared.feedback_links``) answers one closure: the ``case.closed`` event
at ``closed_version``.  It may record at most one rating and one reopen request for that
closure, and only while the case still stands at that closure (closed, not reopened nor
closed again since); both leave the case's status as it is (``cases.evolve``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.status.domain.cases import CaseState, DomainError
from shared.codes import CaseStatus
from shared.events import CaseReopenRequested, CaseSatisfactionRated

ACTOR = "complainant"

FeedbackEvent = CaseSatisfactionRated | CaseReopenRequested


@dataclass(frozen=True, slots=True)
class Answer:
    """What the complainant said: a score 1..5, that it was not solved, or both."""

    score: int | None = None
    not_solved: bool = False


class NothingToRecord(DomainError):
    def __init__(self) -> None:
        super().__init__("give a score (1-5), say the problem was not solved, or both")


class InvalidScore(DomainError):
    def __init__(self, score: int) -> None:
        super().__init__(f"score must be 1 to 5, got {score}")
        self.score = score


class LinkSuperseded(DomainError):
    """The case moved on since the closure the link answers (reopened, closed again)."""

    def __init__(self, complaint_id: uuid.UUID, closed_version: int) -> None:
        super().__init__(
            f"the case has changed since the closure this link answers (version "
            f"{closed_version}): the link is no longer valid"
        )
        self.complaint_id, self.closed_version = complaint_id, closed_version


class AlreadyAnswered(DomainError):
    """This closure already has the rating (``field`` "score") or the reopen request
    (``field`` "not_solved") asked for again."""

    def __init__(self, field: str) -> None:
        what = "rated" if field == "score" else "disputed (reopen requested)"
        super().__init__(f"this closure was already {what}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a closure's feedback stands (what the feedback page needs)."""

    answerable: bool  # the case still stands at this closure
    rated: bool
    reopen_requested: bool


def standing(state: CaseState, closed_version: int) -> Standing:
    """Whether ``state`` still stands at the closure ``closed_version``, and what it has."""
    current = state.status is CaseStatus.closed and state.closed_version == closed_version
    return Standing(
        answerable=current,
        rated=current and state.rated,
        reopen_requested=current and state.reopen_requested_at is not None,
    )


def decide_feedback(state: CaseState, closed_version: int, answer: Answer) -> list[FeedbackEvent]:
    """The events ``answer`` records on the closure ``closed_version`` of ``state``: the
    rating first, then the reopen request.  All or nothing: raises NothingToRecord,
    InvalidScore, LinkSuperseded (checked before repeats: a stale link says so), or
    AlreadyAnswered for a part already given."""
    if answer.score is None and not answer.not_solved:
        raise NothingToRecord()
    if answer.score is not None and not 1 <= answer.score <= 5:
        raise InvalidScore(answer.score)
    where = standing(state, closed_version)
    if not where.answerable:
        raise LinkSuperseded(state.complaint_id, closed_version)
    if answer.score is not None and where.rated:
        raise AlreadyAnswered("score")
    if answer.not_solved and where.reopen_requested:
        raise AlreadyAnswered("not_solved")
    events: list[FeedbackEvent] = []
    if answer.score is not None:
        events.append(
            CaseSatisfactionRated(actor=ACTOR, closed_version=closed_version, score=answer.score)
        )
    if answer.not_solved:
        events.append(CaseReopenRequested(actor=ACTOR, closed_version=closed_version))
    return events
