"""Feedback on a closure: only on the closure the link names, once per part, status kept."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.status.domain import CaseState, CaseStatus, decide, evolve, fold
from services.status.domain.feedback import (
    AlreadyAnswered,
    Answer,
    InvalidScore,
    LinkSuperseded,
    NothingToRecord,
    decide_feedback,
    standing,
)
from services.status.domain.outcomes import outcome_events
from shared.codes import ClosureReason
from shared.events import (
    BackfilledOutcome,
    CaseReopenRequested,
    CaseSatisfactionRated,
    Envelope,
    EventData,
)
from tests.unit.status.factories import T0, command, filed

NOW = dt.datetime(2025, 11, 10, 3, 0, tzinfo=dt.UTC)


def _next(state: CaseState, payload: EventData, at: dt.datetime = NOW) -> CaseState:
    return evolve(
        state,
        Envelope(
            event_id=uuid.uuid4(),
            complaint_id=state.complaint_id,
            version=state.version + 1,
            source="/damrong/status",
            occurred_at=at,
            recorded_at=at,
            data=payload,
        ),
    )


def _move(state: CaseState, action: str, **kw: object) -> CaseState:
    return _next(state, decide(state, command(action, **kw), NOW))


def closed() -> CaseState:
    """Filed, accepted, closed: the closure is version 3."""
    return _move(_move(evolve(None, filed()), "accept"), "close")


def _record(state: CaseState, answer: Answer, closed_version: int = 3) -> CaseState:
    for payload in decide_feedback(state, closed_version, answer):
        state = _next(state, payload)
    return state


def test_a_closure_knows_its_version_and_starts_unanswered() -> None:
    state = closed()
    assert (state.closed_version, state.rated, state.reopen_requested_at) == (3, False, None)
    assert standing(state, 3).answerable and not standing(state, 2).answerable


def test_rating_and_reopen_request_keep_the_case_closed() -> None:
    state = closed()
    events = decide_feedback(state, 3, Answer(score=2, not_solved=True))
    assert events == [
        CaseSatisfactionRated(actor="complainant", closed_version=3, score=2),
        CaseReopenRequested(actor="complainant", closed_version=3),
    ]
    after = _record(state, Answer(score=2, not_solved=True))
    assert after.status is CaseStatus.closed and after.version == 5
    assert after.closed_at == state.closed_at and after.closure_reason == state.closure_reason
    assert after.rated and after.reopen_requested_at == NOW
    where = standing(after, 3)
    assert (where.answerable, where.rated, where.reopen_requested) == (True, True, True)


@pytest.mark.parametrize(
    ("first", "again", "field"),
    [
        (Answer(score=5), Answer(score=1), "score"),
        (Answer(not_solved=True), Answer(not_solved=True), "not_solved"),
        (Answer(score=5), Answer(score=1, not_solved=True), "score"),
        (Answer(not_solved=True), Answer(score=1, not_solved=True), "not_solved"),
    ],
)
def test_each_part_once_per_closure(first: Answer, again: Answer, field: str) -> None:
    state = _record(closed(), first)
    with pytest.raises(AlreadyAnswered) as err:
        decide_feedback(state, 3, again)
    assert err.value.field == field


def test_the_other_part_may_follow() -> None:
    state = _record(closed(), Answer(score=4))
    assert decide_feedback(state, 3, Answer(not_solved=True)) == [
        CaseReopenRequested(actor="complainant", closed_version=3)
    ]


def test_a_reopening_clears_the_request_and_voids_the_link() -> None:
    state = _record(closed(), Answer(score=1, not_solved=True))
    reopened = _move(state, "reopen")
    assert reopened.status is CaseStatus.reopened
    assert (reopened.closed_version, reopened.rated, reopened.reopen_requested_at) == (
        None,
        False,
        None,
    )
    with pytest.raises(LinkSuperseded):
        decide_feedback(reopened, 3, Answer(score=5))
    again = _move(reopened, "close")
    assert again.closed_version == 7 and not again.rated
    with pytest.raises(LinkSuperseded):  # the old closure's link, even on a closed case
        decide_feedback(again, 3, Answer(score=5))
    assert len(decide_feedback(again, 7, Answer(score=5, not_solved=True))) == 2


@pytest.mark.parametrize("moves", [[], [("accept", {})], [("reject", {})]])
def test_only_a_closed_case_takes_feedback(moves: list[tuple[str, dict[str, object]]]) -> None:
    state = evolve(None, filed())
    for action, kw in moves:
        state = _move(state, action, **kw)
    for version in (2, state.version):
        if version < 2:
            continue
        with pytest.raises(LinkSuperseded):
            decide_feedback(state, version, Answer(score=3))


def test_a_stale_link_is_reported_before_a_repeat() -> None:
    state = _move(_record(closed(), Answer(score=3)), "reopen")
    with pytest.raises(LinkSuperseded):
        decide_feedback(state, 3, Answer(score=3))


@pytest.mark.parametrize("score", [0, 6, -1, 100])
def test_scores_are_one_to_five(score: int) -> None:
    with pytest.raises(InvalidScore):
        decide_feedback(closed(), 3, Answer(score=score))


def test_an_empty_answer_records_nothing() -> None:
    with pytest.raises(NothingToRecord):
        decide_feedback(closed(), 3, Answer())


def test_feedback_payloads_refuse_free_text_and_bad_scores() -> None:
    with pytest.raises(ValueError):
        CaseReopenRequested.model_validate(
            {"actor": "complainant", "closed_version": 3, "note": "x"}
        )
    for score in (0, 6):
        with pytest.raises(ValueError):
            CaseSatisfactionRated(actor="complainant", closed_version=3, score=score)
    with pytest.raises(ValueError):
        CaseSatisfactionRated(actor="complainant", closed_version=1, score=3)


def test_a_backfilled_closed_case_knows_its_closure() -> None:
    env = filed(at=T0)
    outcome = BackfilledOutcome(status="closed", at=T0, closure_reason=ClosureReason.resolved)
    env = env.model_copy(update={"data": env.data.model_copy(update={"outcome": outcome})})
    events = outcome_events(env, NOW, source="/damrong/status")
    state = fold([env, *(e for e, _ in events)])
    assert state is not None and state.status is CaseStatus.closed
    assert state.closed_version == state.version == events[-1][1].closed_version
    assert standing(state, state.version).answerable
